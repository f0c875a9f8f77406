"""Helpers of the serving tests: train and register models without Prefect, and shape request bodies.

The steps are the ones `level3_system.training.flow` composes (level 2's pipelines through `compose.run_level2`, then
`tracking.log_training_run`, `registry.register`, `registry.evaluate_candidate`, `registry.apply_decision`),
called as plain functions: a serving test needs a champion in a registry, not a flow run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from support import CONF_BASE, RAW_RELATIVE

from level2_pipeline.contract import DataContract
from level2_pipeline.ingestion import sha256_of
from level3_system.promotion import Decision
from level3_system.registry import CHAMPION
from level3_system.settings import Level3Settings, PromotionRules, ServingSettings
from level3_system.training.compose import TrainingOutcome

MODEL_NAME = "telco-churn"
# design.md: the baseline's holdout ROC AUC; every level reproduces it on the same split.
BASELINE_ROC_AUC = 0.842
HOLDOUT_ROWS = 1409
# The fast path is float32 ONNX: the service refuses one further than this from the registered sklearn model.
SKEW_TOLERANCE = 1e-6
# A second model for the reload tests: less regularisation than the default C=1.0, same holdout quality.
SECOND_MODEL = {"model": {"C": 0.5, "max_iter": 1000}}


def shipped_rules() -> PromotionRules:
    """The promotion rules of conf/base/level3.yml, as shipped."""
    level3 = yaml.safe_load((CONF_BASE / "level3.yml").read_text())["level3"]
    return PromotionRules.model_validate(level3["promotion"])


def store_uri(store_root: Path) -> str:
    return f"sqlite:///{(store_root / 'mlflow.db').as_posix()}"


def make_settings(
    data_root: Path,
    store_root: Path,
    *,
    serving: ServingSettings | None = None,
    kedro_params: dict[str, Any] | None = None,
) -> Level3Settings:
    """Explicit arguments win over CHURN_* variables and conf/: a developer's environment cannot leak in."""
    return Level3Settings(
        kedro_env=None,
        data_dir=data_root,
        tracking_uri=store_uri(store_root),
        artifact_location=(store_root / "artifacts").as_uri(),
        prefect_home=store_root / "prefect",
        promotion=shipped_rules(),
        kedro_params=kedro_params or {},
        serving=serving or ServingSettings(),
        retries=0,
    )


def with_serving(settings: Level3Settings, **serving: Any) -> Level3Settings:
    """The same stores and data, other serving options (validated like the YAML would be)."""
    return settings.model_copy(update={"serving": ServingSettings(**serving)})


@contextlib.contextmanager
def registry_follows_tracking() -> Iterator[None]:
    """Make MLflow's registry the tracking store of whatever settings are in use, for the duration.

    MLflow prefers a registry URI set process-wide (`mlflow.set_registry_uri`, or MLFLOW_REGISTRY_URI) over the
    tracking URI a client is given; other level-3 tests may set one for their own stores. The serving code passes
    only its tracking URI, so a leftover registry URI would point it at someone else's registry.
    """
    import mlflow.tracking._model_registry.utils as registry_utils

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry_utils, "_registry_uri", None)
        patch.delenv("MLFLOW_REGISTRY_URI", raising=False)
        yield


def quiet_tools(settings: Level3Settings) -> None:
    """`apply_environment` for its telemetry and progress-bar switches (set only where unset).

    It also points PREFECT_HOME and KEDRO_LOGGING_CONFIG at the project for the rest of the process; the flow
    tests of tests/level3 run Prefect later in the same process with a home of their own, so those two are put
    back at once. No Prefect code runs in the serving tests.
    """
    from level3_system.settings import apply_environment

    kept = {name: os.environ.get(name) for name in ("PREFECT_HOME", "KEDRO_LOGGING_CONFIG", "PREFECT_API_URL")}
    apply_environment(settings)
    for name, value in kept.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# --- training, tracking, registry -----------------------------------------------------------------------------


def train(settings: Level3Settings) -> TrainingOutcome:
    """Level 2's two pipelines on the settings' data root; the outcome as `flows.data_science` builds it."""
    from level3_system.training.compose import run_level2, training_outcome

    run_level2(settings, "data_processing")
    raw_path = settings.data_root / RAW_RELATIVE
    return training_outcome(run_level2(settings, "data_science"), raw_path, sha256_of(raw_path))


@dataclass(frozen=True)
class Registered:
    """One logged run, registered as a version, with the promotion decision taken for it."""

    version: str
    run_id: str
    decision: Decision


def log_and_register(settings: Level3Settings, outcome: TrainingOutcome, *, apply: bool = True) -> Registered:
    """track → register → promote, as the flow's tasks do (outside any Prefect flow run)."""
    from level3_system import registry
    from level3_system.training.compose import judge
    from level3_system.training.tracking import log_training_run

    tracked = log_training_run(settings, outcome, flow_run_id="test", flow_run_name="test")
    version = registry.register(settings, tracked.model_uri, tracked.run_id, tracked.model_id)
    decision = judge(settings, outcome, version)
    if apply:
        apply_decision(settings, version, tracked.run_id, decision)
    return Registered(version=version, run_id=tracked.run_id, decision=decision)


def apply_decision(settings: Level3Settings, version: str, run_id: str, decision: Decision) -> None:
    """What the flow's promote task does with a decision: tags, and the champion alias if promoted."""
    from level3_system import registry

    registry.record_decision(settings, version, run_id, decision.text, decision.promote)


def point_champion_at(settings: Level3Settings, version: str) -> None:
    """Move `@champion` by hand (what a promotion does), to set a test's starting point."""
    from level3_system import registry

    registry.client(settings).set_registered_model_alias(MODEL_NAME, CHAMPION, version)


# --- request bodies -------------------------------------------------------------------------------------------


def _native(value: Any) -> Any:
    """numpy/pandas scalars as the JSON types a client would send (ints stay ints, floats stay floats)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def customer_bodies(frame: pd.DataFrame, contract: DataContract) -> list[dict[str, Any]]:
    """One request body per row: the contract's features only, JSON-native values."""
    features = list(contract.features)
    return [
        {name: _native(value) for name, value in zip(features, row, strict=True)}
        for row in frame[features].itertuples(index=False)
    ]


def post_raw(client: Any, path: str, body: str | bytes, content_type: str = "application/json", **headers: str) -> Any:
    return client.post(path, content=body, headers={"content-type": content_type, **headers})


def json_nan_body(customer: dict[str, Any], field: str) -> str:
    """A body Python's json writes with a bare NaN literal (not valid JSON, but parsers accept it)."""
    return json.dumps({**customer, field: float("nan")})


def error_of(response: Any) -> dict[str, Any]:
    """The JSON error body, or an assertion that says what came back instead."""
    assert response.headers.get("content-type", "").startswith("application/json"), (
        f"error response is not JSON: {response.status_code} {response.headers.get('content-type')!r} "
        f"{response.text[:200]!r}"
    )
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), (
        f"error response has no 'error' message: {body!r}"
    )
    return body


def named_fields(response: Any) -> list[str]:
    return [entry["field"] for entry in error_of(response).get("fields", [])]
