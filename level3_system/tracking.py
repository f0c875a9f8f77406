"""MLflow tracking: one run per flow run, holding everything needed to trust and reproduce the model.

Parameters, the contract metrics, plots of the holdout, the validation reports, the data's lineage (path and
SHA-256), the git commit and the flow run, and the model with its signature, input example and explicit
requirements (inferring requirements costs ~5 s per log here, and pins what the serving side must install).
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from level2_pipeline.contract import DataContract
from level2_pipeline.runner import PROJECT_ROOT
from level3_system.settings import Level3Settings

logger = logging.getLogger(__name__)

MODEL_ARTIFACT = "model"
# What the logged model needs at load time, pinned to what trained it.
MODEL_REQUIREMENTS = ("scikit-learn", "pandas", "numpy", "scipy")


@dataclass
class TrainingOutcome:
    """What the level-2 pipelines produced, as level 3 tracks and judges it."""

    model: Any
    metrics: dict[str, float]
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    params: dict[str, Any]
    raw_path: Path
    raw_sha256: str
    validation: list[dict[str, Any]] = field(default_factory=list)
    contract: DataContract | None = None


@dataclass(frozen=True)
class TrackedRun:
    run_id: str
    experiment_id: str
    model_uri: str
    model_id: str | None = None


def configure(settings: Level3Settings) -> str:
    """Point MLflow at the configured store and return the experiment id (created on first use)."""
    import mlflow

    mlflow.set_tracking_uri(settings.resolved_tracking_uri)
    experiment = mlflow.get_experiment_by_name(settings.experiment)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(settings.experiment, artifact_location=settings.resolved_artifact_location)


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def pip_requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS]


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
    """Log the ONNX export beside the model, with its largest difference from sklearn on the holdout."""
    import mlflow

    from level3_system.fastpath import ARTIFACT_PATH, OnnxScorer, export_onnx, max_difference

    if outcome.contract is None:
        return
    try:
        onnx_bytes = export_onnx(outcome.model, outcome.contract)
        difference = max_difference(outcome.model, OnnxScorer(onnx_bytes, outcome.contract), outcome.x_test)
    except Exception as exc:  # a fork's model may have no ONNX converter: serving then uses sklearn
        logger.warning("no ONNX fast path for this model (%s): serving will use the sklearn pipeline", exc)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(ARTIFACT_PATH).name
        path.write_bytes(onnx_bytes)
        mlflow.log_artifact(str(path), str(Path(ARTIFACT_PATH).parent))
    mlflow.log_metric("fast_path_max_difference", difference)


def log_training_run(
    settings: Level3Settings, outcome: TrainingOutcome, *, flow_run_id: str, flow_run_name: str
) -> TrackedRun:
    with warnings.catch_warnings():
        # The integer-column hint is about missing values at inference: the API schema rejects those. The
        # dataset-source warning is MLflow registering the same source class twice.
        warnings.filterwarnings("ignore", message="(?s).*integer column", category=UserWarning)
        warnings.filterwarnings("ignore", message="(?s).*interpreted in multiple ways", category=UserWarning)
        return _log_training_run(settings, outcome, flow_run_id=flow_run_id, flow_run_name=flow_run_name)


def _log_training_run(
    settings: Level3Settings, outcome: TrainingOutcome, *, flow_run_id: str, flow_run_name: str
) -> TrackedRun:
    import mlflow
    from mlflow.models import infer_signature

    from level3_system.plots import close, evaluation_figures

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # mlflow resets its level to INFO on import
    # uv-made environments have no pip; MLflow only wants its version for a conda.yaml we do not use.
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)
    experiment_id = configure(settings)
    probability = outcome.model.predict_proba(outcome.x_test)[:, 1]
    tags = {
        "git_commit": git_commit(),
        "prefect.flow_run_id": flow_run_id,
        "prefect.flow_run_name": flow_run_name,
        "level": "level3",
        "data.path": str(outcome.raw_path),
        "data.sha256": outcome.raw_sha256,
    }
    with mlflow.start_run(experiment_id=experiment_id, run_name=flow_run_name, tags=tags) as run:
        mlflow.log_params(flatten(outcome.params))
        mlflow.log_metrics({k: float(v) for k, v in outcome.metrics.items()})
        raw = pd.read_csv(outcome.raw_path)
        dataset = mlflow.data.from_pandas(
            raw, source=str(outcome.raw_path), name=outcome.raw_path.name, digest=outcome.raw_sha256[:16]
        )
        mlflow.log_input(dataset, context="training")
        for report in outcome.validation:
            mlflow.log_dict(report, f"validation/{report['gate']}.json")
        figures = evaluation_figures(outcome.y_test, probability, outcome.metrics["threshold"])
        try:
            for name, figure in figures.items():
                mlflow.log_figure(figure, f"plots/{name}")
        finally:
            close(figures)
        # The signature is what a caller sends: the contract's features (the id is not an input of the model).
        features = outcome.contract.features if outcome.contract else list(outcome.x_train.columns)
        example = outcome.x_train[features].head(5)
        signature = infer_signature(example, outcome.model.predict_proba(example)[:, 1])
        info = mlflow.sklearn.log_model(
            outcome.model,
            name=MODEL_ARTIFACT,
            signature=signature,
            input_example=example.head(2),
            pip_requirements=pip_requirements(),
            pyfunc_predict_fn="predict_proba",
        )
        _log_fast_path(outcome)
    return TrackedRun(run.info.run_id, experiment_id, info.model_uri, getattr(info, "model_id", None))
