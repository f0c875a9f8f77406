"""The level-3 training flow: level 2's pipelines, wrapped in gates, tracking and promotion.

ingest → validate_raw → data_processing (level 2) → validate_model_input → [validate_feedback]
       → data_science (level 2) → decide (who gets an offer) → track (MLflow) → register (challenger)
       → promote (champion?) → model_card

Every run says why it ran (`trigger`: manual, schedule, or drift with the monitoring run that raised the alert):
in its Prefect run name, its MLflow tags and its summary. A scheduled or drift-triggered run also learns from the
outcomes that arrived (`feedback.py`): level 2's `split` runs, the labelled rows that keep the contract are added
to the training split and gated with it, and training runs on from level 2's `train` node; the newest outcomes
are held out and judge both models beside the fixed holdout. A manual run with no such rows trains as level 2.

Tasks are thin: the work is level 2's nodes (run through Kedro's API, never copied) and the functions of
`validation`, `tracking`, `registry` and `promotion`. Only I/O against something that can blink (the data source,
the tracking server) is retried, only on transient errors (`retry.transient`), and every retried step is safe to
repeat: `track` finds the run it completed, `register` the version it created. Two runs at once (a schedule and
a drift alert) both finish: level 2's steps take turns on the data root, and promotions take turns on the
registered model, so the champion a version is judged against is the one it replaces (`locks.py`). A refused
gate ends the flow `Failed` before any training, with the reasons as its message; the registry is not touched.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run, task_run
from prefect.states import Failed

from level2_pipeline import ingestion
from level2_pipeline.contract import DataContract
from level3_system.lifecycle import promotion, registry
from level3_system.runtime.locks import data_lock
from level3_system.runtime.retry import io_options
from level3_system.settings import Level3Settings, get_settings
from level3_system.training.compose import TrainingOutcome, promote_version, run_level2, training_outcome
from level3_system.training.decision_report import decide as decision_for
from level3_system.training.feedback import Feedback, augmented, collect, read_labelled
from level3_system.training.model_card import publish as publish_card
from level3_system.training.tracking import TrackedRun, log_training_run
from level3_system.validation.checks import model_input_checks
from level3_system.validation.gates import gate_model_input, gate_raw
from level3_system.validation.gx import GateReport, run_gate

TRIGGERS = ("manual", "schedule", "drift")


@dataclass
class TrainSummary:
    status: str  # "champion", "challenger" or "stopped"
    flow_run: str
    trigger: str = "manual"
    monitoring_run_id: str | None = None
    feedback: dict[str, str] = field(default_factory=dict)
    validation: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None
    experiment_id: str | None = None
    model_version: str | None = None
    registered_model: str = ""
    decision: list[str] = field(default_factory=list)  # the promotion's reasons
    offers: dict[str, Any] = field(default_factory=dict)  # decision.json: who gets a retention offer
    reports_dir: str = ""
    seconds: float = 0.0


@task(name="ingest", cache_policy=NO_CACHE)
def ingest(config: ingestion.IngestionConfig) -> ingestion.RawFile:
    raw = ingestion.ingest(config, strict=False)
    get_run_logger().info("raw file %s (sha256 %s…)", raw.path, raw.sha256[:12])
    return raw


def _gate_artifact(report: GateReport) -> None:
    lines = [f"**{report.summary()}**", ""] + [f"- {f}" for f in report.failures]
    create_markdown_artifact(key=f"gate-{report.gate.replace('_', '-')}", markdown="\n".join(lines))


@task(name="validate_raw", cache_policy=NO_CACHE)
def validate_raw(settings: Level3Settings, raw: ingestion.RawFile, contract: DataContract) -> GateReport:
    report = gate_raw(settings, raw.path, contract)
    get_run_logger().info(report.summary())
    _gate_artifact(report)
    return report


@task(name="data_processing", cache_policy=NO_CACHE)
def data_processing(settings: Level3Settings) -> Any:
    return run_level2(settings, "data_processing").load("model_input_table")


@task(name="validate_model_input", cache_policy=NO_CACHE)
def validate_model_input(settings: Level3Settings, table: Any, contract: DataContract) -> GateReport:
    report = gate_model_input(settings, table, contract)
    get_run_logger().info(report.summary())
    _gate_artifact(report)
    return report


@task(name="validate_feedback", cache_policy=NO_CACHE)
def validate_feedback(settings: Level3Settings, contract: DataContract, table: Any) -> Feedback:
    """The outcomes that arrived, row by row against the contract (too many breaking it: the run stops here)."""
    from level2_pipeline.config import load_contract_and_clean

    first_id = int(table[contract.id_column].max()) + 1 if contract.id_column else 0
    found = collect(
        settings, contract, load_contract_and_clean(settings.kedro_env)[1], first_id, read_labelled(settings)
    )
    get_run_logger().info(
        "feedback: %d labelled rows, %d set aside (breaking the contract), %d to train on, %d in the recent window",
        found.rows,
        found.rejected,
        len(found.train),
        len(found.recent),
    )
    return found


def _with_feedback(settings: Level3Settings, contract: DataContract, feedback: Feedback) -> Any:
    """Level 2's split, the feedback rows added to its training part and gated with it, then level 2 from `train`:
    returns the run's outputs, or the refusing gate's report."""
    split = run_level2(settings, "data_science", node_names=["split"])
    x_train, y_train = augmented(split.load("X_train"), split.load("y_train"), feedback, contract)
    report = run_gate("training_set", x_train.assign(**{contract.target: y_train}), model_input_checks(contract), None)
    get_run_logger().info(report.summary())
    _gate_artifact(report)
    if not report.success:
        return report
    split.context.catalog.save("X_train", x_train)
    split.context.catalog.save("y_train", y_train)
    return run_level2(settings, "data_science", from_nodes=["train"]), report


@task(name="data_science", cache_policy=NO_CACHE)
def data_science(
    settings: Level3Settings,
    raw: ingestion.RawFile,
    reports: list[GateReport],
    contract: DataContract,
    feedback: Feedback | None = None,
) -> TrainingOutcome | GateReport:
    if feedback is None or feedback.train.empty:
        outcome = training_outcome(run_level2(settings, "data_science"), raw.path, raw.sha256)
    else:
        done = _with_feedback(settings, contract, feedback)
        if isinstance(done, GateReport):
            return done
        outputs, report = done
        reports = [*reports, report]
        outcome = training_outcome(outputs, raw.path, raw.sha256)
        outcome.tags.update(feedback.lineage())
    if feedback is not None and not feedback.recent.empty:
        outcome.recent = feedback.recent
    outcome.validation = [r.to_dict() for r in reports]
    return outcome


@task(name="decide", cache_policy=NO_CACHE)
def decide(settings: Level3Settings, outcome: TrainingOutcome) -> dict[str, Any]:
    """The offer policy: its threshold chosen on the training rows (out of fold), then valued on the holdout."""
    report = decision_for(settings, outcome)
    get_run_logger().info("decision: offer at p >= %.2f (%s)", report["threshold"], report["chosen_on"])
    return report


@task(name="track", cache_policy=NO_CACHE)
def track(settings: Level3Settings, outcome: TrainingOutcome) -> TrackedRun:
    tracked = log_training_run(
        settings,
        outcome,
        flow_run_id=str(flow_run.get_id() or "none"),
        flow_run_name=str(flow_run.get_name()),
        task_run_id=str(task_run.get_id() or "") or None,
        tags=outcome.tags,
    )
    get_run_logger().info("MLflow run %s (experiment %s)", tracked.run_id, tracked.experiment_id)
    return tracked


@task(name="register", cache_policy=NO_CACHE)
def register_model(settings: Level3Settings, tracked: TrackedRun) -> str:
    version = registry.register(settings, tracked.model_uri, tracked.run_id, tracked.model_id)
    get_run_logger().info("registered %s version %s as challenger", settings.registered_model, version)
    return version


@task(name="promote", cache_policy=NO_CACHE)
def promote(
    settings: Level3Settings, outcome: TrainingOutcome, version: str, tracked: TrackedRun
) -> promotion.Decision:
    decision = promote_version(settings, outcome, version, tracked.run_id)
    get_run_logger().info("version %s %s", version, decision.text)
    create_markdown_artifact(
        key="promotion",
        markdown=f"**version {version}: {decision.text.split(':')[0]}**\n\n"
        + "\n".join(f"- {r}" for r in decision.reasons),
    )
    return decision


@task(name="model_card", cache_policy=NO_CACHE)
def model_card(
    settings: Level3Settings, outcome: TrainingOutcome, version: str, tracked: TrackedRun, decision: promotion.Decision
) -> None:
    """The card needs the registry's decision: logged to the run, written to reports for a champion."""
    card, _, written = publish_card(
        settings, outcome, run_id=tracked.run_id, version=version, champion=decision.promote, decision=decision.text
    )
    get_run_logger().info(
        "model card of version %s (%s): offer threshold %.2f%s",
        version,
        "champion" if decision.promote else "challenger",
        card.decision["threshold"],
        f", written to {written[0]}" if written else "",
    )


