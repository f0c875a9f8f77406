"""The loop on a real Prefect server: the deployments as `make platform` serves them, driven by real alerts.

A temporary `prefect server start` (ephemeral mode runs no scheduler) and
`python -m level3_system.operations.deployments` with a registry, a prediction log and reports of their own (a
registered model name of its own, so no other alert reaches it). The quiet period is 10 s (Prefect's minimum for a
proactive trigger); the runner polls every second. Generous timeouts: the server starts in ~15 s here, a
triggered training takes ~20 s.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from level3_support import Store, log_and_register, make_settings
from log_support import fill_log
from servers import Server, free_port, http_ok, start, wait_until
from support import PROJECT_ROOT, QUIET_ENV, environment_without

from level3_system.lifecycle import registry
from level3_system.monitoring.traffic import draw
from level3_system.settings import ContinuousTrainingSettings, PredictionLogSettings, load_settings

pytestmark = pytest.mark.slow
MODEL = "loop-churn"
QUIET = 10
TRAINING_TIMEOUT = 150


def _clean_env() -> dict[str, str]:
    return environment_without("CHURN_", "MLFLOW_", "PREFECT_") | QUIET_ENV


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("prefect_real")
    port = free_port()
    env = {**_clean_env(), "PREFECT_HOME": str(folder), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    server = start("prefect-server", [*command, "--no-ui", "--analytics-off"], env, folder)
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_until(server, http_ok(f"{api}/health"), timeout=120, what="healthy API")
        yield api
    finally:
        server.stop()


@dataclass
class Loop:
    settings: Any
    api: str
    runner: Server
    env: dict[str, str]

    def first_alert(self) -> datetime | None:
        """When the server received its first alert (a test's, or the monitor's), from its own event store."""
        body = {"filter": {"event": {"name": [self.settings.continuous_training.event]}}, "limit": 50}
        with self.client() as client:
            events = client.post("/events/filter", json=body).json()["events"]
        return min((datetime.fromisoformat(e["occurred"]) for e in events), default=None)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, timeout=30)

    def flow_runs(self, prefix: str) -> list[dict[str, Any]]:
        body = {"flow_runs": {"name": {"like_": prefix}}, "sort": "EXPECTED_START_TIME_DESC", "limit": 50}
        with self.client() as client:
            return client.post("/flow_runs/filter", json=body).json()

    def versions(self) -> list[str]:
        found = registry.client(self.settings).search_model_versions(f"name='{MODEL}'")
        return sorted((str(v.version) for v in found), key=int)

    def post_alert(self, resource: str = f"churn.model.{MODEL}", **payload: Any) -> None:
        event = {
            "id": str(uuid.uuid4()),
            "occurred": datetime.now(UTC).isoformat(),
            "event": self.settings.continuous_training.event,
            "resource": {"prefect.resource.id": resource},
            "payload": {"model_version": "1", "drift_share": 0.5, "reasons": ["test"], **payload},
        }
        with self.client() as client:
            assert client.post("/events", json=[event]).status_code == 204

    def finished_training(self, known: set[str], timeout: float = TRAINING_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = [r for r in self.flow_runs("train-drift-%") if r["id"] not in known]
            if new and new[0]["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                return new[0]
            time.sleep(1)
        raise AssertionError(f"no drift-triggered training finished within {timeout:.0f} s:\n{self.runner.tail()}")


@pytest.fixture(scope="module")
def loop(
    prefect_api: str,
    champion_outcome: Any,
    new_store: Callable[[str], Store],
    new_data_root: Callable[[str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Loop]:
    folder = tmp_path_factory.mktemp("loop")
    store = new_store("loop")
    settings = make_settings(new_data_root("loop"), store).model_copy(
        update={
            "registered_model": MODEL,
            "experiment": MODEL,
            "prediction_log": PredictionLogSettings(url=f"sqlite:///{(folder / 'log.sqlite').as_posix()}"),
            "reports_dir": folder / "reports",
            "continuous_training": ContinuousTrainingSettings(
                quiet_period_seconds=QUIET, monitor_interval_seconds=7200
            ),
        }
    )
    log_and_register(settings, champion_outcome)
    env = {
        **_clean_env(),
        "PREFECT_API_URL": prefect_api,
        "PREFECT_HOME": str(folder / "prefect"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "CHURN_REGISTERED_MODEL": MODEL,
        "CHURN_EXPERIMENT": MODEL,
        "CHURN_TRACKING_URI": store.tracking_uri,
        "CHURN_ARTIFACT_LOCATION": store.artifact_location,
        "CHURN_DATA_DIR": str(settings.data_root),
        "CHURN_PREDICTION_LOG__URL": str(settings.prediction_log.url),
        "CHURN_REPORTS_DIR": str(settings.reports),
        "CHURN_CONTINUOUS_TRAINING__QUIET_PERIOD_SECONDS": str(QUIET),
        "CHURN_CONTINUOUS_TRAINING__MONITOR_INTERVAL_SECONDS": "7200",
        "CHURN_RETRIES": "0",
    }
    runner = start("deployments", [sys.executable, "-m", "level3_system.operations.deployments"], env, folder)
    running = Loop(settings, prefect_api, runner, env)
    try:
        registered = lambda: all(_deployment(running, name) for name in ("train/train", "monitor/monitor"))  # noqa: E731
        wait_until(runner, registered, 120, "deployments registered")
        yield running
    finally:
        runner.stop()


def _deployment(loop: Loop, name: str) -> dict[str, Any] | None:
    with loop.client() as client:
        found = client.get(f"/deployments/name/{name}")
    return found.json() if found.status_code == 200 else None


def test_the_schedule_and_the_interval_are_the_configured_ones(loop: Loop) -> None:
    train, monitor = _deployment(loop, "train/train"), _deployment(loop, "monitor/monitor")
    conf = load_settings().continuous_training

    assert [s["schedule"].get("cron") for s in train["schedules"]] == [conf.cron]
    assert [s["parameters"] for s in train["schedules"]] == [{"trigger": "schedule"}]
    assert [s["schedule"].get("interval") for s in monitor["schedules"]] == [7200.0]
    assert train["global_concurrency_limit"]["limit"] == 1, "two trainings could race to move champion"


def test_a_monitor_alert_starts_a_training_that_says_why(loop: Loop, raw_frame: pd.DataFrame) -> None:
    known = {r["id"] for r in loop.flow_runs("train-%")}
    before = loop.versions()
    # Given the served version's traffic shifted (real customers, re-weighted), with their outcomes
    shifted = draw(raw_frame, load_settings().traffic.scenarios["price_rise"], 800, 21)
    champion = registry.load_model(loop.settings, "1")
    fill_log(loop.settings, shifted, champion, load_settings_contract())
    # When `make monitor` runs against the server (one drifted window is enough here)
    env = {**loop.env, "CHURN_MONITORING__CONSECUTIVE_WINDOWS": "1", "CHURN_MONITORING__MIN_ROWS": "300"}
    monitored = subprocess.run(
        [sys.executable, "-m", "level3_system", "monitor"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert monitored.returncode == 0 and "ALERT" in monitored.stdout, monitored.stdout[-1500:] + monitored.stderr
    # Then its alert starts one training, tagged with why it ran, and a decision is recorded
    run = loop.finished_training(known)
    assert run["state"]["type"] == "COMPLETED", f"{run['state']}\n{loop.runner.tail()}"
    new = [v for v in loop.versions() if v not in before]
    assert len(new) == 1, f"versions before {before}, after {loop.versions()}"
    version = registry.client(loop.settings).get_model_version(MODEL, new[0])
    tags = registry.run_record(loop.settings, version.run_id)[1]
    # the monitoring run that raised the alert (this command's, or the interval deployment's if it alerted too)
    monitoring = registry.client(loop.settings).get_run(tags["monitoring_run_id"])
    experiment = registry.client(loop.settings).get_experiment(monitoring.info.experiment_id)
    assert tags["trigger"] == "drift" and experiment.name == loop.settings.monitoring.experiment, tags
    assert int(tags["feedback.rows"]) == 800, "the training did not learn from the outcomes that arrived"
    assert version.tags.get("promotion"), "no decision recorded on the version"
    assert (version.tags.get("trigger"), version.tags.get("monitoring_run_id")) == ("drift", tags["monitoring_run_id"])


def load_settings_contract() -> Any:
    from level2_pipeline.config import load_contract

    return load_contract()


def test_a_burst_of_alerts_starts_one_training(loop: Loop) -> None:
    known = {r["id"] for r in loop.flow_runs("train-%")}
    for _ in range(3):
        loop.post_alert()
        time.sleep(1)
    loop.post_alert(resource="churn.model.another-model")  # another model's alert is not ours

    run = loop.finished_training(known)
    assert run["state"]["type"] == "COMPLETED", f"the burst's training ended {run['state']}:\n{loop.runner.tail(40)}"
    # A training takes longer than the quiet period: a second one from the same burst would exist by now.
    new = [r for r in loop.flow_runs("train-%") if r["id"] not in known]
    assert len(new) == 1, f"{len(new)} trainings for one burst of alerts: {[r['name'] for r in new]}"


def test_a_training_whose_feedback_breaks_the_contract_registers_nothing(loop: Loop, raw_frame: pd.DataFrame) -> None:
    known = {r["id"] for r in loop.flow_runs("train-%")}
    before, champion = loop.versions(), registry.champion(loop.settings).version
    broken = raw_frame.sample(400, random_state=5).copy()
    broken["monthly_charges"] = -10.0  # a feed gone wrong: every row outside the contract
    fill_log(loop.settings, broken, registry.load_model(loop.settings, str(champion)), load_settings_contract())

    loop.post_alert()
    run = loop.finished_training(known)

    assert run["state"]["type"] == "FAILED", run["state"]
    assert "break the data contract" in (run["state"].get("message") or "") + loop.runner.tail(80)
    assert loop.versions() == before, "a version was registered from a feed that breaks the contract"
    assert registry.champion(loop.settings).version == champion


def test_nothing_ran_unasked_before_the_first_alert(loop: Loop) -> None:
    """Last in the module, so that the tests before it have already spent the waiting: a drift-triggered run can
    only follow an alert, and a trigger that fires with none would do so within one quiet period of its creation
    (with the training deployment, whose creation time the server keeps)."""
    needed = timedelta(seconds=QUIET + 3)
    started = datetime.fromisoformat(_deployment(loop, "train/train")["created"])
    first_alert = loop.first_alert()
    if first_alert is None:  # run on its own: wait out the quiet period, the one absence with no event to await
        time.sleep(max(0.0, (started + needed - datetime.now(UTC)).total_seconds()))
    window_end = first_alert or datetime.now(UTC)
    assert window_end - started >= needed, f"only {window_end - started} before the first alert"
    unasked = [r["name"] for r in loop.flow_runs("train-drift-%") if datetime.fromisoformat(r["created"]) < window_end]
    assert unasked == [], f"trainings ran with no alert: {unasked}"
