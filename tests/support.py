"""Helpers and documented facts shared by the test modules (pytest puts tests/ on sys.path for its conftest)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
LEVEL1_SCRIPT = REPO_ROOT / "level1_code" / "train.py"
CONF_BASE = REPO_ROOT / "conf" / "base"
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


# Telemetry off, as the Makefile sets it. Every KedroSession runs `git status` in the repository to describe the
# run; without optional locks it does not take .git/index.lock, so a test run never breaks a concurrent commit.
QUIET_ENV = {"DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1", "GIT_OPTIONAL_LOCKS": "0"}


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


def run_level1(workdir: Path) -> subprocess.CompletedProcess[str]:
    """Level 1 reads and writes relative to its working directory: `workdir/data/01_raw/telco_churn.csv`."""
    return run_python([str(LEVEL1_SCRIPT)], cwd=workdir)


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
