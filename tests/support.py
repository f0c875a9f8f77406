"""Helpers and documented facts shared by the test modules (pytest puts tests/ on sys.path for its conftest)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from level2_pipeline.project import PROJECT_ROOT, QUIET_ENVIRONMENT

LEVEL1_SCRIPT = PROJECT_ROOT / "level1_code" / "train.py"
CONF_BASE = PROJECT_ROOT / "conf" / "base"
RAW_RELATIVE = Path("01_raw") / "telco_churn.csv"

# design.md, metrics contract: every level's metrics.json has at least these keys.
METRICS_CONTRACT = (
    "roc_auc",
    "pr_auc",
    "f1",
    "precision",
    "recall",
    "accuracy",
    "brier",
    "threshold",
    "n_train",
    "n_test",
)
# Documented facts (design.md): the source has 7,043 rows; the baseline's holdout ROC AUC is 0.842.
RAW_ROWS = 7043
MIN_ROC_AUC = 0.84

# The levels that train on the raw file, by the name of the session fixture (conftest.py) that runs each one end
# to end. The first is the reference the others must match (test_parity.py).
LEVEL_RUN_FIXTURES = ["level1_run", "level2_run", "level3_run"]


# Telemetry off, as the Makefile sets it (the project's one set of switches, level2_pipeline/project.py).
QUIET_ENV = dict(QUIET_ENVIRONMENT)


@dataclass(frozen=True)
class LevelRun:
    """Where one level's end-to-end run left its outputs."""

    name: str
    data_root: Path
    metrics_path: Path
    predictions_path: Path
    model_path: Path
    log: str = ""

    def _require(self, path: Path) -> Path:
        assert path.exists(), f"{self.name} did not write {path}; its output:\n{self.log}"
        return path

    def metrics(self) -> dict[str, Any]:
        return json.loads(self._require(self.metrics_path).read_text())

    def predictions(self) -> pd.DataFrame:
        return pd.read_csv(self._require(self.predictions_path))


def run_python(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the environment's Python (the one running pytest) with `args` from `cwd`, telemetry off."""
    env = {**os.environ, **QUIET_ENV, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def run_level1(workdir: Path, script: Path = LEVEL1_SCRIPT) -> subprocess.CompletedProcess[str]:
    """Level 1 reads and writes relative to its working directory: `workdir/data/01_raw/telco_churn.csv`."""
    return run_python([str(script)], cwd=workdir)


def stderr_lines(completed: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in completed.stderr.splitlines() if line.strip()]


def place_raw(raw_csv: Path, data_root: Path) -> Path:
    """Copy the raw file into `data_root` (a data/ folder laid out as the catalog expects); return the copy."""
    target = data_root / RAW_RELATIVE
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(raw_csv, target)
    return target


def write_raw(frame: pd.DataFrame, data_root: Path) -> Path:
    """Write `frame` as the raw file of `data_root`; return its path."""
    target = data_root / RAW_RELATIVE
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False)
    return target


@contextlib.contextmanager
def conf_environment(files: dict[str, str]) -> Iterator[str]:
    """A Kedro configuration environment of its own, `conf/pytest-<id>/`, holding `files` (name -> YAML text).

    What a user does with conf/local, in a folder no developer uses; removed afterwards (and gitignored).
    """
    name = f"pytest-{uuid.uuid4().hex[:8]}"
    folder = PROJECT_ROOT / "conf" / name
    folder.mkdir()
    try:
        for file_name, text in files.items():
            (folder / file_name).write_text(text, encoding="utf-8")
        yield name
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def tree_snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes: to check that a failed command changed nothing stored."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
