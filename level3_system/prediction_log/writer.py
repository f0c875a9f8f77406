"""Writes scored rows to the prediction log off the request path: a bounded queue, a writer thread, batched inserts.

A request only puts its row on the queue (`put_nowait`, ~1 µs): it never waits for the database. The writer
thread takes up to `batch_rows` at a time and inserts them in one statement. While the database is slow or down,
the batch in hand is retried with a growing delay and new rows wait in the queue; once the queue is full, further
rows are dropped and counted — requests never block or fail because of the log. `close()` (graceful shutdown)
writes what is queued, within a timeout; rows it cannot write are counted as dropped, never lost silently.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json
from sqlalchemy.engine import Engine

from level3_system.prediction_log.schema import ensure_schema, predictions

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0
# A batch goes to the database as one JSON document that the database itself unpacks (SQLite's json_each,
# PostgreSQL's json_to_recordset): the only Python work per batch is one call of pydantic's Rust serializer, and the
# drivers release the GIL while the statement runs. Row by row through SQLAlchemy cost ~29 µs per row of this
# process's one busy core, taken from the request path (benchmarks/bench_serving.py: prediction log on vs off).
COLUMNS = [column.name for column in predictions.columns]
_SQLITE_VALUES = {
    "scored_at": "replace(replace(json_extract(value, '$.scored_at'), 'T', ' '), 'Z', '')",  # SQLAlchemy's text form
}
SQLITE_INSERT = (
    f"INSERT INTO predictions ({', '.join(COLUMNS)}) SELECT "
    + ", ".join(_SQLITE_VALUES.get(name, f"json_extract(value, '$.{name}')") for name in COLUMNS)
    + " FROM json_each(?) WHERE true ON CONFLICT (request_id) DO NOTHING"  # WHERE: SQLite's upsert-after-SELECT rule
)
_PG_TYPES = {
    "scored_at": "timestamptz",
    "features": "json",
    "probability": "float8",
    "label": "boolean",
    "latency_ms": "float8",
}
_PG_RECORD = ", ".join(f"{name} {_PG_TYPES.get(name, 'text')}" for name in COLUMNS)
POSTGRES_INSERT = (
    f"INSERT INTO predictions ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} "
    f"FROM json_to_recordset(%s::json) AS r({_PG_RECORD}) ON CONFLICT (request_id) DO NOTHING"
)


@dataclass
class WriterStats:
    written: int = 0
    dropped: int = 0
    errors: int = 0
    last_error: str = ""


class PredictionLogWriter:
    """The service's (or a scoring run's) writer; `submit` is safe from any thread."""

    def __init__(
        self,
        engine_factory: Callable[[], Engine],
        *,
        queue_rows: int = 100_000,
        batch_rows: int = 1_000,
        flush_seconds: float = 0.5,
    ) -> None:
        self._engine_factory = engine_factory
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_rows)
        self._batch_rows = batch_rows
        self._flush_seconds = flush_seconds
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._deadline = float("inf")
        self._in_hand = 0  # rows taken off the queue and not yet written or dropped (a batch waiting out an outage)
        self.stats = WriterStats()

    # --- the request path ---------------------------------------------------------------------------------------

    def submit(self, row: dict[str, Any]) -> bool:
        """Queue one row; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(row)
            return True
        except queue.Full:
            with self._lock:
                self.stats.dropped += 1
            return False

    def submit_many(self, rows: list[dict[str, Any]]) -> int:
        return sum(self.submit(row) for row in rows)

    @property
    def queued(self) -> int:
        """Rows accepted and not yet settled: the queue and the batch in hand. (The queue alone reads 0 while
        an outage's whole backlog waits in the writer's hands.)"""
        with self._lock:
            return self._queue.qsize() + self._in_hand

    # --- the writer thread ------------------------------------------------------------------------------------

    def start(self) -> PredictionLogWriter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
            self._thread.start()
        return self

    def _take(self) -> list[dict[str, Any]]:
        """What is queued, up to `batch_rows`, after waiting up to `flush_seconds` for rows to gather: big batches
        mean few transactions, and no wake-up per row (each would take the GIL from the request path)."""
        if self._queue.qsize() < self._batch_rows and not self._stop.is_set():
            self._stop.wait(self._flush_seconds)
        batch: list[dict[str, Any]] = []
        with self._lock:  # `queued` reads under the same lock: a row is always on the queue or in hand
            while len(batch) < self._batch_rows:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._in_hand = len(batch)
        return batch

    def _insert(self, batch: list[dict[str, Any]]) -> int:
        """Insert a batch in one statement; returns the rows inserted (a request id already logged is skipped:
        a client that reuses its X-Request-ID must not push every batch down the row-by-row path)."""
        if self._engine is None:
            engine = self._engine_factory()
            ensure_schema(engine)
            self._engine = engine
        dialect = self._engine.dialect.name
        with self._engine.begin() as connection:
            if dialect in ("sqlite", "postgresql"):
                document = to_json(batch, inf_nan_mode="null").decode()  # a NaN is not JSON: stored as null
                statement = SQLITE_INSERT if dialect == "sqlite" else POSTGRES_INSERT
                return int(connection.exec_driver_sql(statement, (document,)).rowcount)
            connection.execute(predictions.insert(), batch)  # another database: SQLAlchemy Core, row by row
            return len(batch)

    def _reachable(self) -> bool:
        """Does the database answer at all? (Then a failed batch holds a row it refuses, e.g. a reused request id.)"""
        try:
            engine = self._engine_factory()
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def _write_one_by_one(self, batch: list[dict[str, Any]]) -> None:
        """The rows the database accepts, each on its own; the others are dropped and counted. (It follows a failed
        attempt: a row found already logged is counted as written, see `_settle`.)"""
        refused = 0
        for row in batch:
            try:
                self._insert([row])
            except Exception:
                refused += 1
        with self._lock:
            self.stats.written += len(batch) - refused
            self.stats.dropped += refused
        if refused:
            logger.warning("prediction log: %d row(s) refused by the database (%s)", refused, self.stats.last_error)

    def _settle(self, rows: int, inserted: int, retried: bool) -> None:
        """Count a batch the database took. Rows it skipped (their request id already logged) are a caller's
        reused X-Request-ID on a first attempt: dropped. On a retry they are most likely the earlier attempt's
        own rows, committed before its answer was lost (a server killed mid-commit): written."""
        skipped = rows - inserted
        with self._lock:
            self.stats.written += rows if retried else inserted
            self.stats.dropped += 0 if retried else skipped
        if skipped and not retried:
            logger.warning("prediction log: %d row(s) skipped: request id already logged", skipped)

    def _run(self) -> None:
        batch: list[dict[str, Any]] = []
        backoff = 0.1
        retried = False  # the batch in hand failed once: its commit may have happened, its answer lost
        while True:
            if not batch:
                self._in_hand = 0
                self._idle.set()
                batch, retried = self._take(), False
                if not batch:
                    if self._stop.is_set():
                        return
                    continue
                self._idle.clear()
            try:
                inserted = self._insert(batch)
            except Exception as exc:  # the database is down or slow (keep the batch, try again) or refuses a row
                self._failed(exc)
                retried = True
                if self._reachable():
                    self._write_one_by_one(batch)
                    batch, backoff = [], 0.1
                    continue
                if self._stop.is_set() and time.monotonic() >= self._deadline:
                    with self._lock:  # closing, and out of time: counted, not lost silently
                        self.stats.dropped += len(batch)
                    self._in_hand = 0
                    return
                self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            self._settle(len(batch), inserted, retried)
            batch, backoff = [], 0.1

    def _pause(self, seconds: float) -> None:
        """Wait before the next try; a close wakes the wait, after which it never outlasts the close's deadline."""
        if not self._stop.is_set():
            self._stop.wait(seconds)
        else:
            time.sleep(max(0.0, min(seconds, self._deadline - time.monotonic())))

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self.stats.errors += 1
            self.stats.last_error = " ".join(str(exc).split())[:300]
        if self.stats.errors == 1 or self.stats.errors % 100 == 0:
            logger.warning("prediction log: write failed (%s); retrying", self.stats.last_error)
        # A fresh engine on the next try: a restarted server invalidates the pool's connections.
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None

    # --- shutdown -------------------------------------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written (True) or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.is_set():
                return True
            time.sleep(0.01)
        return False

    def close(self, timeout: float = 10.0) -> WriterStats:
        """Write what is queued (within `timeout`), then stop; what could not be written is counted as dropped."""
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout + 1.0)
        left = self._queue.qsize()
        if left:
            with self._lock:
                self.stats.dropped += left
            while not self._queue.empty():
                self._queue.get_nowait()
        if self.stats.dropped:
            logger.warning("prediction log: %d row(s) dropped (queue full or database unreachable)", self.stats.dropped)
        if self._engine is not None:
            self._engine.dispose()
        return self.stats
