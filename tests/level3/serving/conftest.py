"""Serving fixtures: one champion in a private registry, and apps built on it, without Prefect.

Cost here (2 cores): an MLflow SQLite store needs ~9 s of schema migrations when first created, so one empty
store is migrated per session and every store the tests need starts as a copy of it. Level 2's pipelines take
~3 s, logging a run ~2 s (~10 s for the first: ONNX export and plotting import).

Nothing here reads or writes the project's `data/`, `.mlflow/` or `.prefect/`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from serving_support import (
    Registered,
    customer_bodies,
    log_and_register,
    make_settings,
    quiet_tools,
    registry_follows_tracking,
    store_uri,
    train,
)
from support import place_raw

from level2_pipeline.contract import DataContract
from level3_system.settings import Level3Settings
from level3_system.training.compose import TrainingOutcome


@pytest.fixture(autouse=True)
def _registry_follows_tracking() -> Iterator[None]:
    with registry_follows_tracking():
        yield


@pytest.fixture(scope="session")
def blank_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow store (tracking + registry tables): copied, never used in place."""
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("mlflow_blank")
    MlflowClient(store_uri(root)).search_experiments()  # creates and migrates the schema
    return root / "mlflow.db"


@pytest.fixture(scope="session")
def new_serving_store(tmp_path_factory: pytest.TempPathFactory, blank_mlflow_db: Path) -> Callable[[str], Path]:
    """A fresh, empty MLflow store: a folder holding a copy of the blank database (artifacts go beside it)."""

    def make(name: str) -> Path:
        root = tmp_path_factory.mktemp(f"serving_store_{name}")
        shutil.copyfile(blank_mlflow_db, root / "mlflow.db")
        return root

    return make


@pytest.fixture(scope="session")
def new_serving_data(tmp_path_factory: pytest.TempPathFactory, raw_csv: Path) -> Callable[[str], Path]:
    """A fresh data root holding the real raw file (01_raw/telco_churn.csv)."""

    def make(name: str) -> Path:
        root = tmp_path_factory.mktemp(f"serving_data_{name}")
        place_raw(raw_csv, root)
        return root

    return make


@dataclass(frozen=True)
class Champion:
    settings: Level3Settings
    outcome: TrainingOutcome
    registered: Registered

    @property
    def contract(self) -> DataContract:
        assert self.outcome.contract is not None
        return self.outcome.contract


@pytest.fixture(scope="session")
def champion_outcome(
    new_serving_data: Callable[[str], Path], new_serving_store: Callable[[str], Path]
) -> TrainingOutcome:
    """The default model, trained once by level 2's pipelines (the holdout is the design's 1,409 rows)."""
    settings = make_settings(new_serving_data("champion"), new_serving_store("training_only"))
    quiet_tools(settings)
    return train(settings)


@pytest.fixture(scope="session")
def champion(champion_outcome: TrainingOutcome, new_serving_store: Callable[[str], Path]) -> Champion:
    """A private registry whose `@champion` is version 1, the default model, logged and promoted as the flow does."""
    settings = make_settings(champion_outcome.raw_path.parents[1], new_serving_store("champion"))
    with registry_follows_tracking():
        registered = log_and_register(settings, champion_outcome)
    assert registered.version == "1", f"a fresh registry gave version {registered.version}, not 1"
    assert registered.decision.promote, f"the default model was not promoted: {registered.decision.text}"
    return Champion(settings=settings, outcome=champion_outcome, registered=registered)


@pytest.fixture(scope="session")
def serving_app(champion: Champion) -> Any:
    from level3_system.serving.app import create_app

    return create_app(champion.settings)


@pytest.fixture(scope="session")
def client(serving_app: Any) -> Iterator[Any]:
    """The default app on the champion, lifespan run (model loaded); shared: its metrics accumulate."""
    from fastapi.testclient import TestClient

    with registry_follows_tracking(), TestClient(serving_app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def example_customer(serving_app: Any) -> dict[str, Any]:
    """The customer the OpenAPI schema shows (conf/base/data_contract.yml's examples)."""
    return dict(serving_app.openapi()["components"]["schemas"]["Customer"]["examples"][0])


@pytest.fixture(scope="session")
def holdout(champion: Champion) -> pd.DataFrame:
    """X_test from level 2's catalog: the 1,409 holdout rows, id column included (read, never change)."""
    return champion.outcome.x_test


@pytest.fixture(scope="session")
def holdout_bodies(champion: Champion, holdout: pd.DataFrame) -> list[dict[str, Any]]:
    return customer_bodies(holdout, champion.contract)


@pytest.fixture
def serve() -> Iterator[Callable[[Level3Settings], Any]]:
    """Start an app of its own for given settings (lifespan run); closed when the test ends."""
    from fastapi.testclient import TestClient

    from level3_system.serving.app import create_app

    with ExitStack() as stack:

        def start(settings: Level3Settings) -> Any:
            return stack.enter_context(TestClient(create_app(settings)))

        yield start
