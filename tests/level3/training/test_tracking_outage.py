"""The tracking server dies in the middle of a training flow: the flow fails after its retries with one line naming
the server, registers nothing, and leaves `@champion` where it was — checked in the server's own store.

A real `mlflow server` on 127.0.0.1 in front of a registry with a champion (v1) and a challenger (v2); `train`
reaches it by MLFLOW_TRACKING_URI alone. The server is killed (SIGKILL: a crash, not a shutdown) as soon as the
training's MLflow run exists, i.e. while the run is being tracked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from level3_support import MODEL_NAME, TwoVersions
from servers import free_port, mlflow_server_on
from support import PROJECT_ROOT, QUIET_ENV, environment_without, place_raw

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def test_a_tracking_server_lost_mid_training_fails_the_flow_cleanly(
    make_two_versions: Callable[[str], TwoVersions], raw_csv: Path, tmp_path: Path, prefect_server: None
) -> None:
    from mlflow import MlflowClient
    from prefect.settings import get_current_settings

    versions = make_two_versions("tracking_outage")
    store_uri = versions.settings.resolved_tracking_uri
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = mlflow_server_on(store_uri, port, tmp_path / "first")
    client = MlflowClient(url, registry_uri=url)
    runs_before = {
        r.info.run_id for r in client.search_runs([client.get_experiment_by_name("telco-churn").experiment_id])
    }
    data = tmp_path / "data"
    place_raw(raw_csv, data)
    env = environment_without("CHURN_", "MLFLOW_", "PREFECT_")
    env.update(QUIET_ENV)
    # The session's Prefect server: a temporary one on a fresh home would first spend ~15 s migrating its database
    env.update({"CHURN_DATA_DIR": str(data), "PREFECT_API_URL": str(get_current_settings().api.url)})
    # MLflow's client would retry each request for ~2 minutes; the flow's own retries (2) remain
    env.update({"MLFLOW_TRACKING_URI": url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"})
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "stdin": subprocess.DEVNULL, "text": True}
    training = subprocess.Popen([sys.executable, "-m", "level3_system", "train"], cwd=PROJECT_ROOT, env=env, **pipes)
    try:
        # When the training's run appears in the server, the server dies
        experiment = client.get_experiment_by_name("telco-churn").experiment_id
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and training.poll() is None:
            if {r.info.run_id for r in client.search_runs([experiment])} - runs_before:
                break
            time.sleep(0.1)
        ended = "" if training.poll() is None else training.communicate(timeout=30)
        assert not ended, f"the training ended before its run was tracked:\n{ended}"
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        out, err = training.communicate(timeout=240)
    finally:
        if training.poll() is None:
            training.kill()
        server.stop()

    # Then the flow failed, after its retries, with one line naming what was unreachable
    assert training.returncode == 1, f"exit {training.returncode}\n{out}\n{err}"
    said = [line for line in err.splitlines() if line.strip()]
    failed = [line for line in said if line.startswith("level 3 failed:")]
    assert len(failed) == 1 and f"the MLflow server at {url} stopped answering" in failed[0], err
    assert "after 2 retries" in failed[0] and "Traceback" not in err, err
    # And in the registry (read from the server's own store, as the restarted server would serve it): no version
    # was added, none half-registered, the champion is where it was
    store = MlflowClient(store_uri, registry_uri=store_uri)
    listed = sorted(str(v.version) for v in store.search_model_versions(f"name='{MODEL_NAME}'"))
    assert listed == ["1", "2"], f"the failed training left versions behind: {listed}"
    model = store.get_registered_model(MODEL_NAME)
    assert {k: str(v) for k, v in model.aliases.items()} == {"champion": "1", "challenger": "2"}, model.aliases
