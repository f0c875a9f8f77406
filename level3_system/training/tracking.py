"""MLflow tracking: one run per flow run, holding everything needed to trust and reproduce the model.

Parameters, the contract metrics, plots of the holdout, the validation reports, the data's lineage (path and
SHA-256), the git commit and the flow run, the model with its signature, input example and explicit requirements
(inferring requirements costs ~5 s per log here), and what the version carries to serving and monitoring: its
data contract and cleaning, its reference sample (`artifacts.py`) and its ONNX export.

A retried `track` task (same Prefect task run) finds the run it completed before instead of logging a second one.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from level2_pipeline.project import PROJECT_ROOT
from level3_system.lifecycle import registry
from level3_system.lifecycle.artifacts import log_decision, log_reference, log_trained_with, reference_sample
from level3_system.settings import Level3Settings
from level3_system.training.compose import TrainingOutcome

logger = logging.getLogger(__name__)

MODEL_ARTIFACT = "model"
# What the logged model needs at load time, pinned to what trained it.
MODEL_REQUIREMENTS = ("scikit-learn", "pandas", "numpy", "scipy")
# Set last on a run whose logging completed: a retry of the same task run reuses such a run.
DONE_TAGS = ("level3.model_uri", "level3.model_id")


@dataclass(frozen=True)
class TrackedRun:
    run_id: str
    experiment_id: str
    model_uri: str
    model_id: str | None = None


def git_commit() -> str:
    """The code's commit: git's, else CHURN_GIT_COMMIT (an image has no .git: docker build --build-arg GIT_COMMIT)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return os.environ.get("CHURN_GIT_COMMIT") or "unknown"


def pip_requirements(model: Any = None) -> list[str]:
    extra = ("lightgbm",) if _is_lightgbm(model) else ()
    return [f"{name}=={version(name)}" for name in (*MODEL_REQUIREMENTS, *extra)]


def _is_lightgbm(model: Any) -> bool:
    return type(getattr(model, "steps", [(None, None)])[-1][1]).__name__ == "LGBMClassifier"


