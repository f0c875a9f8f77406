"""`python -m level3_system` (level3_system.cli): what a user types and reads.

One subprocess only (a fresh interpreter pays ~8 s of imports); the rest calls the CLI's functions in-process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from corruptions import by_name
from support import RAW_RELATIVE, environment_without

from level3_system import cli
from level3_system.training.command import format_summary


@pytest.mark.slow
def test_validate_refuses_a_corrupted_file_and_names_the_check(raw_frame: pd.DataFrame, tmp_path: Path) -> None:
    (corruption,) = by_name("unknown_category")
    data_root = tmp_path / "data"
    corruption.write(raw_frame, data_root / RAW_RELATIVE)
    env = environment_without("CHURN_", "MLFLOW_", "PREFECT_")
    env.update(
        {
            "CHURN_DATA_DIR": str(data_root),
            # A tracking URI of its own: with the embedded default, settings would create the project's .mlflow/.
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "CHURN_PREFECT_HOME": str(tmp_path / "prefect"),
            "DO_NOT_TRACK": "true",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "KEDRO_DISABLE_TELEMETRY": "1",
            "GIT_OPTIONAL_LOCKS": "0",
        }
    )

    completed = subprocess.run(
        [sys.executable, "-m", "level3_system", "validate"],
        cwd=tmp_path,  # any working directory
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    output = f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    assert completed.returncode == 1, f"validate should exit 1 on refused data, got {completed.returncode}\n{output}"
    assert "— FAILED" in completed.stdout, output
    assert corruption.failure in completed.stdout, f"the failed expectation is not named\n{output}"
    assert (data_root / "08_reporting" / "level3" / "data_docs" / "index.html").is_file(), "no data docs written"
    assert not (data_root / "05_model_input").exists(), "validate went on to build the model input table"


def test_invalid_settings_exit_2_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHURN_PROMOTION__MIN_AUC", "0.9")
    monkeypatch.setattr(cli, "_configure_logging", lambda command: None)  # leave this process's logging alone

    code = cli.main(["validate"])

    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error == "level 3: invalid settings: CHURN_PROMOTION__MIN_AUC: unknown key (a typo? check the spelling)"


def test_summary_of_a_stopped_run_lists_the_failures() -> None:
    summary = SimpleNamespace(
        flow_run="calm-otter",
        seconds=2.5,
        status="stopped",
        validation=[
            {
                "gate": "raw",
                "success": False,
                "evaluated": 87,
                "failures": ["ExpectColumnValuesToBeInSet(contract): 3 unexpected"],
                "data_docs": None,
            }
        ],
    )

    text = format_summary(summary)

    assert "raw          86/87 expectations FAILED" in text, text
    assert "- ExpectColumnValuesToBeInSet(contract): 3 unexpected" in text
    assert "registry was not touched" in text


def test_tracebacks_go_to_the_trace_log_and_the_terminal_gets_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console handler Prefect is given (settings.apply_environment) prints an exception's message only and
    appends its traceback to the trace log, which the command's last line then names."""
    import io
    import logging

    from level3_system.runtime import tracelog
    from level3_system.runtime.terminal import TerminalHandler

    log = tmp_path / "logs" / "level3.log"
    monkeypatch.setenv(tracelog.TRACE_LOG_VARIABLE, str(log))
    monkeypatch.setattr(tracelog, "_written", [])
    terminal = io.StringIO()
    handler = TerminalHandler(stream=terminal)
    logger = logging.getLogger("test.tracelog")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("raw data is missing required column(s): tenure")
        except ValueError:
            logger.exception("Task run failed with exception")
    finally:
        logger.removeHandler(handler)

    shown = terminal.getvalue()
    assert "Task run failed with exception" in shown and "Traceback" not in shown, shown
    written = log.read_text()
    assert "Traceback (most recent call last)" in written and "missing required column(s): tenure" in written
    assert tracelog.details() == f" (traceback in {log})"


def test_apply_environment_gives_prefect_the_terminal_handler(tmp_path: Path) -> None:
    code = (
        "from level3_system.settings import load_settings, apply_environment; apply_environment(load_settings()); "
        "import logging, prefect.main; print(type(logging.getLogger().handlers[0]).__name__)"
    )
    env = environment_without("CHURN_", "PREFECT_LOGGING", "LEVEL3_")
    env["CHURN_DATA_DIR"], env["MLFLOW_TRACKING_URI"] = str(tmp_path), f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.stdout.strip() == "TerminalHandler", done.stderr[-2000:]
