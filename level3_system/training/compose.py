"""Level 2's pipelines, composed: level 3 runs them through Kedro's API and judges what they produced.

The pipelines run unchanged; their outputs go under `level3` folders of the data layers (the catalog's `level`
runtime parameter), so a level-3 run never overwrites level 2's results. What a data-science run produced is
taken from memory (`level2_pipeline.runner.RunOutputs`), including the holdout's probabilities that level 2's
`evaluate` node computed: level 3 scores the holdout no second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from level2_pipeline.contract import DataContract
from level2_pipeline.params import CleanParams
from level2_pipeline.runner import RunOutputs, run
from level3_system.lifecycle import promotion, registry
from level3_system.lifecycle.promotion import Decision
from level3_system.runtime.locks import promotion_lock
from level3_system.settings import Level3Settings

LEVEL = "level3"
PARAMETER_KEYS = ("clean", "split", "model", "evaluate")


@dataclass
class TrainingOutcome:
    """What the level-2 pipelines produced, as level 3 tracks and judges it."""

    model: Any
    metrics: dict[str, float]
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    holdout_probability: np.ndarray  # level 2's evaluate node's, row for row with x_test
    params: dict[str, Any]
    raw_path: Path
    raw_sha256: str
    contract: DataContract
    clean: CleanParams
    validation: list[dict[str, Any]] = field(default_factory=list)
    recent: pd.DataFrame | None = None  # model-input rows: the newest outcomes, held out of a retraining
    tags: dict[str, str] = field(default_factory=dict)  # why the run ran, what feedback it learned from
    decision: dict[str, Any] | None = None  # decision.json: the offer policy chosen out of the holdout, valued on it


def run_level2(settings: Level3Settings, pipeline: str, **slice_: Any) -> RunOutputs:
    """Run one level-2 pipeline (or a slice: `node_names=`, `from_nodes=`); returns what it produced."""
    params = {**settings.kedro_params, "level": LEVEL}
    return run([pipeline], env=settings.kedro_env, data_dir=settings.data_root, runtime_params=params, **slice_)


def training_outcome(
    outputs: RunOutputs, raw_path: Path, raw_sha256: str, validation: list[dict[str, Any]] | None = None
) -> TrainingOutcome:
    """What a level-2 data-science run left, as level 3 tracks and judges it."""
    parameters = outputs.params
    x_test = outputs.load("X_test")
    predictions = outputs.load("test_predictions")
    if len(predictions) != len(x_test):
        raise RuntimeError(f"level 2 scored {len(predictions)} holdout rows, the holdout has {len(x_test)}")
    return TrainingOutcome(
        model=outputs.load("model"),
        metrics=outputs.load("metrics"),
        x_train=outputs.load("X_train"),
        x_test=x_test,
        y_train=outputs.load("y_train"),
        y_test=outputs.load("y_test"),
        holdout_probability=predictions["churn_probability"].to_numpy(dtype=float),
        params={k: parameters[k] for k in PARAMETER_KEYS if k in parameters},
        raw_path=raw_path,
        raw_sha256=raw_sha256,
        contract=DataContract.model_validate(parameters["data_contract"]),
        clean=CleanParams.model_validate(parameters.get("clean") or {}),
        validation=validation or [],
    )


def judge(settings: Level3Settings, outcome: TrainingOutcome, version: str) -> promotion.Decision:
    """The promotion decision for a registered version: the policy (`promotion.py`) against the current champion
    (loaded from the registry and scored on the same holdout), or with no champion to beat."""
    current = registry.champion(settings)
    champion = value = None
    if current is not None and str(current.version) != version:
        champion = (str(current.version), registry.load_model(settings, str(current.version)))
        if outcome.decision is not None:
            value = _value_terms(settings, outcome, current)
    recent = None
    if outcome.recent is not None:
        target = outcome.contract.target
        recent = (outcome.recent.drop(columns=[target]), outcome.recent[target])
    return promotion.evaluate_candidate(
        outcome.model,
        outcome.x_test,
        outcome.y_test,
        float(outcome.metrics["roc_auc"]),
        settings.promotion,
        champion,
        recent,
        value,
    )


def _value_terms(settings: Level3Settings, outcome: TrainingOutcome, current: Any) -> tuple[float, float, Any]:
    """The candidate's net value per 1,000 (decision.json), the threshold the champion offers at (its own, as it
    is served) and today's economics: what `promotion` compares in money."""
    from level3_system.decision.policy import Economics
    from level3_system.lifecycle.artifacts import load_decision, offer_policy

    assert outcome.decision is not None
    record = load_decision(settings, current.run_id)
    served = offer_policy(settings, record, version=str(current.version), override=False)
    return float(outcome.decision["value_per_1000"]["model"]), served.threshold, Economics.of(settings.decision)


def promote_version(settings: Level3Settings, outcome: TrainingOutcome, version: str, run_id: str) -> Decision:
    """Judge the version and carry the decision out, holding the promotion lock: the champion it is judged
    against is the one it replaces, however many trainings finish at once (`locks.py`)."""
    with promotion_lock(settings):
        decision = judge(settings, outcome, version)
        registry.record_decision(settings, version, run_id, decision.text, decision.promote, decision.champion_version)
    return decision
