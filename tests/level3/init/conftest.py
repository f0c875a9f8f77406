"""`make init` writes into the project's conf/ (the loaders read only there): each test gets a name of its own,
`conf/pytest-init-<id>/` (gitignored as conf/pytest-*), removed afterwards; its raw copy goes to a tmp data root."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from level2_pipeline.config import CONF_ROOT
from level3_system.settings import Level3Settings


def _new_name() -> str:
    return f"pytest-init-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def env_name() -> Iterator[str]:
    name = _new_name()
    yield name
    shutil.rmtree(CONF_ROOT / name, ignore_errors=True)


@pytest.fixture(scope="module")
def module_env_name() -> Iterator[str]:
    name = _new_name()
    yield name
    shutil.rmtree(CONF_ROOT / name, ignore_errors=True)


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
