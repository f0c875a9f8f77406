"""`make experiment`: the model families of conf/ measured side by side, and the one the rule recommends.

level 2's data_processing and split (the levels' own holdout) → one task per family (`measure.py`) → one MLflow
parent run with a nested run per family → the table and the trade-off chart (reports and the parent run) → the
recommendation of `model_selection.within_roc_auc`, with its reason. It changes nothing the levels train: the
family is switched in conf/ (`model.family`, and level 1's MODEL_FAMILY), for all three levels at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from level2_pipeline.contract import DataContract
from level2_pipeline.params import EvaluateParams, ModelParams, SplitParams
from level3_system.experiment.measure import FamilyResult, measure, recommend
from level3_system.lifecycle import registry
from level3_system.runtime.locks import data_lock
from level3_system.settings import Level3Settings, get_settings
from level3_system.training.compose import run_level2


@dataclass
class ExperimentSummary:
    results: list[FamilyResult]
    recommended: str
    why: str
    rows: dict[str, int] = field(default_factory=dict)
    parent_run_id: str = ""
    reports: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    """What every family is measured on: level 2's split and the run's validated parameters."""

    split: tuple[Any, ...]  # X_train, X_test, y_train, y_test
    model: ModelParams
    contract: DataContract
    seed: int  # the split's random_state, also the folds'
    threshold: float


@task(name="split", cache_policy=NO_CACHE)
def level2_split(settings: Level3Settings) -> Prepared:
    """Level 2's model input and holdout, as the levels make them (taking turns with trainings on the data root)."""
    with data_lock(settings):
        run_level2(settings, "data_processing")
        outputs = run_level2(settings, "data_science", node_names=["split"])
        split = tuple(outputs.load(name) for name in ("X_train", "X_test", "y_train", "y_test"))
    params = outputs.params
    return Prepared(
        split=split,
        model=ModelParams.model_validate(params["model"]),
        contract=DataContract.model_validate(params["data_contract"]),
        seed=SplitParams.model_validate(params["split"]).random_state,
        threshold=EvaluateParams.model_validate(params["evaluate"]).threshold,
    )


@task(name="measure", cache_policy=NO_CACHE)
def measure_family(settings: Level3Settings, family: str, prepared: Prepared) -> FamilyResult:
    rules = settings.model_selection
    result, _ = measure(
        family,
        prepared.model,
        prepared.contract,
        prepared.split,
        folds=rules.cv_folds,
        seed=prepared.seed,
        threshold=prepared.threshold,
        latency_calls=rules.latency_calls,
        batch_rows=rules.batch_rows,
    )
    get_run_logger().info(
        "%s: CV ROC AUC %.4f ± %.4f, fit %.2f s, %s fast path, %.3f ms a row",
        family,
        result.cv_roc_auc,
        result.cv_roc_auc_sd,
        result.fit_seconds,
        result.fast_path,
        result.one_row_ms,
    )
    return result


@flow(name="experiment", log_prints=False)
def experiment(settings: Level3Settings | None = None) -> ExperimentSummary:
    """Measure every family of `model_selection.families` and recommend one by the rule of conf/."""
    from level3_system.experiment.report import chart, log_runs, table

    settings = settings or get_settings()
    rules = settings.model_selection
    prepared = level2_split(settings)
    results = [measure_family(settings, family, prepared) for family in rules.families]
    recommended, why = recommend(results, rules.within_roc_auc)
    x_train, x_test = prepared.split[:2]
    summary = ExperimentSummary(results, recommended, why, rows={"train": len(x_train), "holdout": len(x_test)})
    folder: Path = settings.reports / "experiment"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "table": folder / "table.md",
        "chart": folder / "tradeoff.png",
        "results": folder / "results.json",
    }
    files["table"].write_text(table(summary, settings) + "\n")
    chart(summary, files["chart"])
    payload = {"recommended": recommended, "why": why, "rows": summary.rows, "results": [r.as_row() for r in results]}
    files["results"].write_text(json.dumps(payload, indent=2) + "\n")
    summary.reports = {name: str(path) for name, path in files.items()}
    with registry.mlflow_at(settings):
        summary.parent_run_id = log_runs(settings, summary, files)
    return summary
