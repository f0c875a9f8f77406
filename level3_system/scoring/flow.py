"""The scoring flow: one version, pinned at the start, scores a batch of customers into the output contract.

resolve (the alias's version, or the one asked for: pinned for the whole run, so a promotion meanwhile does not
mix versions) → load (the version as the service loads it: its fast path checked against the registered model,
its contract and cleaning) → score (in this process, or one Dask graph on the cluster) → publish (`_SUCCESS`
last, the output moved into place; an MLflow run in the `scoring` experiment; small in-process runs also to the
prediction log, so monitoring sees batch traffic).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from level2_pipeline.contract import DataContractError
from level2_pipeline.errors import UserFacingError
from level3_system.lifecycle import registry
from level3_system.runtime.retry import io_options
from level3_system.scoring import engine
from level3_system.scoring.batch import PROBABILITY, BatchScorer
from level3_system.scoring.budget import settle as settle_offers
from level3_system.scoring.inputs import Inputs, columns_of
from level3_system.scoring.output import Staging
from level3_system.settings import Level3Settings, get_settings
from level3_system.validation.rows import require_columns


@dataclass
class ScoreSummary:
    output: Path
    success: dict[str, Any]
    engine: str
    mlflow_run_id: str | None = None
    logged_rows: int = 0
    timings: dict[str, float] = field(default_factory=dict)


@task(name="resolve", cache_policy=NO_CACHE)
def resolve(settings: Level3Settings, version: str | None, alias: str | None) -> Any:
    """The version this run scores with: pinned here, once."""
    return registry.get_version(settings, version) if version is not None else registry.resolve(settings, alias)


@task(name="load", cache_policy=NO_CACHE)
def load(settings: Level3Settings, pinned: Any) -> BatchScorer:
    from level2_pipeline.config import load_contract_and_clean
    from level3_system.serving.model_store import load as load_version

    loaded = load_version(settings, lambda: load_contract_and_clean(settings.kedro_env), pinned)
    get_run_logger().info("scoring with %s version %s (%s fast path)", loaded.name, loaded.version, loaded.fast_path)
    return BatchScorer.of(loaded)


@task(name="score_on_dask", cache_policy=NO_CACHE)
def score_on_dask(scorer: BatchScorer, inputs: Inputs, to: engine.Destination, partition_rows: int) -> tuple[int, int]:
    """The graph is built here and computed on the flow's cluster (prefect-dask starts it on first use)."""
    from prefect.context import FlowRunContext

    runner = FlowRunContext.get().task_runner
    if not hasattr(runner, "client"):
        raise UserFacingError("use_dask needs the flow run with engine.task_runner(settings) (a DaskTaskRunner)")
    return engine.score_on_dask(scorer, inputs, to, partition_rows, runner.client)


@task(name="publish", cache_policy=NO_CACHE)
def publish(settings: Level3Settings, summary: ScoreSummary, inputs: Inputs) -> str:
    client = registry.client(settings)
    experiment = registry.experiment_id(settings, settings.scoring.experiment)
    success = summary.success
    tags = {"model_name": success["model_name"], "model_version": success["model_version"], "engine": summary.engine}
    run = client.create_run(experiment, tags=tags, run_name=f"score v{success['model_version']}")
    for key, value in {"input": inputs.spec, "output": str(summary.output), "files": len(inputs.files)}.items():
        client.log_param(run.info.run_id, key, value)
    for key in ("rows_in", "rows_scored", "rows_rejected", "seconds"):
        client.log_metric(run.info.run_id, key, float(success[key]))
    for step, seconds in summary.timings.items():
        client.log_metric(run.info.run_id, f"seconds_{step}", seconds)
    client.log_metric(run.info.run_id, "rows_per_second", success["rows_in"] / max(success["seconds"], 1e-9))
    client.log_dict(run.info.run_id, success, "scoring/_SUCCESS.json")
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def _log_batch(settings: Level3Settings, scorer: BatchScorer, kept: list[Any]) -> int:
    """The scored rows into the prediction log (source `score`), like the service's."""
    from level3_system.prediction_log.schema import create_engine
    from level3_system.prediction_log.store import log_url
    from level3_system.prediction_log.writer import PredictionLogWriter
    from level3_system.serving.traffic_log import request_id

    now = datetime.now(UTC)
    writer = PredictionLogWriter(lambda: create_engine(log_url(settings)), batch_rows=5_000, flush_seconds=0.05)
    writer.start()
    id_column = scorer.contract.id_column
    for frame in kept:
        probabilities = frame[PROBABILITY].to_numpy(dtype=float)
        records = scorer.features_of(frame).to_dict(orient="records")
        ids = frame[id_column].astype(str).tolist() if id_column else [None] * len(frame)
        for record, probability, entity in zip(records, probabilities, ids, strict=True):
            writer.submit(
                {
                    "request_id": request_id(None),
                    "scored_at": now,
                    "model_name": scorer.name,
                    "model_version": scorer.version,
                    "source": "score",
                    "entity_id": entity,
                    "features": record,
                    "probability": float(probability),
                    "label": bool(probability >= scorer.threshold),
                    "latency_ms": None,
                }
            )
    stats = writer.close(timeout=120)
    return stats.written


