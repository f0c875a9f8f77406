"""`make demo-loop`: the loop, closed, in a few minutes on one laptop, with a timeline of what happened when.

It starts the platform (`platform.py`: Prefect server, the deployments' runner, the service following the
champion), then: baseline traffic with outcomes → the monitor (no alert, no training) → a shifted population →
the monitor alerts (its realized ROC AUC dropped, or a second drifted window: the hysteresis of conf/) → its
event triggers the `train` deployment (after the quiet period) → the decision, with its reasons → the service
answers with the new version
when it was promoted. Then it stops everything it started. The demo's traffic goes to a prediction log and a
reports folder of its own (`data/09_monitoring/demo_log.sqlite`, `<reports>/demo/`), so that earlier traffic
and earlier monitor runs play no part; the registry and the Prefect server are the project's.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from level2_pipeline.errors import UserFacingError
from level3_system.settings import Level3Settings, load_settings

SHIFT = "fibre_month_to_month"
WINDOW_ROWS = 1000


@dataclass
class Timeline:
    started: float = field(default_factory=time.monotonic)
    steps: list[tuple[float, str]] = field(default_factory=list)

    def mark(self, what: str) -> float:
        at = time.monotonic() - self.started
        self.steps.append((at, what))
        print(f"[{at:6.1f} s] {what}", flush=True)
        return at


def demo_environment(settings: Level3Settings) -> dict[str, str]:
    """What the demo changes, for itself and the platform it starts: its own log and reports, one burst per window."""
    log = settings.data_root / "09_monitoring" / "demo_log.sqlite"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    return {
        "CHURN_PREDICTION_LOG__URL": f"sqlite:///{log.as_posix()}",
        "CHURN_REPORTS_DIR": str(settings.reports / "demo"),
        "CHURN_MONITORING__WINDOW_ROWS": str(WINDOW_ROWS),
        "CHURN_TRAFFIC__REQUESTS": str(WINDOW_ROWS),
        "CHURN_TRAFFIC__RATE": "150",
        "CHURN_TRAFFIC__FEEDBACK_DELAY_SECONDS": "1",
        "CHURN_CONTINUOUS_TRAINING__QUIET_PERIOD_SECONDS": "15",
    }


def _wait(what: str, ready: Any, timeout: float, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = ready()
        if found:
            return found
        time.sleep(every)
    raise UserFacingError(f"demo: {what} did not happen within {timeout:.0f} s (see .prefect/platform-*.log)")


def _drift_training(since: float) -> Any:
    """The newest drift-triggered training run created after `since` (epoch seconds), when finished."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_="train-drift-")),
            sort=FlowRunSort.START_TIME_DESC,
            limit=5,
        )
    runs = [r for r in runs if r.created and r.created.timestamp() >= since]
    return runs[0] if runs else None


def _served_version(settings: Level3Settings) -> str | None:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{settings.serving.port}/model", timeout=5).json().get("version")
    except (httpx.HTTPError, ValueError):
        return None


def run_demo(settings: Level3Settings, timeline: Timeline) -> None:
    import pandas as pd

    from level2_pipeline import ingestion
    from level3_system.lifecycle import registry
    from level3_system.monitoring.flow import monitor
    from level3_system.monitoring.traffic import replay

    def traffic(scenario: str, seed: int) -> None:
        result = replay(settings, frame, config.contract, settings.traffic.scenarios[scenario], seed)
        timeline.mark(f"traffic {scenario}: {result.sent} customers, {result.outcomes_recorded} outcomes recorded")

    def monitor_once() -> dict[str, Any]:
        result = monitor(settings=settings).result
        verdict = "ALERT" if result["alert"] else "no alert"
        drifted = ", ".join(result["drifted_features"][:4]) or "no feature"
        timeline.mark(f"monitor: {verdict} (drift share {result['drift_share']:.2f}: {drifted})")
        return result

    config = ingestion.load_config(settings.kedro_env, settings.data_root)
    frame = pd.read_csv(config.target).rename(columns=config.params.rename)
    before = _wait("the service", lambda: _served_version(settings), timeout=120)
    timeline.mark(f"service ready on version {before}")
    traffic("baseline", 1)
    monitor_once()
    for seed in (2, 3):  # a window of a shifted population, and another if the rule asks for two in a row
        traffic(SHIFT, seed)
        alerted = time.time()
        if monitor_once()["alert"]:
            break
    else:
        raise UserFacingError("demo: the shifted traffic raised no alert (see the monitor's reasons above)")
    started = _wait("the drift-triggered training", lambda: _drift_training(alerted - 5), timeout=120)
    timeline.mark(f"training run {started.name} created by the alert (after the quiet period)")
    finished = _wait(
        "the training's end", lambda: (r := _drift_training(alerted - 5)) and r.state and r.state.is_final() and r, 300
    )
    timeline.mark(f"training run {finished.name}: {finished.state.name}")
    versions = registry.client(settings).search_model_versions(f"name='{settings.registered_model}'")
    newest = max(versions, key=lambda v: int(v.version))
    decision = (newest.tags or {}).get("promotion", "no decision recorded")
    timeline.mark(
        f"version {newest.version} (trigger {registry.run_record(settings, newest.run_id)[1].get('trigger')})"
    )
    print("      decision: " + decision.replace("; ", "\n                "), flush=True)
    if decision.startswith("promoted"):
        _wait(f"the service on version {newest.version}", lambda: _served_version(settings) == str(newest.version), 60)
        timeline.mark(f"the service answers with version {newest.version} (was {before})")
    else:
        timeline.mark(f"the service keeps version {_served_version(settings)}: the new version was not promoted")


def demo_loop(settings: Level3Settings) -> int:
    from level3_system.operations.platform import Platform, check_ports
    from level3_system.runtime.orchestration import running_platform

    if running_platform(settings) is not None:
        raise UserFacingError("stop `make platform` first: the demo starts a platform of its own")
    from level3_system.operations import bootstrap

    bootstrap.raw_data(settings)
    os.environ.update(demo_environment(settings))
    settings = load_settings()
    check_ports(settings)
    timeline = Timeline()
    running = Platform(settings)
    try:
        running.start()
        os.environ["PREFECT_API_URL"] = running.urls["Prefect API"]
        timeline.mark(f"platform up: Prefect UI {running.urls.get('Prefect UI', '-')}")
        # A fresh clone has no champion to watch: the first one is trained in the platform (its run in its UI)
        if bootstrap.champion(settings, tell=timeline.mark):
            timeline.mark("first champion registered: the service loads it")
        run_demo(settings, timeline)
    finally:
        running.stop()
    timeline.mark("platform stopped")
    print("\ntimeline (seconds since start)")
    for at, what in timeline.steps:
        print(f"  {at:6.1f}  {what}")
    return 0
