"""`make score` and `make synth` as a user runs them: one line for every mistake, nothing stored changed, a killed
run that never looks complete; and `make synth`'s data, deterministic and inside the contract.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from scoring_support import cli_env, customers_without_target, run_score, score_command, with_scoring
from support import tree_snapshot

from level2_pipeline.project import PROJECT_ROOT

pytestmark = pytest.mark.usefixtures("prefect_server")
_PREFECT_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} \| ")


def _one_line(completed: subprocess.CompletedProcess[str] | tuple[int, str], says: str) -> None:
    code, stderr = (completed.returncode, completed.stderr) if not isinstance(completed, tuple) else completed
    # Prefect's progress lines (`HH:MM:SS.mmm | LEVEL | ...`) may precede it; the mistake itself is one line.
    lines = [line for line in stderr.splitlines() if line.strip() and not _PREFECT_LINE.match(line)]
    assert code != 0, f"exit 0 for a mistake; stderr: {stderr}"
    assert len(lines) == 1 and says in lines[0], f"not one line saying {says!r}:\n{stderr}"


_EACH = """
import contextlib, io, json, sys
from level3_system.cli import main
results = []
for args in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["score", *args])
    results.append([code, err.getvalue()])
print("RESULTS " + json.dumps(results))
"""


def _run_each(cases: list[list[str]], env: dict[str, str]) -> list[tuple[int, str]]:
    """`python -m level3_system score ARGS` for each case, in one process: (exit code, what it printed on stderr)."""
    command = [sys.executable, "-c", _EACH, json.dumps(cases)]
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, check=False)  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULTS ")]
    assert done.returncode == 0 and lines, f"the cases did not run:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return [(code, stderr) for code, stderr in json.loads(lines[-1].removeprefix("RESULTS "))]


@pytest.fixture(scope="module")
def few_customers(raw_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("score_cli") / "few.csv"
    customers_without_target(raw_frame).head(40).to_csv(path, index=False)
    return path


def test_mistakes_are_one_line_and_change_nothing(champion: Any, few_customers: Path, tmp_path: Path) -> None:
    env = cli_env(champion.settings)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    before = tree_snapshot(tmp_path)
    no_column = tmp_path / "no_tenure.csv"
    pd.read_csv(few_customers).drop(columns=["tenure"]).to_csv(no_column, index=False)
    (tmp_path / "notes.txt").write_text("not a table")
    cases = [
        ((), "give INPUT=... OUTPUT=..."),
        ((str(tmp_path / "nowhere.csv"), str(tmp_path / "out")), "no such file or folder"),
        ((str(tmp_path / "notes.txt"), str(tmp_path / "out")), "give CSV or Parquet files"),
        ((str(few_customers), str(foreign)), "is not a scoring output"),
        ((str(few_customers), str(tmp_path / "out"), "--alias", "nobody"), "alias"),
        ((str(few_customers), str(tmp_path / "out"), "--version", "99"), "version 99"),
        ((str(no_column), str(tmp_path / "out")), "missing required column(s): tenure"),
        ((str(few_customers), str(tmp_path / "out"), "--budget", "ten"), "BUDGET must be a whole number"),
    ]
    # One interpreter for all eight (each would pay ~5 s of imports), as `make score` calls the same main().
    for (_, says), outcome in zip(cases, _run_each([list(args) for args, _ in cases], env=env), strict=True):
        _one_line(outcome, says)
    after = tree_snapshot(tmp_path)
    after.pop("no_tenure.csv"), after.pop("notes.txt")
    assert after == before, "a refused command changed files"


def test_a_killed_run_leaves_the_previous_output_whole(champion: Any, raw_frame: pd.DataFrame, tmp_path: Path) -> None:
    # Given a complete output of a first run, and an input large enough to kill the second run mid-way
    customers = customers_without_target(raw_frame)
    big = pd.concat([customers] * 20, ignore_index=True).assign(customer_id=lambda f: range(1, len(f) + 1))
    source = tmp_path / "big.parquet"
    big.to_parquet(source, row_group_size=2_000)  # 71 partitions of 2,000 rows
    settings = with_scoring(champion.settings, partition_rows=2_000, log_rows_up_to=0)
    env = cli_env(settings, CHURN_SCORING__PARTITION_ROWS="2000", CHURN_SCORING__LOG_ROWS_UP_TO="0",
                  CHURN_SCORING__IN_PROCESS_BELOW_ROWS="100000000")  # fmt: skip
    out = tmp_path / "out"
    assert run_score(settings, source, out).completed  # the flow in this process: what the command runs
    success = (out / "_SUCCESS").read_text()
    previous = tree_snapshot(out)
    # When a rerun is killed (SIGKILL: no handler runs) once it has written some partitions
    log = (tmp_path / "killed.log").open("w")
    second = score_command(str(source), str(out), env=env, start_new_session=True, stdout=log, stderr=log)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and second.poll() is None:
        if len(list(tmp_path.glob(".out.tmp-*/predictions/*.parquet"))) >= 3:
            break
        time.sleep(0.05)
    assert second.poll() is None, f"the rerun ended before it could be killed: {(tmp_path / 'killed.log').read_text()}"
    os.killpg(second.pid, signal.SIGKILL)
    second.wait(timeout=30)
    log.close()
    # Then OUTPUT is still the first run's, whole; what the killed run wrote is hidden and has no _SUCCESS
    assert (out / "_SUCCESS").read_text() == success and tree_snapshot(out) == previous
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    assert leftovers and all(not (p / "_SUCCESS").exists() for p in leftovers), leftovers
    # And the next run completes and replaces it
    assert run_score(settings, source, out).completed
    assert json.loads((out / "_SUCCESS").read_text())["rows_in"] == len(big)


def test_synth_is_deterministic_unique_and_inside_the_contract(champion: Any, tmp_path: Path) -> None:
    from level3_system.scoring.synth import synthesize
    from level3_system.validation.rows import contract_checks, row_reasons

    settings = with_scoring(champion.settings, partition_rows=5_000)
    first = synthesize(settings, 25_000, tmp_path / "a", seed=7)
    again = synthesize(settings, 25_000, tmp_path / "b", seed=7)
    other = synthesize(settings, 25_000, tmp_path / "c", seed=8)

    def frame(folder: Path) -> pd.DataFrame:
        return pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))], ignore_index=True)

    a, b, c = frame(first.folder), frame(again.folder), frame(other.folder)
    assert a.equals(b), "the same seed drew different data"
    assert not a.drop(columns="customer_id").equals(c.drop(columns="customer_id")), "another seed drew the same"
    assert len(a) == 25_000 and a["customer_id"].is_unique
    contract = champion.contract
    assert list(a.columns) == list(pd.read_csv(champion.outcome.raw_path, nrows=0).columns)
    reasons = row_reasons(a, contract_checks(contract, with_target=True))
    assert (reasons == "").all(), reasons[reasons != ""].value_counts().head()
    import pyarrow.parquet as pq

    groups = [pq.ParquetFile(p).metadata.row_group(0).num_rows for p in first.folder.glob("*.parquet")]
    assert groups == [5_000], f"row groups of {groups}, not scoring.partition_rows"
    # Perturbed, not copied: most charges differ from every real one
    real = set(pd.read_csv(champion.outcome.raw_path)["monthly_charges"].round(2))
    assert a["monthly_charges"].isin(real).mean() < 0.5


def test_make_synth_refuses_bad_arguments_in_one_line(champion: Any, tmp_path: Path) -> None:
    env = cli_env(champion.settings)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    for args, says in (
        (["-5", str(tmp_path / "x")], "ROWS must be a positive whole number"),
        (["ten", str(tmp_path / "x")], "ROWS must be a positive whole number"),
        (["100", str(tmp_path / "mine")], "is not a synth output"),
    ):
        completed = subprocess.run([sys.executable, "-m", "level3_system", "synth", *args], cwd=PROJECT_ROOT, env=env,
                                   capture_output=True, text=True, timeout=120)  # fmt: skip
        _one_line(completed, says)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me" and not (tmp_path / "x").exists()
