"""A monitor run in MLflow: the `monitoring` experiment, tagged with the model name and version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from level3_system.lifecycle import registry
from level3_system.settings import Level3Settings


def _metrics(result: dict[str, Any]) -> dict[str, float]:
    found: dict[str, float] = {
        "window_rows": result["window"]["n_rows"],
        "window_labeled": result["window"]["n_labeled"],
    }
    found["alert"] = float(result["alert"])
    if result["drift_share"] is not None:
        found["drift_share"] = float(result["drift_share"])
        found["drifted_features"] = float(len(result["drifted_features"]))
    if result["prediction_drift"]:
        found["prediction_drift_score"] = float(result["prediction_drift"]["score"])
    for name, value in (result["performance"] or {}).items():
        if value is not None and name != "n":
            found[f"realized_{name}"] = float(value)
    for name in ("value_per_1000", "offer_all_per_1000", "offers_per_1000"):
        if (result.get("value") or {}).get(name) is not None:
            found[f"realized_{name}"] = float(result["value"][name])
    for name, column in result["features"].items():
        found[f"drift_score.{name}"] = float(column["score"])
    return found


def log_monitoring_run(settings: Level3Settings, result: dict[str, Any], html: Path | None) -> str:
    """One run per monitor run: the figures as metrics, the result and the report as artifacts."""
    client = registry.client(settings)
    experiment = registry.experiment_id(settings, settings.monitoring.experiment)
    tags = {
        "model_name": result["model_name"],
        "model_version": result["model_version"],
        "alert": str(result["alert"]).lower(),
        "dataset_drift": str(result["dataset_drift"]).lower(),
    }
    run = client.create_run(experiment, tags=tags, run_name=f"monitor v{result['model_version']}")
    run_id = run.info.run_id
    try:
        for name, value in _metrics(result).items():
            client.log_metric(run_id, name, value)
        client.log_dict(run_id, result, "monitoring/result.json")
        if html is not None:
            client.log_artifact(run_id, str(html), "monitoring")
        client.set_terminated(run_id, "FINISHED")
    except Exception:
        client.set_terminated(run_id, "FAILED")
        raise
    return run_id
