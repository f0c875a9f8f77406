"""Helpers of the batch-scoring tests: run the `score` flow (in this process or on Dask), read its output back,
and inputs with rows that break the contract in known ways.

The flow runs on the session's Prefect test server; on Dask, its graph goes to the cluster of the task runner the
command uses (`scoring.engine.task_runner`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from level2_pipeline.project import PROJECT_ROOT
from level3_system.settings import Level3Settings

OUTPUT_COLUMNS = ["churn_probability", "churn", "offer", "expected_value", "model_version", "scored_at"]
SUCCESS_KEYS = {
    *("rows_in", "rows_scored", "rows_rejected", "model_name", "model_version", "seconds"),
    *("offer_threshold", "offers", "expected_value", "budget"),
}


@dataclass(frozen=True)
class Scored:
    state: Any
    summary: Any  # ScoreSummary, or the message of a failed run
    output: Path

    @property
    def completed(self) -> bool:
        return bool(self.state.is_completed())

    def success(self) -> dict[str, Any]:
        return json.loads((self.output / "_SUCCESS").read_text())

    def predictions(self) -> pd.DataFrame:
        return _read_folder(self.output / "predictions")

    def rejects(self) -> pd.DataFrame:
        return _read_folder(self.output / "rejects")


def _read_folder(folder: Path) -> pd.DataFrame:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def with_scoring(settings: Level3Settings, **scoring: Any) -> Level3Settings:
    return settings.model_copy(update={"scoring": settings.scoring.model_copy(update=scoring)})


def run_score(
    settings: Level3Settings,
    input_spec: str | Path,
    output: Path,
    *,
    use_dask: bool = False,
    version: str | None = None,
    alias: str | None = None,
    budget: int | None = None,
) -> Scored:
    """The `score` flow as `make score` runs it (a Dask task runner when `use_dask`); never raises on failure."""
    from level3_system.scoring import engine
    from level3_system.scoring.flow import score
    from level3_system.scoring.inputs import find_inputs

    flow = score.with_options(task_runner=engine.task_runner(settings)) if use_dask else score
    state = flow(
        inputs=find_inputs(str(input_spec)),
        output=str(output),
        settings=settings,
        version=version,
        alias=alias,
        use_dask=use_dask,
        budget=budget,
        return_state=True,
    )
    # A failed run's summary is its message (the one line the command prints).
    return Scored(state, state.result(raise_on_failure=False) if state.is_completed() else state.message, output)


def customers_without_target(raw: pd.DataFrame, target: str = "churn") -> pd.DataFrame:
    return raw.drop(columns=[target])


def broken_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[Any, str]]:
    """`frame` with one row per way a row breaks the contract; the broken ids and the text their reason must hold."""
    frame = frame.copy()
    frame["tenure"] = frame["tenure"].astype(object)
    frame["monthly_charges"] = frame["monthly_charges"].astype(object)
    ids = frame["customer_id"].tolist()
    expected: dict[Any, str] = {}

    def breaking(position: int, column: str, value: Any, says: str) -> None:
        frame.loc[frame.index[position], column] = value
        expected[ids[position]] = says

    breaking(3, "contract", "Three year", "contract: not one of the contract's values")
    breaking(10, "tenure", -5, "tenure: outside")
    breaking(17, "monthly_charges", "lots", "monthly_charges: not a number")
    breaking(25, "internet_service", None, "internet_service: missing")
    breaking(31, "tenure", 2.5, "tenure: not an integer")
    return frame, expected


def cli_env(settings: Level3Settings, **variables: str) -> dict[str, str]:
    """A subprocess's environment for `python -m level3_system` on these settings' stores (nothing inherited)."""
    from prefect.settings import get_current_settings

    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "MLFLOW_", "PREFECT_API"))}
    env = {
        **inherited,
        "CHURN_TRACKING_URI": settings.resolved_tracking_uri,
        "CHURN_DATA_DIR": str(settings.data_root),
        "PYTHONUNBUFFERED": "1",
        **variables,
    }
    api = get_current_settings().api.url
    if api:
        env["PREFECT_API_URL"] = str(api)  # the session's test server (else the command starts one of its own)
    return env


def score_command(*args: str, env: dict[str, str], **popen: Any) -> subprocess.Popen[str]:
    """`python -m level3_system score ARGS` started (stdout and stderr piped unless `popen` says otherwise)."""
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    return subprocess.Popen(
        [sys.executable, "-m", "level3_system", "score", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        text=True,
        **options,
    )