def trusted_types(model: Any) -> list[str] | None:
    """The types skops must be told to trust to load this model again: LightGBM's booster is not on its list of
    scikit-learn types. The model is the one this run just fitted, so its own types are trusted, nothing more."""
    if not _is_lightgbm(model):
        return None
    import skops.io

    return skops.io.get_untrusted_types(data=skops.io.dumps(model))


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"model": {"C": 1.0}}` -> `{"model.C": 1.0}`: one searchable MLflow param per value.

    Kedro hands validated parameters over as pydantic models (`ModelParams`, ...): they are flattened too.
    """
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if hasattr(value, "model_dump"):
            value = value.model_dump()
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _log_fast_path(outcome: TrainingOutcome) -> None:
    """Log the fast paths beside the model: the linear fold with its proof (`fastpath.linear_proof`) or the
    exported trees with theirs (`trees.tree_proof`) when the pipeline has that shape, and the ONNX export with
    its largest difference from sklearn on the holdout."""
    import mlflow

    from level3_system.serving.fastpath import (
        ARTIFACT_PATH,
        LINEAR_PATH,
        OnnxScorer,
        contract_sample,
        export_onnx,
        linear_proof,
    )
    from level3_system.serving.trees import TREES_PATH, tree_proof

    proof = linear_proof(outcome.model, outcome.contract)
    if proof is not None:
        mlflow.log_dict(proof, LINEAR_PATH)
        mlflow.log_metric("fast_path_linear_max_difference", proof["max_difference"])
    trees = tree_proof(outcome.model, contract_sample(outcome.contract), outcome.x_test)
    if trees is not None:
        mlflow.log_dict(trees, TREES_PATH)
        worst = max(trees["max_difference"], trees["holdout_max_difference"])
        mlflow.log_metric("fast_path_trees_max_difference", worst)
    try:
        onnx_bytes = export_onnx(outcome.model, outcome.contract)
        onnx = OnnxScorer(onnx_bytes, outcome.contract).predict_many(outcome.x_test)
    except Exception as exc:  # a fork's model may have no ONNX converter: serving then uses sklearn
        logger.warning("no ONNX fast path for this model (%s): serving will use the sklearn pipeline", exc)
        return
    difference = float(abs(onnx - outcome.holdout_probability).max())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(ARTIFACT_PATH).name
        path.write_bytes(onnx_bytes)
        mlflow.log_artifact(str(path), str(Path(ARTIFACT_PATH).parent))
    mlflow.log_metric("fast_path_max_difference", difference)


def _log_decision(report: dict[str, Any]) -> None:
    """decision.json with the version (serving offers on it), its headline figures and the value chart."""
    import mlflow

    from level3_system.training.decision_report import value_figure
    from level3_system.training.plots import close

    log_decision(report)
    value = report["value_per_1000"]
    mlflow.log_metrics(
        {
            "decision_threshold": report["threshold"],
            "decision_break_even": report["break_even"],
            "offers_per_1000": report["offers_per_1000"],
            "value_per_1000": value["model"],
            "value_per_1000_offer_all": value["offer_all"],
            "value_per_1000_random": value["random"],
        }
    )
    figure = value_figure(report)
    try:
        mlflow.log_figure(figure, "plots/value_by_threshold.png")
    finally:
        close({"value": figure})


def _completed_run(settings: Level3Settings, experiment_id: str, task_run_id: str | None) -> TrackedRun | None:
    """The run this task run already logged completely (a retry after a later failure), if any."""
    if not task_run_id:
        return None
    found = registry.client(settings).search_runs(
        [experiment_id], filter_string=f"tags.`prefect.task_run_id` = '{task_run_id}'", max_results=5
    )
    for run in found:
        tags = run.data.tags
        if DONE_TAGS[0] in tags:
            logger.info("MLflow run %s was already logged by this task: reused", run.info.run_id)
            return TrackedRun(run.info.run_id, experiment_id, tags[DONE_TAGS[0]], tags.get(DONE_TAGS[1]) or None)
    return None


def log_training_run(
    settings: Level3Settings,
    outcome: TrainingOutcome,
    *,
    flow_run_id: str,
    flow_run_name: str,
    task_run_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> TrackedRun:
    experiment_id = registry.experiment_id(settings)
    reused = _completed_run(settings, experiment_id, task_run_id)
    if reused is not None:
        return reused
    run_tags = {
        "git_commit": git_commit(),
        "prefect.flow_run_id": flow_run_id,
        "prefect.flow_run_name": flow_run_name,
        "prefect.task_run_id": task_run_id or "",
        "level": "level3",
        "data.path": str(outcome.raw_path),
        "data.sha256": outcome.raw_sha256,
        **(tags or {}),
    }
    with warnings.catch_warnings(), registry.mlflow_at(settings):
        # The integer-column hint is about missing values at inference: the API schema rejects those. The
        # dataset-source warning is MLflow registering the same source class twice.
        warnings.filterwarnings("ignore", message="(?s).*integer column", category=UserWarning)
        warnings.filterwarnings("ignore", message="(?s).*interpreted in multiple ways", category=UserWarning)
        return _log(outcome, experiment_id, run_tags, flow_run_name, settings.monitoring.reference_rows)


def _log(
    outcome: TrainingOutcome, experiment_id: str, tags: dict[str, str], run_name: str, reference_rows: int
) -> TrackedRun:
    import mlflow
    from mlflow.models import infer_signature

    from level3_system.training.plots import close, evaluation_figures

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # mlflow resets its level to INFO on import
    # uv-made environments have no pip; MLflow only wants its version for a conda.yaml we do not use.
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
        mlflow.log_params(flatten(outcome.params))
        mlflow.log_metrics({k: float(v) for k, v in outcome.metrics.items()})
        raw = pd.read_csv(outcome.raw_path)
        dataset = mlflow.data.from_pandas(
            raw, source=str(outcome.raw_path), name=outcome.raw_path.name, digest=outcome.raw_sha256[:16]
        )
        mlflow.log_input(dataset, context="training")
        for report in outcome.validation:
            mlflow.log_dict(report, f"validation/{report['gate']}.json")
        figures = evaluation_figures(outcome.y_test, outcome.holdout_probability, outcome.metrics["threshold"])
        try:
            for name, figure in figures.items():
                mlflow.log_figure(figure, f"plots/{name}")
        finally:
            close(figures)
        # The signature is what a caller sends: the contract's features (the id is not an input of the model).
        example = outcome.x_train[outcome.contract.features].head(5)
        signature = infer_signature(example, outcome.model.predict_proba(example)[:, 1])
        info = mlflow.sklearn.log_model(
            outcome.model,
            name=MODEL_ARTIFACT,
            signature=signature,
            input_example=example.head(2),
            pip_requirements=pip_requirements(outcome.model),
            pyfunc_predict_fn="predict_proba",
            skops_trusted_types=trusted_types(outcome.model),
        )
        log_trained_with(outcome.contract, outcome.clean)
        if outcome.decision is not None:
            _log_decision(outcome.decision)
        log_reference(reference_sample(outcome.model, outcome.x_train, outcome.contract, reference_rows))
        _log_fast_path(outcome)
        model_id = getattr(info, "model_id", None)
        mlflow.set_tags({DONE_TAGS[0]: info.model_uri, DONE_TAGS[1]: model_id or ""})
    return TrackedRun(run.info.run_id, experiment_id, info.model_uri, model_id)
