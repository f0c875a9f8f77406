"""The monitor flow: the served version's recent traffic against that version's own reference.

resolve (the alias's version) → window (its newest rows in the prediction log) → drift (Evidently, tests per
column type from conf/) → verdict (realized performance where outcomes arrived; the alert rule with hysteresis)
→ publish (latest.json + a timestamped copy, the offline HTML report, an MLflow run in the `monitoring`
experiment, a Prefect artifact) → on an alert, emit the Prefect event the training deployment is triggered by
(`continuous_training.event`, carrying the version, the drift share, the reasons and this run's MLflow id). An
alert is a finding, not a failure: the flow completes either way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from level2_pipeline.errors import UserFacingError
from level3_system.lifecycle.artifacts import load_reference
from level3_system.monitoring import outputs
from level3_system.monitoring.drift import DriftResult, compare
from level3_system.monitoring.verdict import judge, realized_performance, realized_value
from level3_system.monitoring.window import Served, read_served_window, served_version
from level3_system.runtime.retry import io_options
from level3_system.settings import Level3Settings, get_settings


@dataclass
class MonitorSummary:
    result: dict[str, Any]
    latest: Path | None = None
    report_html: Path | None = None
    mlflow_run_id: str | None = None
    event_id: str | None = None  # the alert event, when one was emitted
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


@task(name="resolve", cache_policy=NO_CACHE)
def resolve(settings: Level3Settings) -> Served:
    return served_version(settings)


@task(name="window", cache_policy=NO_CACHE)
def window(settings: Level3Settings, served: Served) -> pd.DataFrame:
    frame = read_served_window(settings, served)
    get_run_logger().info("window: %d rows of %s version %s", len(frame), served.name, served.version)
    return frame


@task(name="drift", cache_policy=NO_CACHE)
def drift(settings: Level3Settings, served: Served, current: pd.DataFrame) -> DriftResult | None:
    if len(current) < settings.monitoring.min_rows:
        return None
    reference = load_reference(settings, served.run_id)
    if reference is None:
        raise UserFacingError(
            f"{served.name} version {served.version} carries no reference sample (trained before references "
            "travelled with the model): train a new version with `make level3`"
        )
    return compare(reference, current, served.contract, settings.monitoring)


def _window_summary(current: pd.DataFrame) -> dict[str, Any]:
    labelled = int(current["positive"].notna().sum()) if "positive" in current else 0
    times = current["scored_at"] if len(current) else pd.Series(dtype="datetime64[ns, UTC]")
    return {
        "start": times.min().isoformat() if len(times) else None,
        "end": times.max().isoformat() if len(times) else None,
        "n_rows": len(current),
        "n_labeled": labelled,
    }


@task(name="verdict", cache_policy=NO_CACHE)
def verdict(settings: Level3Settings, served: Served, current: pd.DataFrame, found: DriftResult | None) -> dict:
    rules = settings.monitoring
    performance = realized_performance(current, rules.min_labeled) if found is not None else None
    value = realized_value(current, served.offers, served.decision, rules.min_labeled) if found is not None else None
    previous = outputs.previous_results(settings.reports, served.name, served.version)
    decided = judge(found, performance, served.holdout_metrics, previous, rules, len(current), value)
    return {
        "model_name": served.name,
        "model_version": served.version,
        "monitored_at": datetime.now(UTC).isoformat(),
        "window": _window_summary(current),
        "dataset_drift": None if found is None else found.dataset_drift,
        "drift_share": None if found is None else found.drift_share,
        "drifted_features": [] if found is None else found.drifted_features,
        "features": {} if found is None else {k: v.as_dict() for k, v in found.features.items()},
        "prediction_drift": None if found is None else found.prediction.as_dict(),
        "performance": None if performance is None else {**performance, "holdout_roc_auc": served.holdout_roc_auc},
        "value": value,
        "alert": decided.alert,
        "consecutive_drifted_windows": decided.consecutive_drifted,
        "reasons": decided.reasons,
    }


@task(name="publish", cache_policy=NO_CACHE)
def publish(settings: Level3Settings, result: dict[str, Any], found: DriftResult | None) -> MonitorSummary:
    from level3_system.monitoring.tracking import log_monitoring_run

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    html = outputs.write_html(settings.reports, found.snapshot, result) if found is not None else None
    run_id = log_monitoring_run(settings, result, html)
    result = {**result, "mlflow_run_id": run_id, "report_html": str(html) if html else None}
    latest = outputs.write_result(settings.reports, result, stamp, settings.monitoring.reports_kept)
    create_markdown_artifact(key="monitoring", markdown=summary_markdown(result))
    return MonitorSummary(result=result, latest=latest, report_html=html, mlflow_run_id=run_id)


def summary_markdown(result: dict[str, Any]) -> str:
    window = result["window"]
    lines = [
        f"**{result['model_name']} v{result['model_version']}: {'ALERT' if result['alert'] else 'no alert'}**",
        "",
        "| | |",
        "|---|---|",
        f"| window | {window['n_rows']} rows ({window['n_labeled']} labelled), {window['start']} – {window['end']} |",
        f"| dataset drift | {result['dataset_drift']} (share {result['drift_share']}) |",
        f"| drifted features | {', '.join(result['drifted_features']) or '–'} |",
        f"| performance | {result['performance'] or '–'} |",
        f"| realized value | {result['value'] or '–'} |",
        "",
        *[f"- {reason}" for reason in result["reasons"]],
    ]
    return "\n".join(lines)


def alert_payload(result: dict[str, Any]) -> dict[str, Any]:
    """What the alert event carries to the training it triggers (its parameters come from this payload)."""
    return {
        "model_name": result["model_name"],
        "model_version": result["model_version"],
        "drift_share": result["drift_share"],
        "drifted_features": result["drifted_features"],
        "reasons": result["reasons"],
        "monitoring_run_id": result.get("mlflow_run_id"),
        "monitored_at": result["monitored_at"],
    }


@task(name="alert", cache_policy=NO_CACHE)
def alert(settings: Level3Settings, result: dict[str, Any]) -> str | None:
    """The event of an alert, on the registered model's resource: the training deployment listens for it."""
    from prefect.events import emit_event

    event = emit_event(
        event=settings.continuous_training.event,
        resource={"prefect.resource.id": f"churn.model.{result['model_name']}", "prefect.resource.name": "model"},
        payload=alert_payload(result),
    )
    get_run_logger().info("alert emitted: %s (version %s)", settings.continuous_training.event, result["model_version"])
    return str(event.id) if event is not None else None


@flow(name="monitor", log_prints=False)
def monitor(settings: Level3Settings | None = None) -> MonitorSummary:
    """Drift and realized performance of the served version's recent traffic, and whether to raise an alert."""
    settings = settings or get_settings()
    started = time.perf_counter()
    io = io_options(settings)
    served = resolve.with_options(**io)(settings)
    current = window.with_options(**io)(settings, served)
    found = drift(settings, served, current)
    result = verdict(settings, served, current, found)
    summary = publish.with_options(**io)(settings, result, found)
    if summary.result["alert"]:
        summary.event_id = alert(settings, summary.result)
    summary.seconds = time.perf_counter() - started
    return summary
