"""`make bench`'s level-3 breakdown draws the right conclusion from its figures (the probe itself trains: bench)."""

from __future__ import annotations

from benchmarks.level3_breakdown import report

PIECES = [
    ["settings, configuration check", 0.6],
    ["import great_expectations", 2.6],
    ["import prefect", 1.3],
    ["waiting for the server after the imports", 0.0],
    ["the flow run's creation, before its first task", 0.9],
    ["task validate_raw", 2.0],
    ["task track", 3.4],
    ["after the last task: the flow run's end", 0.3],
]


def test_a_server_that_answered_during_the_imports_is_called_hidden() -> None:
    found = {"pieces": PIECES, "completed": True, "server_answered": 3.5, "imports_done": 3.9, "total": 11.1}

    text = report(found, level3_median=14.0, level1_median=3.5)

    assert "0.40 s before the imports ended" in text and "would save no wall time" in text, text
    assert "Imports 3.90 s + flow 6.60 s" in text and "(overhead +10.50 s)" in text, text


def test_a_server_that_answered_late_names_the_wait_a_reused_one_saves() -> None:
    found = {"pieces": PIECES, "completed": True, "server_answered": 5.0, "imports_done": 3.9, "total": 12.2}

    text = report(found, level3_median=15.0, level1_median=3.5)

    assert "1.10 s after the imports ended" in text and "reused server" in text, text
    assert "hidden" not in text, text


def test_a_flow_run_that_failed_is_said_so() -> None:
    found = {"pieces": PIECES, "completed": False, "server_answered": None, "imports_done": 3.9, "total": 11.1}

    text = report(found, level3_median=None, level1_median=None)

    assert "did not complete" in text and "No temporary server" in text, text
