"""Level-3 fixtures: private MLflow stores, one Prefect test server per session, flow runs shared by tests.

Nothing here touches the project's `data/`, `.mlflow/` or `.prefect/`: every flow runs on a temporary data
root and a temporary MLflow store, against Prefect's test server. The server starts once per session and only
when a test needs a flow (`run_flow`); the contract, gate, rule and settings tests never start it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Prefect reads its settings when first imported, so they are set before any test module imports
# level3_system.flows: a throw-away home (never the project's .prefect/), telemetry off, and time for the
# test server to start on a slow machine. pytest's tmp_path_factory does not exist yet at import time; the
# folder is removed when the session's process exits, as prefect_test_harness does with its database.
_PREFECT_HOME = tempfile.mkdtemp(prefix="churn-level3-prefect-")
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
os.environ.update(
    {
        "PREFECT_HOME": _PREFECT_HOME,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "DO_NOT_TRACK": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "GX_ANALYTICS_ENABLED": "false",
    }
)

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from level3_support import FlowRun, Store, make_settings  # noqa: E402
from support import CONF_BASE, RAW_RELATIVE, place_raw  # noqa: E402

from level2_pipeline.contract import DataContract  # noqa: E402
from level2_pipeline.params import CleanParams  # noqa: E402
from level2_pipeline.pipelines.data_processing.nodes import build_features, clean  # noqa: E402
from level3_system.settings import Level3Settings  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def mlflow_uri_restored() -> Iterator[None]:
    """`mlflow.set_tracking_uri` also exports MLFLOW_TRACKING_URI: put the variable back after the session."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


# --- data --------------------------------------------------------------------------------------------------


def conf_base(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONF_BASE / name).read_text())


@pytest.fixture(scope="session")
def contract() -> DataContract:
    """The contract of conf/base (not conf/local): what the project ships."""
    return DataContract.model_validate(conf_base("data_contract.yml")["data_contract"])


@pytest.fixture(scope="session")
def model_input_table(raw_frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """Level 2's model input table of the real raw file, built by its node functions (no Kedro session)."""
    rules = CleanParams.model_validate(conf_base("parameters_data_processing.yml")["clean"])
    return build_features(clean(raw_frame, contract, rules), contract)


@pytest.fixture(scope="session")
def new_data_root(tmp_path_factory: pytest.TempPathFactory, raw_csv: Path) -> Callable[[str], Path]:
    """A fresh data root holding a copy of the real raw file (01_raw/telco_churn.csv)."""

    def make(name: str) -> Path:
        root = tmp_path_factory.mktemp(f"data_{name}")
        place_raw(raw_csv, root)
        assert (root / RAW_RELATIVE).exists()
        return root

    return make


# --- MLflow and Prefect --------------------------------------------------------------------------------------


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
    from level3_system.flows import train

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
