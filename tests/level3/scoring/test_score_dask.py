"""Batch scoring on Dask gives the in-process result: a local cluster of two workers, and a scheduler with two
workers started as processes of their own on 127.0.0.1 (`make score` with `scoring.scheduler_address` set).

One input for all: 30,000 customers from `make synth` in two Parquet files of row groups of 6,000 rows (five
partitions), some rows broken in known ways. Cost here: a local cluster ~5 s to start, the address cluster ~6 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scoring_support import Scored, broken_rows, cli_env, run_score, with_scoring

from level2_pipeline.project import PROJECT_ROOT

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]

PARTITION_ROWS = 6_000
# Without an address the CLI binds its HTTP server to every interface, even with --no-dashboard.
LOOPBACK_HTTP = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]


@pytest.fixture(scope="module")
def dask_settings(champion: Any) -> Any:
    return with_scoring(champion.settings, partition_rows=PARTITION_ROWS, log_rows_up_to=0, workers=2)


@pytest.fixture(scope="module")
def synth_input(dask_settings: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[Any, str]]:
    from level3_system.scoring.synth import synthesize

    folder = tmp_path_factory.mktemp("dask_input")
    drawn = synthesize(dask_settings, 30_000, folder / "synth").folder
    frame = pd.concat([pd.read_parquet(p) for p in sorted(drawn.glob("*.parquet"))], ignore_index=True)
    broken, expected = broken_rows(frame)
    broken = broken.astype({"tenure": str, "monthly_charges": str})  # one Arrow type per column in every file
    target = folder / "input"
    target.mkdir()
    for number, half in enumerate(np.array_split(np.arange(len(broken)), 2)):
        table = pa.Table.from_pandas(broken.iloc[half], preserve_index=False)
        pq.write_table(table, target / f"part-{number}.parquet", row_group_size=PARTITION_ROWS)
    return target, expected


@pytest.fixture(scope="module")
def in_process(dask_settings: Any, synth_input: tuple[Path, dict[Any, str]], tmp_path_factory: Any) -> Scored:
    run = run_score(dask_settings, synth_input[0], tmp_path_factory.mktemp("in_process") / "out")
    assert run.completed, run.summary
    return run


def _same_result(dask_run: Scored, reference: Scored, expected: dict[Any, str]) -> None:
    assert dask_run.completed, f"the Dask run failed: {dask_run.summary}"
    assert dask_run.summary.engine == "dask"
    done = dask_run.success()
    assert (done["rows_in"], done["rows_rejected"]) == (30_000, len(expected)), done
    ours = dask_run.predictions().set_index("customer_id").sort_index()
    theirs = reference.predictions().set_index("customer_id").sort_index()
    assert ours.index.equals(theirs.index), "Dask scored other customers than the in-process path"
    gap = np.abs(ours["churn_probability"].to_numpy() - theirs["churn_probability"].to_numpy()).max()
    assert gap == 0.0, f"Dask's probabilities differ from the in-process ones by up to {gap:.2e}"
    assert (ours["churn"] == theirs["churn"]).all() and set(ours["model_version"]) == {"1"}
    rejects = dask_run.rejects()
    assert sorted(rejects["customer_id"]) == sorted(expected)
    for customer, says in expected.items():
        assert says in rejects.loc[rejects["customer_id"] == customer, "reason"].item()
    assert len(list((dask_run.output / "predictions").glob("*.parquet"))) >= 5, "fewer partitions than row groups"


def test_a_local_cluster_of_two_workers_scores_as_the_in_process_path(
    dask_settings: Any, synth_input: tuple[Path, dict[Any, str]], in_process: Scored, tmp_path: Path
) -> None:
    run = run_score(dask_settings, synth_input[0], tmp_path / "out", use_dask=True)
    _same_result(run, in_process, synth_input[1])


@pytest.fixture(scope="module")
def loopback_cluster(tmp_path_factory: pytest.TempPathFactory, dask_settings: Any) -> Iterator[str]:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1 with this project importable, as a real
    cluster's would be; stopped at the end of the module."""
    folder = tmp_path_factory.mktemp("dask_cluster")
    env = {**cli_env(dask_settings), "DASK_DATAFRAME__CONVERT_STRING": "False"}
    dask = str(Path(sys.executable).parent / "dask")
    log = (folder / "cluster.log").open("wb")
    common: dict[str, Any] = {"cwd": PROJECT_ROOT, "env": env, "stdout": log, "stderr": log}
    scheduler_file = folder / "scheduler.json"
    scheduler = [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", *LOOPBACK_HTTP, "--scheduler-file"]
    processes = [subprocess.Popen([*scheduler, str(scheduler_file)], **common)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):
            worker = [dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", *LOOPBACK_HTTP]
            processes.append(subprocess.Popen(worker, **common))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def test_make_score_with_a_scheduler_address_scores_on_that_cluster(
    dask_settings: Any,
    synth_input: tuple[Path, dict[Any, str]],
    in_process: Scored,
    loopback_cluster: str,
    tmp_path: Path,
) -> None:
    from distributed import Client
    from scoring_support import score_command

    from level3_system.scoring.flow import ScoreSummary

    # Given a cluster at an address, and an input above the in-process threshold, as `make score` sees them
    env = cli_env(dask_settings, CHURN_SCORING__SCHEDULER_ADDRESS=loopback_cluster,
                  CHURN_SCORING__PARTITION_ROWS=str(PARTITION_ROWS), CHURN_SCORING__LOG_ROWS_UP_TO="0",
                  CHURN_SCORING__IN_PROCESS_BELOW_ROWS="10000")  # fmt: skip
    out = tmp_path / "out"
    # When the command runs
    process = score_command(str(synth_input[0]), str(out), env=env)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, f"make score failed on the address cluster:\n{stderr[-3000:]}"
    assert "· dask ·" in stdout, stdout
    # Then the tasks ran on that cluster's scheduler, and the output is the in-process one
    with Client(loopback_cluster, timeout=30) as client:
        prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert any("score" in prefix for prefix in prefixes), f"no scoring task reached the scheduler: {prefixes}"
    success = json.loads((out / "_SUCCESS").read_text())
    summary = ScoreSummary(out, success, success["engine"])
    _same_result(Scored(state=_Completed(), summary=summary, output=out), in_process, synth_input[1])


class _Completed:
    def is_completed(self) -> bool:
        return True


def test_a_worker_killed_mid_run_costs_time_not_rows(dask_settings: Any, tmp_path: Path) -> None:
    """SIGKILL to a local worker while partitions are being written: Dask reruns its tasks elsewhere (the nanny
    restarts it); each task writes its own part file, so a rerun replaces, never duplicates."""
    import os
    import signal
    import threading

    import psutil

    from level3_system.scoring.synth import synthesize

    rows = 240_000
    source = synthesize(dask_settings, rows, tmp_path / "big").folder  # row groups of 6,000: 40 partitions
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(run=run_score(dask_settings, source, tmp_path / "out",
                                                                          use_dask=True)))  # fmt: skip
    runner.start()
    killed = None
    deadline = time.monotonic() + 180
    while killed is None and time.monotonic() < deadline and runner.is_alive():
        if len(list(tmp_path.glob(".out.tmp-*/predictions/*.parquet"))) >= 2:
            workers = [p for p in me.children(recursive=True) if p.pid not in before and _is_spawned_worker(p)]
            if workers:
                killed = workers[0].pid
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    runner.join(timeout=300)
    assert killed is not None, "the run ended before a worker could be killed (make the input larger)"
    run = result["run"]
    assert run.completed, f"the run did not survive a lost worker: {run.summary}"
    predictions = run.predictions()
    assert len(predictions) == rows and predictions["customer_id"].is_unique, "rows lost or scored twice"
    assert run.success()["rows_in"] == rows


def _is_spawned_worker(process: Any) -> bool:
    try:
        return "spawn_main" in " ".join(process.cmdline())
    except Exception:  # gone meanwhile
        return False
