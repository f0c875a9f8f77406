"""`make level3` and `make validate`: the training flow, or the two gates alone, with a summary a person reads."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from level2_pipeline.project import shown
from level3_system.runtime.orchestration import start_server_if_needed, wait_for
from level3_system.runtime.reachability import lost_server
from level3_system.runtime.tracelog import details
from level3_system.settings import Level3Settings

METRICS_SHOWN = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "brier")


# What the flow's tasks import, loaded while the Prefect server starts (no task pays it on the clock); in this
# order, which `make bench` follows to say what each costs (benchmarks/level3_breakdown.py).
WARM_IMPORTS = (
    "great_expectations",
    "matplotlib.pyplot",
    "mlflow.sklearn",
    "skl2onnx",
    "skops.io",  # MLflow saves sklearn models with skops
    "kedro.framework.session",
    "prefect",
)


def warm_imports() -> None:
    for module in WARM_IMPORTS:
        importlib.import_module(module)


def format_summary(summary: Any) -> str:
    trigger = getattr(summary, "trigger", "manual")
    why = (
        f"{trigger} (monitoring run {summary.monitoring_run_id})"
        if getattr(summary, "monitoring_run_id", None)
        else trigger
    )
    lines = [f"level 3 · flow run {summary.flow_run} · trigger {why} · {summary.seconds:.1f} s"]
    feedback = getattr(summary, "feedback", None) or {}
    if feedback:
        lines.append(
            f"  feedback    {feedback.get('feedback.trained_on')} labelled rows trained on, "
            f"{feedback.get('feedback.recent_window')} held out as the recent window, "
            f"{feedback.get('feedback.rejected')} set aside ({feedback.get('feedback.first_observed')} → "
            f"{feedback.get('feedback.last_observed')})"
        )
    for report in summary.validation:
        mark = "passed" if report["success"] else "FAILED"
        passed = report["evaluated"] - len(report["failures"])
        lines.append(f"  validation  {report['gate']:<12} {passed}/{report['evaluated']} expectations {mark}")
        lines += [f"      - {failure}" for failure in report["failures"]]
    docs = next((r["data_docs"] for r in summary.validation if r.get("data_docs")), None)
    if docs:
        lines.append(f"  data docs   {shown(docs)}")
    if summary.status == "stopped":
        lines.append("  stopped before training: the registry was not touched")
        return "\n".join(lines)
    metrics = "  ".join(f"{k} {summary.metrics[k]:.4f}" for k in METRICS_SHOWN if k in summary.metrics)
    lines.append(f"  metrics     {metrics}")
    offers = getattr(summary, "offers", None)
    if offers:
        from level3_system.training.decision_report import summary_line

        lines.append(f"  decision    {summary_line(offers)}")
    lines.append(f"  mlflow      run {summary.run_id} (experiment {summary.experiment_id})")
    lines.append(f"  registry    {summary.registered_model} version {summary.model_version} → {summary.status}")
    lines += [f"      - {reason}" for reason in summary.decision]
    lines.append(f"  reports     {shown(summary.reports_dir)}")
    return "\n".join(lines)


def check_configuration(settings: Level3Settings) -> None:
    """Every parameter the flow will use, checked before anything starts: a bad value is one line (ConfigError)."""
    from level2_pipeline.config import check_run_parameters

    check_run_parameters(settings.kedro_env, settings.data_root, settings.kedro_params)


def train(settings: Level3Settings) -> int:
    check_configuration(settings)
    server = start_server_if_needed(settings)
    warm_imports()
    wait_for(server)
    from level3_system.training.flow import train as train_flow

    state = train_flow(settings=settings, return_state=True)
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        print(f"level 3 failed: {lost_server(settings, summary) or summary}{details()}", file=sys.stderr)
        return 1
    print(format_summary(summary))
    return 1 if summary.status == "stopped" else 0


def validate(settings: Level3Settings) -> int:
    from level2_pipeline import ingestion
    from level3_system.training.compose import run_level2
    from level3_system.validation.gates import gate_model_input, gate_raw

    check_configuration(settings)
    config = ingestion.load_config(settings.kedro_env, settings.data_root)
    raw = ingestion.ingest(config, strict=False)
    reports = [gate_raw(settings, raw.path, config.contract)]
    if reports[0].success:
        table = run_level2(settings, "data_processing").load("model_input_table")
        reports.append(gate_model_input(settings, table, config.contract))
    for report in reports:
        print(f"{report.summary()}{'' if report.success else ' — FAILED'}")
        for failure in report.failures:
            print(f"  - {failure}")
    docs = next((r.data_docs for r in reports if r.data_docs), None)
    if docs:
        print(f"data docs: {shown(docs)}")
    return 0 if all(r.success for r in reports) else 1
