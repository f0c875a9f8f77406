"""Every scored request is in the prediction log, with its version and request id; the log never blocks scoring.

In process (TestClient, the app's lifespan runs) for counting and ids; a real `python -m level3_system serve`
for SIGTERM under load.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from servers import free_port, http_ok, start, wait_until
from sqlalchemy import select
from support import eventually

from level3_system.prediction_log.schema import create_engine, predictions
from level3_system.serving.app import create_app
from level3_system.settings import PredictionLogSettings


def _with_log(settings: Any, url: str, **options: Any) -> Any:
    return settings.model_copy(update={"prediction_log": PredictionLogSettings(url=url, flush_seconds=0.05, **options)})


def _logged(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = {row.request_id: row for row in connection.execute(select(predictions))}
    engine.dispose()
    return rows


def _metric(client: Any, name: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"/metrics has no {name}")


def test_concurrent_requests_give_exactly_one_row_each(
    champion: Any, holdout_bodies: list[dict[str, Any]], tmp_path: Path
) -> None:
    url = f"sqlite:///{(tmp_path / 'log.sqlite').as_posix()}"
    answers: list[dict[str, Any]] = []
    lock = threading.Lock()
    with TestClient(create_app(_with_log(champion.settings, url))) as client:

        def fire(worker: int) -> None:
            for body in holdout_bodies[worker * 50 : (worker + 1) * 50]:
                response = client.post("/predict", json={**body, "customer_id": 1000 + worker})
                with lock:
                    answers.append({**response.json(), "header": response.headers["x-request-id"]})

        threads = [threading.Thread(target=fire, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        own = client.post("/predict", json=holdout_bodies[0], headers={"X-Request-ID": "caller-42"})
    # lifespan ended: the log was flushed
    rows = _logged(url)
    assert len(answers) == 200 and all(a["request_id"] == a["header"] for a in answers), "request id ≠ header"
    assert len(rows) == 201, f"{len(rows)} log rows for 201 requests"
    assert {a["request_id"] for a in answers} | {"caller-42"} == set(rows), "log rows and answered requests differ"
    assert own.json()["request_id"] == "caller-42", "a caller's own X-Request-ID was not kept"
    sample = rows[answers[0]["request_id"]]
    assert (sample.model_name, sample.model_version, sample.source) == ("telco-churn", "1", "predict")
    assert sample.probability == pytest.approx(answers[0]["churn_probability"], abs=1e-12)
    assert set(sample.features) - {"customer_id"} == set(champion.contract.features), "not the validated features"
    assert sample.entity_id in {"1000", "1001", "1002", "1003"}


def test_a_batch_logs_one_row_per_customer(champion: Any, holdout_bodies: list[dict[str, Any]], tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'log.sqlite').as_posix()}"
    with TestClient(create_app(_with_log(champion.settings, url))) as client:
        answer = client.post("/predict/batch", json={"customers": holdout_bodies[:25]}).json()
    rows = _logged(url)
    ids = [p["request_id"] for p in answer["predictions"]]
    assert ids == [f"{answer['request_id']}-{i}" for i in range(25)]
    assert set(rows) == set(ids) and {r.source for r in rows.values()} == {"batch"}


def test_a_database_that_is_down_never_fails_a_request(
    champion: Any, holdout_bodies: list[dict[str, Any]], tmp_path: Path
) -> None:
    later = tmp_path / "not_yet"
    url = f"sqlite:///{(later / 'log.sqlite').as_posix()}"
    with TestClient(create_app(_with_log(champion.settings, url, queue_rows=50, batch_rows=10))) as client:
        # Given a log database that cannot be opened: every request is still answered
        statuses = [client.post("/predict", json=body).status_code for body in holdout_bodies[:120]]
        assert set(statuses) == {200}, f"statuses while the log was down: {set(statuses)}"
        # Then the writer notices, holds rows up to its bound and drops (and counts) the rest
        errors = lambda: _metric(client, "churn_prediction_log_write_errors_total") >= 1  # noqa: E731
        eventually(errors, "the failing writes were not counted", timeout=30)
        dropped = _metric(client, "churn_prediction_log_rows_dropped_total")
        queued = _metric(client, "churn_prediction_log_rows_queued")
        assert dropped > 0 and queued > 0, f"past the bound rows must be dropped and counted: {dropped=}, {queued=}"
        # When it comes back, writing resumes
        later.mkdir()
        deadline = time.monotonic() + 30
        while _metric(client, "churn_prediction_log_rows_written_total") == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _metric(client, "churn_prediction_log_rows_written_total") > 0, "writing did not resume"
    # every request is either in the log or counted as dropped
    assert len(_logged(url)) + dropped == 120, f"{len(_logged(url))} logged + {dropped} dropped ≠ 120 requests"


@pytest.mark.slow
def test_sigterm_under_load_keeps_every_answered_request_in_the_log(
    champion: Any, holdout_bodies: list[dict[str, Any]], tmp_path: Path
) -> None:
    import httpx

    url = f"sqlite:///{(tmp_path / 'log.sqlite').as_posix()}"
    port = free_port()
    settings = champion.settings
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "MLFLOW_"))},
        "CHURN_TRACKING_URI": settings.resolved_tracking_uri,
        "CHURN_ARTIFACT_LOCATION": str(settings.artifact_location),
        "CHURN_DATA_DIR": str(settings.data_root),
        "CHURN_PREDICTION_LOG__URL": url,
        "CHURN_SERVING__PORT": str(port),
    }
    service = start("serve", [sys.executable, "-m", "level3_system", "serve"], env, tmp_path / "serve")
    server = service.process
    try:
        wait_until(service, http_ok(f"http://127.0.0.1:{port}/ready"), 90, "/ready")
        answered: list[str] = []
        stop = threading.Event()

        def fire(worker: int) -> None:
            with httpx.Client(timeout=10) as client:
                i = worker
                while not stop.is_set():
                    try:
                        response = client.post(f"http://127.0.0.1:{port}/predict", json=holdout_bodies[i % 1409])
                    except httpx.HTTPError:
                        return  # the server stopped accepting: the end of the load
                    if response.status_code == 200:
                        answered.append(response.json()["request_id"])
                    i += 4

        threads = [threading.Thread(target=fire, args=(w,), daemon=True) for w in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60  # under load: a few hundred answered, then the stop arrives mid-stream
        while len(answered) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(answered) >= 300, f"only {len(answered)} answers in 60 s under load"
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    finally:
        if server.poll() is None:
            server.kill()
    assert code == 0, f"the service exited {code} on SIGTERM:\n{service.tail()}"
    assert len(answered) > 50, f"only {len(answered)} requests answered before SIGTERM"
    missing = set(answered) - set(_logged(url))
    assert not missing, f"{len(missing)} of {len(answered)} answered requests are not in the log after SIGTERM"
