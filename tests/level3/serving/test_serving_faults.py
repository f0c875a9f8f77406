"""Faults while the service follows the champion. The registry goes away: it keeps serving the version it has,
stays ready, counts each failed reload on /metrics, and swaps once the registry is back and the alias has moved.
A champion whose model file is broken: it is refused, the current version stays, the log and /metrics say so.

A real `mlflow server` on 127.0.0.1 in front of a two-version registry (v1 champion, v2 registered), the service
polling it every 0.3 s; the server is stopped, v2 is promoted meanwhile (in the store itself), the server is
started again on the same port.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from level3_support import TwoVersions
from servers import free_port, mlflow_server_on


def _failed_reloads(client: Any) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('churn_model_reloads_total{outcome="failed"}'):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.servers
def test_the_service_rides_out_a_registry_outage(
    make_two_versions: Callable[[str], TwoVersions], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient
    from level3_support import with_serving

    from level3_system.serving.app import create_app

    versions = make_two_versions("registry_outage")
    port = free_port()
    server = mlflow_server_on(versions.settings.resolved_tracking_uri, port, tmp_path / "first")
    # The service reaches the registry through the server only; MLflow's client fails fast (no retries here)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    served = with_serving(versions.settings, reload_interval_seconds=0.3).model_copy(
        update={"tracking_uri": f"http://127.0.0.1:{port}"}
    )
    body = served_example(served)
    try:
        with TestClient(create_app(served)) as client:
            assert client.get("/model").json()["version"] == "1"
            # When the registry goes away
            server.stop()
            deadline = time.monotonic() + 60
            while _failed_reloads(client) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            # Then the service still answers with what it has, and says the reloads failed
            assert _failed_reloads(client) >= 2, client.get("/metrics").text[-1500:]
            assert client.get("/ready").status_code == 200
            answer = client.post("/predict", json=body)
            assert answer.status_code == 200 and answer.json()["model_version"] == "1", answer.text
            manual = client.post("/admin/reload")
            assert manual.status_code == 503 and "still serving version 1" in manual.text, manual.text
            # And once the registry is back with the alias moved, it swaps by itself
            versions.promote_second()
            server = mlflow_server_on(versions.settings.resolved_tracking_uri, port, tmp_path / "second")
            deadline = time.monotonic() + 60
            while client.get("/model").json()["version"] != "2" and time.monotonic() < deadline:
                time.sleep(0.2)
            assert client.get("/model").json()["version"] == "2", "the service did not swap once the registry returned"
            assert client.post("/predict", json=body).json()["model_version"] == "2"
    finally:
        server.stop()


def served_example(settings: Any) -> dict[str, Any]:
    from level2_pipeline.config import load_contract
    from level3_system.serving.schemas import example_customer

    return example_customer(load_contract(settings.kedro_env))


def test_a_broken_champion_is_refused_and_the_current_one_kept(
    make_two_versions: Callable[[str], TwoVersions], caplog: pytest.LogCaptureFixture
) -> None:
    """v2's model file is corrupted in the artifact store, then v2 is promoted: the service will not swap to it."""
    import logging

    from fastapi.testclient import TestClient
    from level3_support import with_serving

    from level3_system.lifecycle import registry
    from level3_system.serving.app import create_app

    versions = make_two_versions("broken_champion")
    client_ = registry.client(versions.settings)
    second = client_.get_model_version("telco-churn", versions.second.version)
    from mlflow.tracking.artifact_utils import get_artifact_uri

    source = second.source
    if source.startswith("models:/"):
        source = client_.get_logged_model(source.removeprefix("models:/").split("/")[0]).artifact_location
    elif source.startswith("runs:/"):
        run_id, _, path = source.removeprefix("runs:/").partition("/")
        source = get_artifact_uri(run_id, path, tracking_uri=versions.settings.resolved_tracking_uri)
    location = Path(source.removeprefix("file://"))
    weights = [p for p in location.rglob("*") if p.is_file() and p.name != "MLmodel" and p.suffix in {".skops", ".pkl"}]
    assert weights, f"no model file under {location}: {sorted(p.name for p in location.rglob('*'))}"
    for path in weights:
        path.write_bytes(b"not a model")
    served = with_serving(versions.settings, reload_interval_seconds=0.3)
    body = served_example(served)
    with caplog.at_level(logging.WARNING, logger="level3_system"), TestClient(create_app(served)) as client:
        assert client.get("/model").json()["version"] == "1"
        versions.promote_second()
        deadline = time.monotonic() + 60
        while _failed_reloads(client) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _failed_reloads(client) >= 2, "the broken version's reloads were not counted as failed"
        assert client.get("/model").json()["version"] == "1" and client.get("/ready").status_code == 200
        assert client.post("/predict", json=body).json()["model_version"] == "1"
    said = [r.getMessage() for r in caplog.records if "reload failed" in r.getMessage()]
    assert said and "still serving the current model" in said[0], said
