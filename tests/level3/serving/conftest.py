"""Serving fixtures: apps built on the champion of tests/level3/conftest.py, without Prefect.

Nothing here reads or writes the project's `data/`, `.mlflow/` or `.prefect/`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pandas as pd
import pytest
from serving_support import customer_bodies

from level3_system.settings import Level3Settings


@pytest.fixture(scope="session")
def serving_app(champion: Any) -> Any:
    from level3_system.serving.app import create_app

    return create_app(champion.settings)


@pytest.fixture(scope="session")
def client(serving_app: Any) -> Iterator[Any]:
    """The default app on the champion, lifespan run (model loaded); shared: its metrics accumulate."""
    from fastapi.testclient import TestClient

    with TestClient(serving_app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def example_customer(serving_app: Any) -> dict[str, Any]:
    """The customer the OpenAPI schema shows (conf/base/data_contract.yml's examples)."""
    return dict(serving_app.openapi()["components"]["schemas"]["Customer"]["examples"][0])


@pytest.fixture(scope="session")
def holdout(champion: Any) -> pd.DataFrame:
    """X_test from level 2's catalog: the 1,409 holdout rows, id column included (read, never change)."""
    return champion.outcome.x_test


@pytest.fixture(scope="session")
def holdout_bodies(champion: Any, holdout: pd.DataFrame) -> list[dict[str, Any]]:
    return customer_bodies(holdout, champion.contract)


@pytest.fixture
def serve() -> Iterator[Callable[..., Any]]:
    """Start an app of its own for given settings (lifespan run); closed when the test ends. Keyword arguments go
    to `create_app` (e.g. `from_conf`, what today's conf/ would say)."""
    from fastapi.testclient import TestClient

    from level3_system.serving.app import create_app

    with ExitStack() as stack:

        def start(settings: Level3Settings, **options: Any) -> Any:
            return stack.enter_context(TestClient(create_app(settings, **options)))

        yield start
