"""`make compare`: run every level and print one side-by-side table.

Why: the levels train the same model, so the table should show identical metrics and make visible, at a glance,
what each step up costs (wall time, code, tests) and what it buys (capabilities). Nothing in it is declared by
hand: levels are found by their directory name, metrics are read from the files each level writes, and a
capability gets its ✓ only when the level's code imports the tool that provides it. A `level3_system/` with
code and a `make level3` target joins the table without an edit here.

The same table is written to `data/08_reporting/comparison.md`. `--no-run` uses the metrics already on disk
(no runs, no timing): quick, and what the tests use.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from level2_pipeline.project import PROJECT_ROOT
from tools.levels import Level, count_code_lines, count_tests, discover_levels, imported_modules, level1_differences

CONTRACT_KEYS = (
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
REPORT = Path("data/08_reporting/comparison.md")

# A capability is shown by importing the tool that provides it (top-level module names).
CAPABILITIES: dict[str, set[str]] = {
    "config outside code": {"kedro", "omegaconf"},  # reads conf/ (OmegaConfigLoader, bootstrap_project)
    "data validation": {"great_expectations"},
    "experiment tracking": {"mlflow"},
    "orchestration": {"prefect"},
    "serving": {"fastapi"},
}


@dataclass(frozen=True)
class RunResult:
    ok: bool
    seconds: float


def run_level(level: Level, root: Path = PROJECT_ROOT) -> RunResult:
    """Run `make -s level<N>` from the repository root, streaming its output, and time it end to end."""
    print(f"== {level.name}: make -s {level.name}", flush=True)
    started = time.perf_counter()
    with subprocess.Popen(
        ["make", "--no-print-directory", "-s", level.name],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(f"   {level.name} | {line.rstrip()}", flush=True)
    seconds = time.perf_counter() - started
    ok = proc.returncode == 0
    print(f"== {level.name}: {'ok' if ok else f'FAILED (exit {proc.returncode})'} in {seconds:.1f} s", flush=True)
    return RunResult(ok, seconds)


def read_metrics(level: Level, root: Path = PROJECT_ROOT) -> dict[str, Any] | None:
    """The level's metrics.json (the cross-level contract), or None when it is missing or unreadable."""
    path = root / "data" / "08_reporting" / level.name / "metrics.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def decision_rows(levels: list[Level], metrics: dict[str, dict[str, Any] | None], root: Path) -> list[list[str]]:
    """Who gets a retention offer at each level, and what it earns on the same holdout (conf's economics): levels
    1 and 2 act on their label (p ≥ the metrics threshold), level 3 on the threshold it chose in money
    (decision.json). The same model, two decisions."""
    from level3_system.decision.policy import Economics, value_per_1000
    from level3_system.settings import load_settings

    economics = Economics.of(load_settings().decision)
    cells: dict[str, list[str]] = {"threshold": [], "offers": [], "value": [], "offer_all": []}
    for level in levels:
        decision = _read_json(root / "data" / "08_reporting" / level.name / "decision.json")
        threshold = (decision or {}).get("threshold", (metrics.get(level.name) or {}).get("threshold"))
        try:
            held = pd.read_csv(root / "data" / "07_model_output" / level.name / "test_predictions.csv")
        except (OSError, ValueError):
            held = None
        if threshold is None or held is None or not {"y_true", "churn_probability"} <= set(held.columns):
            for row in cells.values():
                row.append("–")
            continue
        offered = held["churn_probability"].to_numpy() >= threshold
        y = held["y_true"].to_numpy()
        how = "money" if decision else "label"
        cells["threshold"].append(f"{threshold:.2f} ({how})")
        cells["offers"].append(f"{offered.mean() * 1000:.0f}")
        cells["value"].append(f"{value_per_1000(y, offered, economics):,.0f}")
        cells["offer_all"].append(f"{value_per_1000(y, offered | True, economics):,.0f}")
    return [
        ["offer at p ≥⁶", *cells["threshold"]],
        ["offers per 1,000⁶", *cells["offers"]],
        ["net value per 1,000⁶", *cells["value"]],
        ["offer-all per 1,000⁶", *cells["offer_all"]],
    ]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def detect_capabilities(level: Level, levels: Iterable[Level] = ()) -> dict[str, bool]:
    """Which capabilities the level's code has, from its imports; importing another level's package inherits its
    imports, because composing level 2 (not copying it) is how a higher level gets what level 2 has."""
    packages = {lv.path.name: lv for lv in levels}
    modules: set[str] = set()
    pending, seen = [level], set()
    while pending:
        current = pending.pop()
        seen.add(current.path.name)
        imports = imported_modules(current.python_files())
        modules |= imports
        pending += [packages[name] for name in imports & packages.keys() if name not in seen]
    return {name: bool(modules & tools) for name, tools in CAPABILITIES.items()}


