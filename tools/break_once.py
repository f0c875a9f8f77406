"""`python -m tools.break_once [N ...]`: show that each strict check fails when the behaviour it names is broken.

A test that passes whatever the code does proves nothing. For each case below, the code is broken in one place
(one exact line replaced), the test that guards the behaviour is run, and it must fail; the code is restored
whatever happens. It works on a throw-away `git worktree` of HEAD, so the checkout it is run from is never
touched. Not part of `make test` (it runs a training per case, ~8 min in all here); run it after changing a
guarded behaviour or its test. Exit 1 when a broken case still passes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from level2_pipeline.project import PROJECT_ROOT


@dataclass(frozen=True)
class Case:
    behaviour: str
    file: str
    line: str  # replaced exactly once
    broken: str
    test: str


CASES = (
    Case(
        "the experiment recommends the fastest family within the margin of the best",
        "level3_system/experiment/measure.py",
        "    chosen = min(eligible, key=lambda r: r.one_row_ms)\n",
        "    chosen = best\n",
        "tests/level3/experiment/test_experiment.py::test_the_rule_on_known_figures",
    ),
    Case(
        "evaluate's metrics are scikit-learn's",
        "level2_pipeline/pipelines/data_science/nodes.py",
        '        "pr_auc": float(average_precision_score(y_true, probability)),\n',
        '        "pr_auc": float(average_precision_score(y_true, probability)) * 0.999,\n',
        "tests/level2/test_data_science_nodes.py::test_evaluate_returns_contract_metrics_and_predictions_per_test_row",
    ),
    Case(
        "the first training's summary names version 1",
        "level3_system/training/flow.py",
        "    summary.model_version = version\n",
        "    summary.model_version = str(int(version) + 1)\n",
        "tests/level3/training/test_train_flow.py::test_first_run_becomes_the_champion",
    ),
    Case(
        "two promotions take turns (one chain of champions)",
        "level3_system/runtime/locks.py",
        '    """Hold the registered model\'s promotion lock for the block; '
        'yields where the lock lives (for the log)."""\n',
        '    """Broken: no lock."""\n    yield "none"\n    return\n',
        "tests/level3/training/test_concurrent_training.py::test_promotions_take_turns",
    ),
    Case(
        "the SIGTERM test fails when the service never becomes ready",
        "level3_system/serving/routes/probes.py",
        '    return JSONResponse({"status": "ready", "model_version": current.version})\n',
        '    return JSONResponse({"status": "broken"}, status_code=503)\n',
        "tests/level3/serving/test_serving_prediction_log.py::test_sigterm_under_load_keeps_every_answered_request_in_the_log",
    ),
    Case(
        "a drift-triggered training must complete (a FAILED one fails the test)",
        "level3_system/training/flow.py",
        "    if trigger not in TRIGGERS:\n",
        '    if trigger == "drift":\n        raise RuntimeError("broken")\n    if trigger not in TRIGGERS:\n',
        "tests/level3/loop/test_continuous_training.py::test_a_burst_of_alerts_starts_one_training",
    ),
    Case(
        "no drift-triggered training runs before an alert",
        "level3_system/operations/deployments.py",
        '            schedules=[Cron(ct.cron, timezone="UTC", parameters={"trigger": "schedule"})],\n',
        '            schedules=[Cron(ct.cron, timezone="UTC", parameters={"trigger": "schedule"}), '
        'Interval(timedelta(seconds=5), parameters={"trigger": "drift"})],\n',
        "tests/level3/loop/test_continuous_training.py::test_nothing_ran_unasked_before_the_first_alert",
    ),
    Case(
        "the real servers' monitor says `no alert` on baseline traffic",
        "level3_system/monitoring/command.py",
        '    verdict = "ALERT" if result["alert"] else '
        '("no verdict" if result["dataset_drift"] is None else "no alert")\n',
        '    verdict = "ALERT" if not result["alert"] else "no alert"\n',
        "tests/level3/servers/test_real_servers.py::test_monitor_and_score_report_on_the_servers",
    ),
)


def _check(case: Case, tree: Path) -> tuple[bool, str]:
    path = tree / case.file
    text = path.read_text(encoding="utf-8")
    if text.count(case.line) != 1:
        return False, f"the line to break is not in {case.file} exactly once: update this case"
    path.write_text(text.replace(case.line, case.broken), encoding="utf-8")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", case.test],
            cwd=tree,
            env={**os.environ, "CHURN_TEST_REQUIRE_SERVERS": "1"},
            capture_output=True,
            text=True,
            timeout=1500,
            check=False,
        )
    finally:
        path.write_text(text, encoding="utf-8")
    errors = [line for line in done.stdout.splitlines() if line.startswith("E ")][:1]
    if done.returncode == 1:
        return True, errors[0][1:].strip()[:160] if errors else "failed"
    return False, f"pytest exit {done.returncode}: the broken behaviour was not caught"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", type=int, help="case numbers (default: all)")
    chosen = parser.parse_args(argv).cases or range(len(CASES))
    missed = 0
    with tempfile.TemporaryDirectory(prefix="break_once_") as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), "HEAD"], cwd=PROJECT_ROOT, check=True)
        try:
            for number in chosen:
                case = CASES[number]
                started = time.monotonic()
                caught, said = _check(case, tree)
                missed += not caught
                mark = "caught" if caught else "MISSED"
                print(f"[{number}] {mark}  {case.behaviour} ({time.monotonic() - started:.0f} s): {said}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=PROJECT_ROOT, check=False)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
