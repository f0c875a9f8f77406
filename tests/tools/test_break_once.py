"""tools/break_once.py stays runnable: every case still names a line its file holds once, and a test that exists."""

from __future__ import annotations

from support import PROJECT_ROOT

from tools.break_once import CASES


def test_every_case_breaks_a_line_that_is_there_once_and_runs_a_test_that_exists() -> None:
    for case in CASES:
        source = (PROJECT_ROOT / case.file).read_text(encoding="utf-8")
        assert source.count(case.line) == 1, f"{case.behaviour}: the line to break is not in {case.file} once"
        assert case.broken != case.line
        test_file, test_name = case.test.split("::")
        assert f"def {test_name}(" in (PROJECT_ROOT / test_file).read_text(encoding="utf-8"), case.test
