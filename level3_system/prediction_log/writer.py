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

from sqlalchemy.engine import Engine

from level3_system.prediction_log.schema import ensure_schema, predictions

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0


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
        return self._queue.qsize()

    # --- the writer thread ------------------------------------------------------------------------------------

    def start(self) -> PredictionLogWriter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
            self._thread.start()
        return self

    def _take(self, first_wait: float) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        try:
            batch.append(self._queue.get(timeout=first_wait))
        except queue.Empty:
            return batch
        while len(batch) < self._batch_rows:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _insert(self, batch: list[dict[str, Any]]) -> None:
        if self._engine is None:
            engine = self._engine_factory()
            ensure_schema(engine)
            self._engine = engine
        with self._engine.begin() as connection:
            connection.execute(predictions.insert(), batch)

    def _run(self) -> None:
        batch: list[dict[str, Any]] = []
        backoff = 0.1
        while True:
            if not batch:
                self._idle.set()
                batch = self._take(0.05 if self._stop.is_set() else self._flush_seconds)
                if not batch:
                    if self._stop.is_set():
                        return
                    continue
                self._idle.clear()
            try:
                self._insert(batch)
            except Exception as exc:  # the database is down, slow or refusing: keep the batch, try again
                self._failed(exc)
                if self._stop.is_set() and time.monotonic() >= self._deadline:
                    with self._lock:  # closing, and out of time: counted, not lost silently
                        self.stats.dropped += len(batch)
                    return
                self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            with self._lock:
                self.stats.written += len(batch)
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
