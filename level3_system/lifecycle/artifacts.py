"""What a registered version carries besides the model: the data contract and the cleaning it was trained with,
and its reference (a sample of its training rows with its own probabilities on them).

The training flow logs them into the version's run (`contract/data_contract.json`, `contract/clean.json`,
`reference/reference.parquet`); serving (its request schema and its cleaning), batch scoring and monitoring read
them from the version they use, never from today's `conf/` or `data/`. So editing `conf/` changes nothing a
running service accepts or predicts until a new version is trained and promoted. A version registered before
contracts travelled has no such artifact: it is served from `conf/`, with a warning (and monitored not at all,
for want of a reference).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from level2_pipeline.contract import DataContract
from level2_pipeline.params import CleanParams
from level3_system.settings import Level3Settings

logger = logging.getLogger(__name__)

CONTRACT_ARTIFACT = "contract/data_contract.json"
CLEAN_ARTIFACT = "contract/clean.json"


@dataclass(frozen=True)
class TrainedWith:
    """The contract and cleaning a version was trained with, and where they were read from."""

    contract: DataContract
    clean: CleanParams
    source: str  # "version" (its own artifacts) or "conf" (a version without them)


def log_trained_with(contract: DataContract, clean: CleanParams) -> None:
    """Into the active MLflow run: the contract and the cleaning, as JSON."""
    import mlflow

    mlflow.log_dict(contract.model_dump(mode="json"), CONTRACT_ARTIFACT)
    mlflow.log_dict(clean.model_dump(mode="json"), CLEAN_ARTIFACT)


def load_trained_with(
    settings: Level3Settings,
    run_id: str | None,
    from_conf: Callable[[], tuple[DataContract, CleanParams]],
    *,
    version: str = "?",
) -> TrainedWith:
    """What the version's run logged; `from_conf()` (with a warning) for a version that logged nothing.

    A store that cannot be reached raises (the caller keeps what it serves); only a run without the artifacts
    falls back to conf/.
    """
    from level3_system.lifecycle.registry import client, download

    logged = {a.path for a in client(settings).list_artifacts(run_id, "contract")} if run_id else set()
    if {CONTRACT_ARTIFACT, CLEAN_ARTIFACT} <= logged:
        with tempfile.TemporaryDirectory() as folder:
            contract = _read(download(settings, str(run_id), CONTRACT_ARTIFACT, Path(folder)))
            clean = _read(download(settings, str(run_id), CLEAN_ARTIFACT, Path(folder)))
        return TrainedWith(DataContract.model_validate(contract), CleanParams.model_validate(clean), "version")
    logger.warning(
        "version %s carries no data contract (registered before contracts travelled with the model): "
        "its schema and cleaning come from today's conf/",
        version,
    )
    contract, clean = from_conf()
    return TrainedWith(contract, clean, "conf")


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- the reference: what monitoring compares the version's traffic with ----------------------------------------

REFERENCE_ARTIFACT = "reference/reference.parquet"
PROBABILITY = "probability"


def reference_sample(
    model: Any, x_train: pd.DataFrame, contract: DataContract, rows: int, seed: int = 0
) -> pd.DataFrame:
    """A sample of the training split's features and the model's probabilities on it (column `probability`)."""
    sample = x_train[contract.features]
    if len(sample) > rows:
        sample = sample.sample(n=rows, random_state=seed)
    sample = sample.reset_index(drop=True)
    return sample.assign(**{PROBABILITY: model.predict_proba(sample)[:, 1]})


def log_reference(reference: pd.DataFrame) -> None:
    """Into the active MLflow run, as Parquet."""
    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(REFERENCE_ARTIFACT).name
        reference.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), str(Path(REFERENCE_ARTIFACT).parent))


def load_reference(settings: Level3Settings, run_id: str | None) -> pd.DataFrame | None:
    """The version's reference, or None for a version trained before references travelled with the model."""
    from level3_system.lifecycle.registry import client, download

    if not run_id or REFERENCE_ARTIFACT not in {a.path for a in client(settings).list_artifacts(run_id, "reference")}:
        return None
    with tempfile.TemporaryDirectory() as folder:
        return pd.read_parquet(download(settings, run_id, REFERENCE_ARTIFACT, Path(folder)))


# --- the decision: who gets an offer (level3_system/decision/) ---------------------------------------------------

DECISION_ARTIFACT = "decision/decision.json"


def log_decision(report: dict[str, Any]) -> None:
    """Into the active MLflow run: decision.json (its policy, threshold, economics and holdout value)."""
    import mlflow

    mlflow.log_dict(report, DECISION_ARTIFACT)


def load_decision(settings: Level3Settings, run_id: str | None) -> dict[str, Any] | None:
    """The version's decision.json, or None for a version trained before decisions travelled with the model."""
    from level3_system.lifecycle.registry import client, download

    if not run_id or DECISION_ARTIFACT not in {a.path for a in client(settings).list_artifacts(run_id, "decision")}:
        return None
    with tempfile.TemporaryDirectory() as folder:
        return _read(download(settings, run_id, DECISION_ARTIFACT, Path(folder)))


def offer_policy(
    settings: Level3Settings, record: dict[str, Any] | None, *, version: str = "?", override: bool = True
) -> Any:
    """The `OfferPolicy` a version offers on: its own, `serving.threshold` when set (and `override`), or (a
    version without a decision) today's conf/ (its fixed threshold, or the break-even of its economics)."""
    from dataclasses import replace

    from level3_system.decision.policy import Economics, OfferPolicy

    if record is not None:
        policy = OfferPolicy.from_dict(record)
    else:
        conf = settings.decision
        economics = Economics.of(conf)
        threshold = conf.threshold if conf.policy == "fixed" and conf.threshold else economics.break_even
        logger.warning(
            "version %s carries no decision (trained before decisions travelled with the model): it offers at "
            "p >= %.3f from today's conf/",
            version,
            threshold,
        )
        policy = OfferPolicy(conf.policy, float(min(threshold, 1.0)), economics, "conf")
    if override and settings.serving.threshold is not None:
        policy = replace(policy, threshold=float(settings.serving.threshold), source="serving.threshold")
    return policy