@flow(name="score", log_prints=False)
def score(
    inputs: Inputs,
    output: str,
    settings: Level3Settings | None = None,
    version: str | None = None,
    alias: str | None = None,
    use_dask: bool = False,
    budget: int | None = None,
) -> ScoreSummary | State:
    """Score `inputs` into `output` with one pinned version (`version`, or the `alias`'s: the serving alias); at
    most `budget` offers (None: `decision.budget`), to the highest expected values of the whole run."""
    settings = settings or get_settings()
    started = time.perf_counter()
    io = io_options(settings)
    clock = _Clock()
    pinned = resolve.with_options(**io)(settings, version, alias)
    scorer = load(settings, pinned)
    clock.lap("load")
    try:
        require_columns(_header(inputs), scorer.checks)
        staging = Staging(Path(output))
    except (DataContractError, UserFacingError) as exc:
        # What the user must fix is the run's message, not a traceback in the log (nothing was written).
        return Failed(message=f"INPUT {inputs.spec}: {exc}" if isinstance(exc, DataContractError) else str(exc))
    scored_at = datetime.now(UTC)
    to = engine.Destination(staging.predictions, staging.rejects, scored_at)
    conf = settings.scoring
    try:
        if use_dask:
            # Called, not submitted: the graph is built here and sent to the flow's cluster (a task submitted to a
            # worker would import Prefect there first, ~4 s, and hold a worker while its graph waits for one).
            rows_in, rejected = score_on_dask(scorer, inputs, to, conf.partition_rows)
            kept: list[Any] = []
        else:
            keep = conf.log_rows_up_to if settings.prediction_log.enabled else 0
            rows_in, rejected, kept = engine.score_in_process(scorer, inputs, to, conf.partition_rows, keep)
        clock.lap("score")
        cap = budget if budget is not None else settings.decision.budget
        offers = settle_offers(staging.predictions, cap)
        clock.lap("offers")
        success = {
            "rows_in": rows_in,
            "rows_scored": rows_in - rejected,
            "rows_rejected": rejected,
            "model_name": scorer.name,
            "model_version": scorer.version,
            "offer_threshold": scorer.offers.threshold,
            "offers": offers.offers,
            "expected_value": offers.expected_value,
            "budget": cap,
            "seconds": round(time.perf_counter() - started, 3),
            "engine": "dask" if use_dask else "in-process",
            "scored_at": scored_at.isoformat(),
            "timings": clock.laps,
        }
        committed = staging.commit(success)
    except BaseException:
        staging.abort()
        raise
    summary = ScoreSummary(committed, success, success["engine"], timings=clock.laps)
    if kept:
        summary.logged_rows = _log_batch(settings, scorer, kept)
        clock.lap("prediction_log")
    summary.mlflow_run_id = publish.with_options(**io)(settings, summary, inputs)
    clock.lap("publish")
    return summary


class _Clock:
    """Seconds per step, for `_SUCCESS`, the MLflow run and the command's last line."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


def _header(inputs: Inputs) -> Any:
    import pandas as pd

    return pd.DataFrame(columns=columns_of(inputs))
