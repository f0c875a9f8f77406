"""Two trainings at once (a schedule and a drift alert): both finish, and exactly one champion comes out of them,
judged against the champion it replaced — no promotion is lost to another (level3_system/runtime/locks.py).

Each promoted version says which champion it was judged against (its `judged_against` tag); the versions form a
chain. Without the promotion lock both read "no champion yet" and the second silently replaces the first.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from level3_support import MODEL_NAME, Store, make_settings
from support import PROJECT_ROOT, QUIET_ENV, environment_without, place_raw

from level3_system.lifecycle import registry

pytestmark = pytest.mark.slow  # processes and promotions racing: seconds each


def _tags(settings: Any) -> dict[str, dict[str, str]]:
    client = registry.client(settings)
    return {str(v.version): dict(v.tags) for v in client.search_model_versions(f"name='{MODEL_NAME}'")}


def _assert_one_chain(settings: Any) -> dict[str, dict[str, str]]:
    """Exactly one champion; every promoted version judged against the champion before it, none against the same."""
    tags = _tags(settings)
    champion = registry.champion(settings)
    assert champion is not None, "no champion after the promotions"
    against = {version: t.get("judged_against") for version, t in tags.items()}
    assert all(a is not None for a in against.values()), f"a version does not say what it was judged against: {tags}"
    assert sorted(against.values()).count("none") == 1, f"more than one version was judged with no champion: {against}"
    first = next(v for v, a in against.items() if a == "none")
    second = next(v for v in against if v != first)
    assert against[second] == first, f"v{second} was not judged against v{first}, the champion it met: {against}"
    assert "promoted to champion" in tags[first]["promotion"], f"the first judged was not promoted: {tags[first]}"
    assert f"vs champion v{first}" in tags[second]["promotion"], tags[second]["promotion"]
    promoted_last = second if "promoted to champion" in tags[second]["promotion"] else first
    assert str(champion.version) == promoted_last, f"champion is v{champion.version}, v{promoted_last} is owed it"
    return tags


def test_promotions_take_turns(
    champion_outcome: Any, second_outcome: Any, new_store: Callable[[str], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two registered versions promoted from two threads at the same moment, each judging slowly."""
    from level3_system.training import compose
    from level3_system.training.tracking import log_training_run

    settings = make_settings(champion_outcome.raw_path.parents[1], new_store("concurrent_promotions"))
    registered = []
    for outcome in (champion_outcome, second_outcome):
        tracked = log_training_run(settings, outcome, flow_run_id="test", flow_run_name="test")
        registered.append((outcome, registry.register(settings, tracked.model_uri, tracked.run_id), tracked.run_id))
    judge = compose.judge

    def slow_judge(*args: Any, **kwargs: Any) -> Any:  # a wide window between reading the champion and moving it
        decision = judge(*args, **kwargs)
        time.sleep(1.0)
        return decision

    monkeypatch.setattr(compose, "judge", slow_judge)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def promote(outcome: Any, version: str, run_id: str) -> None:
        start.wait(timeout=60)
        try:
            compose.promote_version(settings, outcome, version, run_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=promote, args=r) for r in registered]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    _assert_one_chain(settings)


def test_two_trainings_started_at_once_both_finish(raw_csv: Path, tmp_path: Path) -> None:
    """`python -m level3_system train`, twice at the same moment, on one data folder and one embedded store."""
    data = tmp_path / "data"
    place_raw(raw_csv, data)
    env = environment_without("CHURN_", "MLFLOW_", "PREFECT_")
    env.update(QUIET_ENV)
    store = Store(tmp_path / "store")
    env["CHURN_DATA_DIR"], env["CHURN_PREFECT_HOME"] = str(data), str(tmp_path / "prefect")
    env["MLFLOW_TRACKING_URI"], env["CHURN_ARTIFACT_LOCATION"] = store.tracking_uri, store.artifact_location
    command = [sys.executable, "-m", "level3_system", "train"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "stdin": subprocess.DEVNULL, "text": True}
    runs = [subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, **pipes) for _ in range(2)]
    outputs = [run.communicate(timeout=400) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, f"a training failed ({run.returncode}):\n{out[-2000:]}\n{err[-3000:]}"
    settings = make_settings(data, store)
    tags = _assert_one_chain(settings)
    assert sorted(tags) == ["1", "2"], f"expected two versions, one per training: {sorted(tags)}"


_OPEN_AT = """
import pathlib, sys, time
from level3_system.lifecycle import registry
from level3_system.settings import Level3Settings

settings = Level3Settings(tracking_uri=sys.argv[1])
gate = pathlib.Path(sys.argv[2])
(gate / sys.argv[3]).touch()
while len(list(gate.iterdir())) < 4:  # every process past its imports, then all open at once
    time.sleep(0.001)
print(len(registry.client(settings).search_experiments()))
"""


def test_processes_opening_a_new_store_at_once_all_open_it(tmp_path: Path) -> None:
    """MLflow creates an embedded store's tables on first connection, unlocked; without `locks.store_lock` nearly
    every start of four processes on a new database fails ("table … already exists"), measured 5 of 5 rounds."""
    uri = f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"
    env = environment_without("CHURN_", "MLFLOW_", "PREFECT_") | QUIET_ENV
    gate = tmp_path / "ready"
    gate.mkdir()
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "stdin": subprocess.DEVNULL, "text": True}
    runs = [
        subprocess.Popen([sys.executable, "-c", _OPEN_AT, uri, str(gate), str(n)], cwd=PROJECT_ROOT, env=env, **pipes)
        for n in range(4)
    ]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, f"a process failed to open the new store:\n{err[-2000:]}"
        assert out.strip() == "1", f"expected the one Default experiment, got {out!r}"
