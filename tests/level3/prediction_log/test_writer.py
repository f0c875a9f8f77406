"""The prediction log's writer: every submitted row is written or counted as dropped, never lost silently, and a
database that is down slows nothing but the log itself."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from level3_system.prediction_log.schema import create_engine, predictions
from level3_system.prediction_log.writer import PredictionLogWriter


def _row(i: int) -> dict[str, Any]:
    return {
        "request_id": f"r{i}",
        "scored_at": datetime.now(UTC),
        "model_name": "m",
        "model_version": "1",
        "source": "predict",
        "entity_id": None,
        "features": {"tenure": i},
        "probability": 0.5,
        "label": True,
        "latency_ms": 0.1,
    }


def _count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        n = connection.execute(select(func.count()).select_from(predictions)).scalar_one()
    engine.dispose()
    return int(n)


class SwitchableDatabase:
    """An SQLite file in a folder that does not exist until `restore()`: the database is down, then back."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "later"
        self.url = f"sqlite:///{(self.folder / 'log.sqlite').as_posix()}"

    def engine(self) -> Any:
        return create_engine(self.url)

    def restore(self) -> None:
        self.folder.mkdir()


def test_rows_submitted_from_many_threads_are_all_written(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'log.sqlite').as_posix()}"
    writer = PredictionLogWriter(lambda: create_engine(url), batch_rows=50, flush_seconds=0.05).start()
    threads = [
        threading.Thread(target=lambda k=k: [writer.submit(_row(k * 1000 + i)) for i in range(250)]) for k in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stats = writer.close(timeout=30)

    assert (stats.written, stats.dropped) == (1000, 0), stats
    assert _count(url) == 1000


def test_a_database_that_is_down_buffers_then_writes_when_back(tmp_path: Path) -> None:
    database = SwitchableDatabase(tmp_path)
    writer = PredictionLogWriter(database.engine, queue_rows=1000, batch_rows=20, flush_seconds=0.05).start()
    # Given the database is unreachable, rows are accepted at once and wait
    accepted = sum(writer.submit(_row(i)) for i in range(100))
    assert accepted == 100
    assert not writer.flush(timeout=1.0), "nothing can have been written while the database is down"
    assert writer.stats.errors >= 1 and writer.stats.written == 0, writer.stats
    assert writer.queued == 100, "the backlog (the batch in the writer's hands included) must read as queued"
    # When it comes back, everything buffered is written
    database.restore()
    assert writer.flush(timeout=30), f"rows still queued after the database came back: {writer.stats}"
    stats = writer.close(timeout=10)
    assert (stats.written, stats.dropped) == (100, 0), stats
    assert _count(database.url) == 100


def test_past_the_bound_rows_are_dropped_and_counted_never_lost_silently(tmp_path: Path) -> None:
    database = SwitchableDatabase(tmp_path)
    writer = PredictionLogWriter(database.engine, queue_rows=30, batch_rows=10, flush_seconds=0.05).start()
    submitted = 200
    for i in range(submitted):
        writer.submit(_row(i))
    # The database never comes back: closing gives up after its timeout and counts what it could not write
    stats = writer.close(timeout=1.0)

    assert stats.written == 0
    assert stats.dropped == submitted, f"{submitted} submitted, {stats.dropped} counted as dropped: {stats}"


def test_closing_writes_what_is_queued(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'log.sqlite').as_posix()}"
    writer = PredictionLogWriter(lambda: create_engine(url), batch_rows=100, flush_seconds=5.0).start()
    for i in range(250):
        writer.submit(_row(i))

    stats = writer.close(timeout=30)  # long flush interval: only the close writes them

    assert (stats.written, stats.dropped) == (250, 0), stats
    assert _count(url) == 250


def test_a_row_the_database_refuses_is_dropped_and_counted_the_others_written(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'log.sqlite').as_posix()}"
    writer = PredictionLogWriter(lambda: create_engine(url), batch_rows=100, flush_seconds=0.05).start()
    rows = [_row(i) for i in range(10)]
    rows[5]["request_id"] = rows[4]["request_id"]  # a caller reused its X-Request-ID
    rows[7]["features"] = {"tenure": float("nan")}  # not JSON: stored as null, not refused
    for row in rows:
        writer.submit(row)

    stats = writer.close(timeout=30)

    assert (stats.written, stats.dropped) == (9, 1), stats
    assert stats.errors == 0, "a reused request id failed the batch (and sent it down the row-by-row path)"
    assert _count(url) == 9


def test_a_batch_committed_whose_answer_was_lost_is_counted_written_once(tmp_path: Path) -> None:
    """The database commits, then the connection dies before it says so (a server killed mid-commit): the retry
    finds the rows already logged. They are written, once — not dropped, not duplicated."""
    url = f"sqlite:///{(tmp_path / 'log.sqlite').as_posix()}"
    writer = PredictionLogWriter(lambda: create_engine(url), batch_rows=100, flush_seconds=0.05)
    insert, lost = writer._insert, []

    def answer_lost_once(batch: list[dict[str, Any]]) -> int:
        inserted = insert(batch)
        if not lost:
            lost.append(len(batch))
            raise ConnectionError("server closed the connection unexpectedly")
        return inserted

    writer._insert = answer_lost_once  # type: ignore[method-assign]
    writer.start()
    for i in range(10):
        writer.submit(_row(i))

    stats = writer.close(timeout=30)

    assert lost and (stats.written, stats.dropped) == (10, 0), stats
    assert _count(url) == 10
