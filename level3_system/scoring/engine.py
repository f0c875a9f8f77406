"""Where a scoring run computes: in this process for small inputs, else on Dask (a local cluster, or a scheduler).

The Dask path is one Dask DataFrame graph, built in the flow's process by one Prefect task and computed on the
flow's cluster (prefect-dask's `get_dask_client`): read each partition, check, score and write it (`batch.py`),
return two counts, in one `compute`. Measured (ADR 0008): one graph beat one Prefect task per file, and tasks that
write their own partition beat a DataFrame graph ending in `to_parquet` (which held partitions long enough to spill
at 768 MiB a worker). pandas' string dtype is kept as it is (Dask's `convert-string` off) so that a partition looks
the same to both paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from level3_system.scoring.batch import LABEL, PROBABILITY, SCORED_AT, VERSION, BatchScorer
from level3_system.scoring.budget import EXPECTED_VALUE, OFFER
from level3_system.scoring.inputs import Inputs, Piece, csv_blocksize, partitions, pieces, read_piece
from level3_system.settings import Level3Settings
from level3_system.validation.rows import REASON

DASK_CONFIG = {"dataframe.convert-string": False}


def _cluster_kwargs(settings: Level3Settings) -> dict[str, Any]:
    """A local cluster sized from settings, every socket on loopback, pandas' string handling in each worker
    (Dask's `convert-string` off, read from DASK_* variables). Workers run no Prefect task (the flow sends them a
    plain Dask graph), so they need no Prefect API."""
    conf = settings.scoring
    return {
        "n_workers": conf.workers,
        "threads_per_worker": conf.threads_per_worker,
        "memory_limit": conf.memory_limit,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": None,
        "worker_dashboard_address": None,
        "env": {"DASK_DATAFRAME__CONVERT_STRING": "False"},
    }


def task_runner(settings: Level3Settings) -> Any:
    """prefect-dask's runner: the scheduler at `scoring.scheduler_address`, else a local cluster that the runner
    starts on first use and closes with the flow."""
    from prefect_dask import DaskTaskRunner

    if settings.scoring.scheduler_address:
        return DaskTaskRunner(address=settings.scoring.scheduler_address)
    return DaskTaskRunner(cluster_kwargs=_cluster_kwargs(settings))


@dataclass(frozen=True)
class Destination:
    """Where a run's partitions are written (the staging folder's predictions/ and rejects/) and its timestamp."""

    predictions: Path
    rejects: Path
    scored_at: datetime


def score_partition(
    frame: pd.DataFrame, number: int, scorer: BatchScorer, to: Destination
) -> tuple[int, int, pd.DataFrame]:
    """Check, score and write one partition: `predictions/part-N.parquet` (always) and `rejects/part-N.parquet`
    (when a row breaks the contract). Returns rows, rows rejected, and the valid rows with their probability.

    Both paths run this same function: the loop partition by partition, Dask as one `map_partitions` whose tasks
    return two counts, so no partition outlives its task (nothing to spill, nothing to measure with `sizeof`)."""
    probability, reasons = scorer.score(frame)
    good = (reasons == "").to_numpy()
    valid = probability[good]
    columns: dict[str, Any] = {}
    if scorer.contract.id_column:
        columns[scorer.contract.id_column] = scorer.ids(frame, good)[good].to_numpy()
    columns.update({PROBABILITY: valid, LABEL: valid >= scorer.threshold})
    columns.update({OFFER: scorer.offers.offer(valid), EXPECTED_VALUE: scorer.offers.economics.expected_value(valid)})
    columns[VERSION] = scorer.version
    predictions = pd.DataFrame(columns).assign(**{SCORED_AT: pd.Timestamp(to.scored_at)})
    name = f"part-{number:05d}.parquet"
    predictions.to_parquet(to.predictions / name, index=False)
    if not good.all():
        frame[~good].assign(**{REASON: reasons[~good]}).to_parquet(to.rejects / name, index=False)
    return len(frame), int((~good).sum()), frame[good].assign(**{PROBABILITY: valid})


def score_in_process(
    scorer: BatchScorer, inputs: Inputs, to: Destination, partition_rows: int, keep_up_to: int = 0
) -> tuple[int, int, list[pd.DataFrame]]:
    """Partition by partition: returns rows in, rows rejected, and (inputs of at most `keep_up_to` rows) the valid
    rows with their scores, for the prediction log; larger inputs keep nothing (memory stays one partition's)."""
    rows_in = rejected = 0
    kept: list[pd.DataFrame] = []
    for number, frame in enumerate(partitions(inputs, partition_rows)):
        rows, bad, valid = score_partition(frame, number, scorer, to)
        rows_in, rejected = rows_in + rows, rejected + bad
        if rows_in <= keep_up_to:
            kept.append(valid)
        else:
            kept.clear()
    return rows_in, rejected, kept


def _counts(rows: int, rejected: int) -> pd.DataFrame:
    return pd.DataFrame({"rows": [rows], "rejected": [rejected]})


def _score_piece(piece: Piece, scorer: BatchScorer, to: Destination) -> pd.DataFrame:
    rows, rejected, _ = score_partition(read_piece(piece), piece.number, scorer, to)
    return _counts(rows, rejected)


def _score_block(frame: pd.DataFrame, scorer: BatchScorer, to: Destination, partition_info: Any = None) -> pd.DataFrame:
    rows, rejected, _ = score_partition(frame, partition_info["number"], scorer, to)
    return _counts(rows, rejected)


def score_on_dask(
    scorer: BatchScorer, inputs: Inputs, to: Destination, partition_rows: int, client: Any
) -> tuple[int, int]:
    """One graph: read each partition → check, score and write it → two counts; computed by `client`'s cluster.
    Parquet pieces are read by the loop's own reader (`dd.from_map`: measured faster than
    `dd.read_parquet`, and the same frames in both paths); CSV is cut by Dask's `read_csv` into byte blocks."""
    import dask
    import dask.dataframe as dd

    meta = _counts(0, 0).iloc[:0]
    with dask.config.set(DASK_CONFIG):
        if inputs.format == "parquet":
            counts = dd.from_map(_score_piece, pieces(inputs, partition_rows), scorer=scorer, to=to, meta=meta)
        else:
            files = [str(f) for f in inputs.files]
            frame = dd.read_csv(files, blocksize=csv_blocksize(inputs, partition_rows), dtype=str)
            counts = frame.map_partitions(_score_block, scorer, to, meta=meta)
        totals = client.compute(counts, sync=True)
    return int(totals["rows"].sum()), int(totals["rejected"].sum())
