"""Tracebacks go to a file, the terminal gets the message: an expected failure (a data or contract error, a server
that is down) reads as one line, and the full trace is still there for whoever needs it.

Prefect prints a task's and a flow's exception with its traceback on the console; its console handler is replaced,
through Prefect's own logging override (`PREFECT_LOGGING_HANDLERS_CONSOLE_CLASS`, set by `apply_environment`), by
`terminal.TerminalHandler`, which writes each record carrying a traceback to `<data>/logs/level3.log` and
prints the record without it. The command's last line names the file (`details()`).
"""

from __future__ import annotations

import logging
import os
import traceback
from datetime import UTC, datetime
from pathlib import Path

TRACE_LOG_VARIABLE = "LEVEL3_TRACE_LOG"  # set by settings.apply_environment; read here and by subprocesses
_written: list[Path] = []


def trace_log_path(data_root: Path) -> Path:
    return data_root / "logs" / "level3.log"


def write_trace(record: logging.LogRecord) -> Path | None:
    """Append the record with its traceback to the trace log; the file, or None when none is configured."""
    target = os.environ.get(TRACE_LOG_VARIABLE)
    if not target:
        return None
    path = Path(target)
    error = record.exc_info
    trace = "".join(traceback.format_exception(*error)) if error and error[0] else (record.exc_text or "")
    when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(f"{when} pid {os.getpid()} {record.levelname} {record.name}: {record.getMessage()}\n{trace}\n")
    except OSError:
        return None
    if path not in _written:
        _written.append(path)
    return path


def details() -> str:
    """` (traceback: <file>)` when this process wrote one, for the command's one-line error; else ``."""
    if not _written:
        return ""
    from level2_pipeline.project import shown

    return f" (traceback in {shown(_written[-1])})"
