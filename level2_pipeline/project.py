"""The project's root and its quiet environment: one definition for every level, tool and test.

Importing this module changes nothing. Entry points (the CLIs, the service's app factory, the test session) call
`apply_quiet_environment()` once, before the tools are imported; the Makefile exports the same switches for
everything started through make (tests/test_project.py keeps the two sets equal).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Every tool's telemetry off, progress bars off. Values are the ones each tool honours: MLflow reads
# DO_NOT_TRACK / MLFLOW_DISABLE_TELEMETRY only as "true" (not "1"); Kedro, Evidently and onnxruntime take any.
QUIET_ENVIRONMENT: Mapping[str, str] = {
    "DO_NOT_TRACK": "true",
    "KEDRO_DISABLE_TELEMETRY": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "ORT_DISABLE_TELEMETRY": "1",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # A Kedro session runs `git status` for its metadata; without this it takes .git/index.lock and can make a
    # concurrent `git commit` in the same checkout fail.
    "GIT_OPTIONAL_LOCKS": "0",
}


def apply_quiet_environment(environ: MutableMapping[str, str] | None = None) -> None:
    """Set the switches where the caller has not set them (a value chosen by hand wins)."""
    target = os.environ if environ is None else environ
    for name, value in QUIET_ENVIRONMENT.items():
        target.setdefault(name, value)


def shown(path: Path | str) -> str:
    """A path as a user reads it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