def _write_summary(settings: Level3Settings, summary: TrainSummary) -> None:
    settings.reports.mkdir(parents=True, exist_ok=True)
    written = {**asdict(summary), "offers": {k: v for k, v in summary.offers.items() if k != "curve"}}
    (settings.reports / "train_summary.json").write_text(json.dumps(written, indent=2, default=str) + "\n")
    if summary.offers:  # decision.json (a contract): this run's, with the version it belongs to
        record = {**summary.offers, "model_version": summary.model_version, "status": summary.status}
        (settings.reports / "decision.json").write_text(json.dumps(record, indent=2) + "\n")


def _run_name() -> str:
    """The Prefect run's name says why it ran (`train-drift-…`), also for deployments' runs."""
    trigger = flow_run.get_parameters().get("trigger") or "manual"
    return f"train-{trigger}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def _stopped(settings: Level3Settings, summary: TrainSummary, report: GateReport, started: float) -> Any:
    summary.seconds = time.perf_counter() - started
    _write_summary(settings, summary)
    failures = "; ".join(str(f) for f in report.failures)
    return Failed(message=f"{report.summary()}; stopped before training: {failures}", data=summary)


def _learn(settings: Level3Settings, trigger: str, summary: TrainSummary) -> TrainingOutcome | GateReport:
    """Ingest, the gates, level 2 (with the outcomes that arrived, for a retraining): the trained outcome, or the
    report of the gate that refused."""
    # Read conf/ once per run: the source and the contract the gates check against.
    config = ingestion.load_config(settings.kedro_env, settings.data_root)
    raw = ingest.with_options(**io_options(settings))(config)
    reports = [validate_raw(settings, raw, config.contract)]
    if reports[-1].success:
        table = data_processing(settings)
        reports.append(validate_model_input(settings, table, config.contract))
    summary.validation = [r.to_dict() for r in reports]
    if not reports[-1].success:
        return reports[-1]
    learns = trigger != "manual" and settings.continuous_training.use_feedback
    feedback = validate_feedback(settings, config.contract, table) if learns else None
    outcome = data_science(settings, raw, reports, config.contract, feedback)
    if isinstance(outcome, GateReport):
        summary.validation.append(outcome.to_dict())
    return outcome


