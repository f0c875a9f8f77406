"""The prediction-log database crashes and comes back while the service is under load: no request fails, the rows
wait in the writer's queue and are written once PostgreSQL is back; past the queue's bound rows are dropped and
counted on /metrics, never lost silently.

A real PostgreSQL 15 on 127.0.0.1 (killed with SIGKILL, started again on the same port: it recovers from its
write-ahead log); four client threads post /predict throughout.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import Postgres, postgres_missing, start_postgres
from support import eventually

pytestmark = [pytest.mark.servers]


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    missing = postgres_missing()
    if missing:
        if os.environ.get("CHURN_TEST_REQUIRE_SERVERS"):
            pytest.fail(missing)
        pytest.skip(missing)
    server = start_postgres(tmp_path_factory.mktemp("log_outage"))
    try:
        yield server
    finally:
        server.stop()


def _samples(client: Any) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = client.get("/metrics").text
    return {s.name: float(s.value) for f in text_string_to_metric_families(text) for s in f.samples}


def _rows(url: str) -> int:
    from sqlalchemy import func, select

    from level3_system.prediction_log.schema import create_engine, ensure_schema, predictions

    engine = create_engine(url)
    ensure_schema(engine)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(predictions)).scalar_one())
    finally:
        engine.dispose()


def _under_load(client: Any, bodies: list[dict[str, Any]], stop: threading.Event) -> tuple[list[int], list[Any]]:
    statuses: list[int] = []
    threads = []

    def fire(worker: int) -> None:
        i = worker
        while not stop.is_set():
            statuses.append(client.post("/predict", json=bodies[i % len(bodies)]).status_code)
            i += 4
            time.sleep(0.005)

    for worker in range(4):
        threads.append(threading.Thread(target=fire, args=(worker,)))
        threads[-1].start()
    return statuses, threads


def _until(client: Any, condition: Callable[[dict[str, float]], bool], what: str, timeout: float = 60) -> None:
    """Until /metrics satisfies `condition` (the writer's own counters); a failure shows them."""
    try:
        eventually(lambda: condition(_samples(client)), what, timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {_samples(client)}") from None


WRITTEN = "churn_prediction_log_rows_written_total"
ERRORS = "churn_prediction_log_write_errors_total"
QUEUED = "churn_prediction_log_rows_queued"
DROPPED = "churn_prediction_log_rows_dropped_total"


def _outage(postgres: Postgres, client: Any, bodies: list[dict[str, Any]], queue_rows: int) -> list[int]:
    """Under load throughout: until rows reach the database; killed, until the writer has noticed and holds rows
    (or, past its bound, drops them); started again, until it writes again. Returns the statuses answered."""
    stop = threading.Event()
    statuses, threads = _under_load(client, bodies, stop)
    try:
        _until(client, lambda s: s[WRITTEN] > 0, "no row reached the database before the crash")
        postgres.crash()
        if queue_rows > 100:  # rows wait in the queue while the database is down
            held = lambda s: s[ERRORS] >= 1 and s[QUEUED] >= 100  # noqa: E731
        else:  # the queue's bound is hit: rows are dropped and counted
            held = lambda s: s[ERRORS] >= 1 and s[DROPPED] > 0  # noqa: E731
        _until(client, held, "the writer did not notice the outage and hold or drop rows")
        written_before = _samples(client)[WRITTEN]
        postgres.start_again()
        _until(client, lambda s: s[WRITTEN] > written_before, "the writer did not write again after the restart")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    return statuses


def _drained(client: Any, timeout: float = 60) -> dict[str, float]:
    _until(client, lambda s: s[QUEUED] == 0, "the writer did not drain its queue after the database came back", timeout)
    return _samples(client)


@pytest.mark.parametrize("queue_rows", [100_000, 50], ids=["buffered", "bound-hit"])
def test_a_log_database_restart_under_load_fails_no_request(
    postgres: Postgres, champion: Any, holdout_bodies: list[dict[str, Any]], queue_rows: int, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from level3_system.serving.app import create_app
    from level3_system.settings import PredictionLogSettings

    url = postgres.url("prediction_log", "postgresql+psycopg2")
    before = _rows(url)
    log = PredictionLogSettings(url=url, flush_seconds=0.05, queue_rows=queue_rows)
    with TestClient(create_app(champion.settings.model_copy(update={"prediction_log": log}))) as client:
        statuses = _outage(postgres, client, holdout_bodies, queue_rows)
        samples = _drained(client)
        # Then no request failed for the log's sake
        assert statuses and set(statuses) == {200}, f"answers during the outage: {sorted(set(statuses))}"
        written, dropped = samples[WRITTEN], samples[DROPPED]
        assert samples[ERRORS] >= 1, "the outage was never noticed"
    # And every accepted row is in the database or counted as dropped
    logged = _rows(url) - before
    assert logged == written, f"{logged} rows in the database, the writer says {written:.0f}"
    assert logged + dropped == len(statuses), f"{logged} written + {dropped:.0f} dropped ≠ {len(statuses)} accepted"
    if queue_rows == 50:
        assert dropped > 0, "the bound was never hit: the outage was too short for this test"
    else:
        assert dropped == 0, f"{dropped:.0f} rows dropped with a queue of {queue_rows}"
