"""Prefect's console handler without tracebacks: each record that carries one is written whole to the trace log
(`tracelog.py`) and printed without it. Named by `PREFECT_LOGGING_HANDLERS_CONSOLE_CLASS` (a module of its own:
importing it imports Prefect, which the commands that run no flow never do)."""

from __future__ import annotations

import copy
import logging

from prefect.logging.handlers import PrefectConsoleHandler

from level3_system.runtime.tracelog import write_trace


class TerminalHandler(PrefectConsoleHandler):
    """Prefect's console handler, without tracebacks (they go to the trace log, when one is configured)."""

    def emit(self, record: logging.LogRecord) -> None:
        if (record.exc_info or record.exc_text) and write_trace(record) is not None:
            record = copy.copy(record)
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        super().emit(record)