@flow(name="train", flow_run_name=_run_name, log_prints=False)
def train(settings: Level3Settings | None = None, trigger: str = "manual", alert: dict[str, Any] | None = None) -> Any:
    """Train, validate, track, register and maybe promote one churn model; `trigger` says why (manual, schedule,
    drift), `alert` is the monitor's event payload for a drift-triggered run."""
    settings = settings or get_settings()
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger must be one of {TRIGGERS}, got {trigger!r}")
    started = time.perf_counter()
    io = io_options(settings)
    monitoring_run = str((alert or {}).get("monitoring_run_id") or "") or None
    summary = TrainSummary(
        status="stopped",
        flow_run=str(flow_run.get_name()),
        trigger=trigger,
        monitoring_run_id=monitoring_run,
        reports_dir=str(settings.reports),
    )

    # Level 2's files are shared by every run on this host: their steps take turns (locks.py).
    with data_lock(settings):
        outcome = _learn(settings, trigger, summary)
    if isinstance(outcome, GateReport):
        return _stopped(settings, summary, outcome, started)
    outcome.tags.update({"trigger": trigger, **({"monitoring_run_id": monitoring_run} if monitoring_run else {})})
    summary.validation, summary.feedback = outcome.validation, {k: v for k, v in outcome.tags.items() if "." in k}
    outcome.decision = decide(settings, outcome)
    tracked = track.with_options(**io)(settings, outcome)
    version = register_model.with_options(**io)(settings, tracked)
    decision = promote.with_options(**io)(settings, outcome, version, tracked)
    model_card.with_options(**io)(settings, outcome, version, tracked, decision)

    summary.status = "champion" if decision.promote else "challenger"
    summary.metrics = outcome.metrics
    summary.run_id, summary.experiment_id = tracked.run_id, tracked.experiment_id
    summary.model_version = version
    summary.registered_model = settings.registered_model
    summary.decision = decision.reasons
    summary.offers = outcome.decision
    summary.seconds = time.perf_counter() - started
    _write_summary(settings, summary)
    return summary
