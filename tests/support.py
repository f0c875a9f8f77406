"""Helpers and documented facts shared by the test modules (pytest puts tests/ on sys.path for its conftest)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from level2_pipeline.config import CONF_ROOT_VARIABLE, conf_root
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


# What tests and benchmarks leave in the project's conf/ (gitignored): never copied into a test's own root.
_SCRATCH_ENVIRONMENTS = ("pytest-*", "bench-*", "_init-*")


@contextlib.contextmanager
def own_conf_root(parent: Path) -> Iterator[Path]:
    """A configuration root of its own under `parent`: a copy of the one in use (the project's conf/, or the root
    an enclosing block set), named by CHURN_CONF_ROOT until the block ends, for this process and the commands it
    starts. What a test writes there (an environment, `make init`'s output) no other test, worker or developer
    reads; the repository's conf/ is never written."""
    source = conf_root()
    root = parent / "conf"
    scratch = shutil.ignore_patterns(*_SCRATCH_ENVIRONMENTS) if source == PROJECT_ROOT / "conf" else None
    shutil.copytree(source, root, ignore=scratch)
    previous = os.environ.get(CONF_ROOT_VARIABLE)
    os.environ[CONF_ROOT_VARIABLE] = str(root)
    try:
        yield root
    finally:
        if previous is None:
            os.environ.pop(CONF_ROOT_VARIABLE, None)
        else:
            os.environ[CONF_ROOT_VARIABLE] = previous


def environment_without(*prefixes: str) -> dict[str, str]:
    """This process's variables but those starting with `prefixes` (the machine's CHURN_*, MLFLOW_*, PREFECT_*), for
    a command that must see only what the test sets; the test's configuration root is kept."""
    return {k: v for k, v in os.environ.items() if k == CONF_ROOT_VARIABLE or not k.startswith(prefixes)}


@contextlib.contextmanager
def conf_environment(files: dict[str, str]) -> Iterator[str]:
    """A Kedro configuration environment of its own, `pytest-<id>/` in the test's configuration root, holding
    `files` (name -> YAML text): what a user does with conf/local."""
    name = f"pytest-{uuid.uuid4().hex[:8]}"
    folder = conf_root() / name
    folder.mkdir()
    try:
        for file_name, text in files.items():
            (folder / file_name).write_text(text, encoding="utf-8")
        yield name
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def eventually(condition: Callable[[], bool], what: str, timeout: float = 60, interval: float = 0.05) -> None:
    """Wait on a condition itself, with a deadline (never a fixed sleep): fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s")
        time.sleep(interval)


def tree_snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes: to check that a failed command changed nothing stored."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
