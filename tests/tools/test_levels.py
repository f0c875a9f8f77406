"""Level discovery and measures shared by make compare and make maturity; level 1's constants against conf/."""

from __future__ import annotations

from support import PROJECT_ROOT, conf_environment

from benchmarks.compare import build_report
from level2_pipeline.config import conf_root
from level2_pipeline.project import shown
from tools.levels import discover_levels, level1_constants, level1_differences


def test_the_three_levels_are_found_by_their_folders_and_make_targets() -> None:
    assert [(lv.number, lv.path.name) for lv in discover_levels(PROJECT_ROOT, report_skipped=False)] == [
        (1, "level1_code"),
        (2, "level2_pipeline"),
        (3, "level3_system"),
    ]


def test_level1_constants_agree_with_conf_base() -> None:
    assert level1_constants()["C"] == 1.0
    assert level1_differences("base") == [], "conf/base and level 1's constants disagree (tests/test_parity.py)"


def test_an_override_level1_cannot_see_is_named_in_the_comparison() -> None:
    with conf_environment({"parameters_data_science.yml": "model:\n  C: 0.5\n"}) as env:
        differences = level1_differences(env)
        report = build_report(discover_levels(PROJECT_ROOT, report_skipped=False), {}, {}, level1_differs=differences)

    where = shown(conf_root() / env / "parameters_data_science.yml")
    assert differences == [f"{where}: model.C = 0.5 (level 1: C = 1.0)"], differences
    assert "⁵ Level 1 hard-codes its parameters" in report and "model.C = 0.5" in report, report[-600:]