def format_value(value: Any) -> str:
    """4 decimals for floats, ints as ints: enough to see that levels agree without drowning the table."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–" if value is None else str(value)
    return str(value) if isinstance(value, int) else f"{value:.4f}"


def metrics_agreement(metrics: dict[str, dict[str, Any]]) -> str:
    """One line: are the levels' metrics identical? (the max absolute difference over every metric key)."""
    if len(metrics) < 2:
        return "Metrics identical across levels: n/a (fewer than two levels have metrics)."
    keys = sorted(set().union(*metrics.values()))
    missing = [
        f"{key} not in {', '.join(name for name, m in metrics.items() if key not in m)}"
        for key in keys
        if any(key not in m for m in metrics.values())
    ]
    worst, worst_key = 0.0, ""
    for key in keys:
        values = [float(m[key]) for m in metrics.values() if isinstance(m.get(key), int | float)]
        spread = max(values) - min(values) if values else 0.0
        if spread > worst or math.isnan(spread):
            worst, worst_key = spread, key
    where = f" on {worst_key}" if worst_key else ""
    verdict = "yes" if worst == 0 and not missing else "no"
    line = (
        f"Metrics identical across levels: **{verdict}** (max abs difference {worst:.3g}{where} over {len(keys)} keys"
    )
    return line + (f"; missing: {', '.join(missing)})." if missing else ").")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """An aligned markdown table: the first column left, the level columns right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [cells[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(["-" * (widths[0] + 2), *("-" * (w + 1) + ":" for w in widths[1:])]) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _wall(run: RunResult | None) -> str:
    if run is None:
        return "–"
    return f"{run.seconds:.1f} s" if run.ok else f"failed ({run.seconds:.1f} s)"


def build_report(
    levels: list[Level],
    metrics: dict[str, dict[str, Any] | None],
    runs: dict[str, RunResult],
    root: Path = PROJECT_ROOT,
    level1_differs: list[str] | None = None,
) -> str:
    """The table, the agreement line and the footnotes saying how each row is measured."""
    keys = [*CONTRACT_KEYS, *sorted(set().union(*(m or {} for m in metrics.values())) - set(CONTRACT_KEYS))]
    failed = {name for name, run in runs.items() if not run.ok}
    rows: list[list[str]] = []
    for key in keys:
        cells = []
        for level in levels:
            found = metrics.get(level.name)
            cells.append(
                "failed" if level.name in failed else "missing" if found is None else format_value(found.get(key))
            )
        rows.append([key, *cells])
    rows += decision_rows(levels, metrics, root)
    rows.append(["wall time¹", *(_wall(runs.get(lv.name)) for lv in levels)])
    rows.append(["lines of code²", *(str(count_code_lines(lv.python_files())) for lv in levels)])
    rows.append(["tests³", *(str(count_tests(root / "tests" / lv.name)) for lv in levels)])
    capabilities = [detect_capabilities(lv, levels) for lv in levels]
    for name in CAPABILITIES:
        rows.append([f"{name}⁴", *("✓" if caps[name] else "–" for caps in capabilities)])
    header = ["", *(f"{lv.name} ({lv.path.name})" for lv in levels)]
    good = {name: m for name, m in metrics.items() if m is not None and name not in failed}
    notes = [
        "¹ `make -s level<N>` end to end (environment and data checks included), one run; `make bench` gives medians."
        + ("" if runs else " Not measured: `--no-run`."),
        "² Python files under the level's directory, without blank lines, comments and docstrings.",
        "³ Test functions under `tests/level<N>/`, counted statically; a parametrized test counts once.",
        "⁴ Detected from the level's imports (ast), not declared: kedro/omegaconf (reads conf/), great_expectations, "
        "mlflow, prefect, fastapi; importing another level's package inherits that level's imports.",
        "⁶ Retention offers on the holdout under conf's `level3.decision` economics, net of their cost, against "
        "offering to no one: levels 1–2 offer to the customers they label churners (p ≥ their metrics threshold); "
        "level 3 at the threshold it chose on out-of-fold training rows (decision.json). Offer-all: everyone.",
    ]
    if level1_differs:
        notes.append(
            "⁵ Level 1 hard-codes its parameters and cannot see conf/ (that is its lesson); here conf/ says otherwise, "
            "so level 1 trains another model and the metrics may differ: " + "; ".join(level1_differs) + "."
        )
    agreement = metrics_agreement(good) + (" See ⁵." if level1_differs else "")
    return "\n".join([markdown_table(header, rows), "", agreement, "", *notes]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true", help="use the metrics on disk; do not run or time the levels")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    levels = discover_levels(root)
    if not levels:
        print("no runnable level found (level<N>_* directories with code and a `make level<N>` target)")
        return 1
    runs = {} if args.no_run else {level.name: run_level(level, root) for level in levels}
    metrics = {level.name: read_metrics(level, root) for level in levels}
    report = build_report(levels, metrics, runs, root, level1_differences())
    out = root / REPORT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print()
    print(report)
    print(f"(written to {REPORT})")
    failed = [name for name, run in runs.items() if not run.ok]
    missing = [name for name, m in metrics.items() if m is None and name not in failed]
    if failed or missing:
        print(f"compare: failed: {', '.join(failed) or '-'}; no metrics.json: {', '.join(missing) or '-'}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
