"""Level 3 on real servers, as a team runs it: PostgreSQL 15, an `mlflow server` whose backend store is that
PostgreSQL, a `prefect server` on PostgreSQL too, and the prediction log in PostgreSQL — all on 127.0.0.1, started
here as processes, reached by environment variables alone (no code path special to tests).

One story, in order: `train` registers and promotes v1 → `serve` answers from the MLflow server and logs every row
to PostgreSQL → `traffic` replays customers and posts their outcomes → `monitor` judges the window → `score` scores
a batch → each left its trace where a team looks: the registry, the Prefect server's runs, the log's tables.
`pytest -m servers` runs these alone (~1.5 min here).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from servers import (
    Postgres,
    free_port,
    http_ok,
    postgres_missing,
    start,
    start_mlflow_server,
    start_postgres,
    start_prefect_server,
    wait_until,
)
from support import PROJECT_ROOT, QUIET_ENV

pytestmark = [pytest.mark.servers, pytest.mark.slow]
MODEL = "telco-churn"
TRAFFIC_ROWS = 400


@dataclass
class Platform:
    postgres: Postgres
    tracking_uri: str
    prefect_api: str
    log_url: str
    env: dict[str, str]
    folder: Path

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "level3_system", *args], cwd=PROJECT_ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, raw_csv: Path) -> Iterator[Platform]:
    missing = postgres_missing()
    if missing:
        if os.environ.get("CHURN_TEST_REQUIRE_SERVERS"):
            pytest.fail(missing)
        pytest.skip(missing)
    from support import place_raw

    folder = tmp_path_factory.mktemp("real_servers")
    data = folder / "data"
    place_raw(raw_csv, data)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "MLFLOW_", "PREFECT_"))}
    base = {**base, **QUIET_ENV, "PYTHONUNBUFFERED": "1"}
    servers: list[Any] = []
    try:
        postgres = start_postgres(folder / "postgres")
        servers.append(postgres)
        mlflow, tracking_uri = start_mlflow_server(postgres, folder / "mlflow", base)
        servers.append(mlflow)
        prefect, prefect_api = start_prefect_server(postgres, folder / "prefect", base)
        servers.append(prefect)
        log_url = postgres.url("prediction_log", "postgresql+psycopg2")
        env = {
            **base,
            "MLFLOW_TRACKING_URI": tracking_uri,
            "PREFECT_API_URL": prefect_api,
            "CHURN_PREDICTION_LOG__URL": log_url,
            "CHURN_DATA_DIR": str(data),
            "CHURN_TRAFFIC__REQUESTS": str(TRAFFIC_ROWS),
            "CHURN_TRAFFIC__RATE": "400",
            "CHURN_TRAFFIC__FEEDBACK_DELAY_SECONDS": "1.5",  # > the log's flush interval
            "CHURN_TRAFFIC__SEED": "7",
        }
        yield Platform(postgres, tracking_uri, prefect_api, log_url, env, folder)
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.fixture(scope="module")
def story(platform: Platform) -> Iterator[dict[str, Any]]:
    """The commands a team runs, against the servers; what each printed."""
    import pandas as pd

    said: dict[str, Any] = {}
    trained = platform.run("train")
    assert trained.returncode == 0, f"train on the servers failed:\n{trained.stderr[-3000:]}"
    said["train"] = trained.stdout
    port = free_port()
    platform.env["CHURN_SERVING__PORT"] = str(port)  # `serve` binds it, `traffic` sends to it
    service = start("serve", [sys.executable, "-m", "level3_system", "serve"], platform.env, platform.folder / "serve")
    try:
        wait_until(service, http_ok(f"http://127.0.0.1:{port}/ready"), 120, "/ready")
        traffic = platform.run("traffic", "baseline", timeout=180)
        assert traffic.returncode == 0, f"traffic failed:\n{traffic.stdout}\n{traffic.stderr[-3000:]}"
        said["traffic"] = traffic.stdout
    finally:
        os.killpg(service.process.pid, signal.SIGTERM)
        said["serve_exit"] = service.process.wait(timeout=30)
    monitored = platform.run("monitor")
    assert monitored.returncode == 0, f"monitor failed:\n{monitored.stderr[-3000:]}"
    said["monitor"] = monitored.stdout
    customers = pd.read_csv(platform.env["CHURN_DATA_DIR"] + "/01_raw/telco_churn.csv").drop(columns=["churn"])
    source = platform.folder / "batch.csv"
    customers.head(500).to_csv(source, index=False)
    scored = platform.run("score", str(source), str(platform.folder / "scores"))
    assert scored.returncode == 0, f"score failed:\n{scored.stderr[-3000:]}"
    said["score"] = scored.stdout
    yield said


def test_training_registers_and_promotes_in_the_mlflow_server(platform: Platform, story: dict[str, Any]) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(platform.tracking_uri, registry_uri=platform.tracking_uri)
    model = client.get_registered_model(MODEL)
    assert {alias: str(v) for alias, v in model.aliases.items()} == {"champion": "1"}, model.aliases
    run = client.get_run(client.get_model_version(MODEL, "1").run_id)
    assert run.data.metrics["roc_auc"] > 0.8 and run.data.tags.get("trigger") == "manual", run.data.tags
    assert client.get_model_version(MODEL, "1").tags.get("trigger") == "manual", "the version does not say why"
    # the backend store is the PostgreSQL database, not a file beside the server
    import psycopg2

    with psycopg2.connect(platform.postgres.url("mlflow")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT name FROM registered_models")
        assert cursor.fetchall() == [(MODEL,)]
    assert not list((platform.folder / "mlflow").glob("*.db")), "the MLflow server wrote a SQLite file"


def test_every_served_row_and_outcome_is_in_the_postgresql_log(platform: Platform, story: dict[str, Any]) -> None:
    import psycopg2

    assert story["serve_exit"] == 0, "the service did not exit 0 on SIGTERM"
    assert f"{TRAFFIC_ROWS} requests" in story["traffic"] and "0 errors" in story["traffic"], story["traffic"]
    with psycopg2.connect(platform.postgres.url("prediction_log")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT source, count(*) FROM predictions GROUP BY source ORDER BY source")
        counts = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM feedback")
        (outcomes,) = cursor.fetchone()
    assert counts.get("predict", 0) + counts.get("batch", 0) == TRAFFIC_ROWS, f"rows logged by source: {counts}"
    assert counts.get("score") == 500, f"the batch's rows are not in the log: {counts}"
    assert outcomes == TRAFFIC_ROWS, f"{outcomes} outcomes recorded for {TRAFFIC_ROWS} requests"


def test_the_flows_ran_on_the_prefect_server(platform: Platform, story: dict[str, Any]) -> None:
    import httpx

    response = httpx.post(f"{platform.prefect_api}/flow_runs/filter", json={"limit": 50}, timeout=30)
    response.raise_for_status()
    runs = response.json()
    flows = httpx.post(f"{platform.prefect_api}/flows/filter", json={}, timeout=30).json()
    names = {flow["id"]: flow["name"] for flow in flows}
    states = sorted((names[r["flow_id"]], r["state_type"]) for r in runs)
    # The story's three flows, each run once and completed (the next test's trainings come after this one).
    assert states == [("monitor", "COMPLETED"), ("score", "COMPLETED"), ("train", "COMPLETED")], states


def test_monitor_and_score_report_on_the_servers(platform: Platform, story: dict[str, Any]) -> None:
    said = story["monitor"]
    # Baseline traffic, every outcome fed back: a verdict on 400 rows, and it is no alert.
    verdict = next((line for line in said.splitlines() if line.startswith("monitor · ")), "")
    assert verdict.startswith(f"monitor · {MODEL} version 1 · ") and verdict.endswith(" · no alert"), said
    assert f"window      {TRAFFIC_ROWS} rows ({TRAFFIC_ROWS} labelled)" in said, said
    assert "  drift       share " in said, said
    done = json.loads((platform.folder / "scores" / "_SUCCESS").read_text())
    assert (done["rows_in"], done["rows_scored"], done["model_version"]) == (500, 500, "1"), done
    from mlflow import MlflowClient

    client = MlflowClient(platform.tracking_uri)
    experiment = client.get_experiment_by_name("scoring")
    assert experiment is not None, "no scoring experiment on the MLflow server"
    runs = client.search_runs([experiment.experiment_id])
    assert [r.data.metrics["rows_scored"] for r in runs] == [500.0]


def test_two_trainings_at_once_take_turns_to_promote(platform: Platform, story: dict[str, Any]) -> None:
    """Two `train` at the same moment against the servers: both finish; the promotion lock is the Prefect server's
    concurrency limit, so the second to promote is judged against the first's new champion, not against v1."""
    import httpx
    from mlflow import MlflowClient

    command = [sys.executable, "-m", "level3_system", "train"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "stdin": subprocess.DEVNULL, "text": True}
    runs = [subprocess.Popen(command, cwd=PROJECT_ROOT, env=platform.env, **pipes) for _ in range(2)]
    outputs = [run.communicate(timeout=400) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, f"a training failed ({run.returncode}):\n{out[-2000:]}\n{err[-3000:]}"
    client = MlflowClient(platform.tracking_uri, registry_uri=platform.tracking_uri)
    against = {str(v.version): v.tags.get("judged_against") for v in client.search_model_versions(f"name='{MODEL}'")}
    assert sorted(against) == ["1", "2", "3"], against
    first = next(v for v in ("2", "3") if against[v] == "1")
    second = "3" if first == "2" else "2"
    assert against[second] == first, f"v{second} was judged against v{against[second]}, not v{first}: {against}"
    champion = client.get_registered_model(MODEL).aliases["champion"]
    assert str(champion) == second, f"champion v{champion}, but v{second} (identical model) was promoted last"
    limit = httpx.get(f"{platform.prefect_api}/v2/concurrency_limits/promotion-{MODEL}", timeout=30)
    assert limit.status_code == 200 and limit.json()["limit"] == 1, limit.text
    assert limit.json()["active_slots"] == 0, f"a promotion still holds the lock: {limit.json()}"
