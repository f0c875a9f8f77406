"""`make init` writes into the configuration root (the test's own, tests/conftest.py), an environment named
`pytest-init-<id>`; its raw copy goes to a tmp data root. A module's shared `make init` run writes into a root of
the module's own, which each of its tests then copies."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import own_conf_root

from level3_system.settings import Level3Settings


def _new_name() -> str:
    return f"pytest-init-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def env_name() -> str:
    return _new_name()


@pytest.fixture(scope="module")
def module_env_name(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Set up before any test's own root (a higher scope), so every test of the module copies what it wrote."""
    with own_conf_root(tmp_path_factory.mktemp("module-conf-root")):
        yield _new_name()


@pytest.fixture
def settings(tmp_path: Path) -> Level3Settings:
    """Only the data root matters to init: the raw copy goes to <data_root>/01_raw/<env>.csv."""
    return Level3Settings(data_dir=tmp_path / "data")


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    def write(frame, name: str = "input.csv") -> Path:
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    return write
