"""`python -m benchmarks.bench_scoring` (`make bench-scoring`): batch scoring at 1 M and 10 M rows, four ways.

Why: `make score` exists to score a whole customer base overnight, so what matters is rows/s end to end (the
command from start to exit: imports, the pinned version loaded and checked, the cluster, reading, the contract's
checks row by row, scoring, writing, the MLflow run), the memory of every process it starts and the CPU it burns.
Each configuration is the real command (`python -m level3_system score`) in a subprocess, on the same `make synth`
input, in the same sitting:

  loop      the in-process path: one process, file by file (pandas/pyarrow), no Dask
  dask-1    a local Dask cluster of 1 worker process (what Dask costs over the loop)
  dask-2    a local Dask cluster of 2 worker processes (the default)
  address   a scheduler and two workers started here as separate processes on 127.0.0.1, reached by
            `scoring.scheduler_address` (a cluster in miniature; its start-up is not counted, its memory and CPU are)

Peak RSS is the sum over the command's whole process tree (and the address cluster's processes), sampled every
50 ms; CPU-seconds likewise (user + system). A Prefect server is started first and shared (not counted), as
`make platform` would provide it. Targets (PASS/MISS; a MISS does not fail the run, a failed command does):
10 M rows ≤ 30 s end to end (dask-2), peak RSS ≤ 2 GiB, 10 M time ≤ 11 × 1 M time, dask-2 ≥ 1.5 × the loop's rows/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from level2_pipeline.project import PROJECT_ROOT, QUIET_ENVIRONMENT

TARGET_10M_SECONDS = 30.0
TARGET_PEAK_RSS_GIB = 2.0
TARGET_LINEARITY = 11.0  # 10 M time over 1 M time
TARGET_SPEEDUP = 1.5  # dask-2 rows/s over the loop's
CONFIGS = {
    "loop": {"CHURN_SCORING__IN_PROCESS_BELOW_ROWS": str(10**12)},
    "dask-1": {"CHURN_SCORING__IN_PROCESS_BELOW_ROWS": "0", "CHURN_SCORING__WORKERS": "1"},
    "dask-2": {"CHURN_SCORING__IN_PROCESS_BELOW_ROWS": "0", "CHURN_SCORING__WORKERS": "2"},
    "address": {"CHURN_SCORING__IN_PROCESS_BELOW_ROWS": "0"},  # + CHURN_SCORING__SCHEDULER_ADDRESS
}


@dataclass
class Result:
    config: str
    rows: int
    wall: float  # the command, start to exit
    flow: float  # _SUCCESS's seconds: the flow, from its start to the output in place
    peak_rss: int  # bytes
    cpu: float  # seconds

    @property
    def rate(self) -> float:
        return self.rows / self.wall


class TreeSampler:
    """Every 50 ms: RSS summed over `root`'s process tree and `extra` processes; CPU kept per pid."""

    def __init__(self, root: int, extra: list[int]) -> None:
        import psutil

        self._psutil = psutil
        self._root, self._extra = root, extra
        self._cpu: dict[int, float] = {}
        self._cpu_before = {pid: self._cpu_of(pid) for pid in extra}
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _cpu_of(self, pid: int) -> float:
        try:
            times = self._psutil.Process(pid).cpu_times()
            return times.user + times.system  # not children_*: a nanny reaps its worker, which was sampled
        except self._psutil.Error:
            return self._cpu.get(pid, 0.0)

    def _processes(self) -> list[object]:
        psutil = self._psutil
        found = []
        try:
            root = psutil.Process(self._root)
            found = [root, *root.children(recursive=True)]
        except psutil.Error:
            pass
        for pid in self._extra:
            with contextlib.suppress(psutil.Error):
                found.append(psutil.Process(pid))
        return found

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for process in self._processes():
                try:
                    total += process.memory_info().rss
                    self._cpu[process.pid] = self._cpu_of(process.pid)
                except self._psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(0.05)

    def stop(self, rusage_children: float) -> float:
        """Stops sampling; CPU-seconds: the command's tree (at least what the kernel reported for the waited-for
        child) plus the extra processes' increase."""
        self._stop.set()
        self._thread.join()
        extra = sum(self._cpu_of(pid) - self._cpu_before[pid] for pid in self._extra)
        tree = sum(v for pid, v in self._cpu.items() if pid not in self._extra)
        return max(tree, rusage_children) + extra


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_score(config: str, inputs: Path, output: Path, env: dict[str, str], extra: list[int]) -> Result:
    before = children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "level3_system", "score", str(inputs), str(output)],
        cwd=PROJECT_ROOT,
        env={**env, **CONFIGS[config]},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sampler = TreeSampler(process.pid, extra)
    out, _ = process.communicate()
    wall = time.perf_counter() - started
    cpu = sampler.stop(children_cpu() - before)
    if process.returncode != 0:
        raise RuntimeError(f"{config} on {inputs.name} exited {process.returncode}:\n{out[-2000:]}")
    steps = next((line.strip() for line in out.splitlines() if line.strip().startswith("steps")), "")
    print(f"    {config}: {steps}", flush=True)
    success = json.loads((output / "_SUCCESS").read_text())
    return Result(config, int(success["rows_in"]), wall, float(success["seconds"]), sampler.peak, cpu)


def start_cluster(folder: Path, env: dict[str, str]) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, each a process of its own."""
    dask = str(Path(sys.executable).parent / "dask")
    scheduler_file = folder / "scheduler.json"
    log = (folder / "cluster.log").open("wb")
    common = {"cwd": PROJECT_ROOT, "env": env, "stdout": log, "stderr": log, "stdin": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                str(scheduler_file),
            ],
            **common,
        )
    ]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = json.loads(scheduler_file.read_text())["address"]
    for _ in range(2):
        processes.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--memory-limit",
                    "768MiB",
                    "--no-dashboard",
                    "--dashboard-address",
                    "127.0.0.1:0",
                    "--no-nanny",
                    "--host",
                    "127.0.0.1",
                ],
                **common,
            )
        )
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
    return address, processes


def stop_cluster(processes: list[subprocess.Popen[bytes]]) -> None:
    """Workers, then the scheduler: SIGTERM, and SIGKILL for what is still there after 10 s."""
    for process in reversed(processes):
        process.terminate()
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(results: list[Result], sizes: list[int]) -> None:
    print(
        f"\n{'config':<9} {'rows':>11} {'end to end s':>13} {'flow s':>7} {'rows/s':>11} {'peak RSS MiB':>13} "
        f"{'CPU s':>7}"
    )
    for r in results:
        print(
            f"{r.config:<9} {r.rows:>11,} {r.wall:>13.1f} {r.flow:>7.1f} {r.rate:>11,.0f} "
            f"{r.peak_rss / 2**20:>13,.0f} {r.cpu:>7.1f}"
        )
    by = {(r.config, r.rows): r for r in results}
    small, large = min(sizes), max(sizes)
    print()
    for size in sizes:
        loop = by.get(("loop", size))
        for config in ("dask-1", "dask-2", "address"):
            if loop and (config, size) in by:
                print(f"{config} / loop rows/s at {size:,}: {by[(config, size)].rate / loop.rate:.2f}")
    two = by.get(("dask-2", large))
    if two and large >= 10_000_000:
        print(
            f"target 10 M rows ≤ {TARGET_10M_SECONDS:.0f} s end to end (dask-2): {two.wall:.1f} s "
            f"{verdict(two.wall <= TARGET_10M_SECONDS)}"
        )
    peak = max(r.peak_rss for r in results) / 2**30
    ok = verdict(peak <= TARGET_PEAK_RSS_GIB)
    print(f"target peak RSS ≤ {TARGET_PEAK_RSS_GIB} GiB (every run): {peak:.2f} GiB {ok}")
    if large > small and ("dask-2", small) in by and two:
        factor = two.wall / by[("dask-2", small)].wall
        print(
            f"target {large // small} × rows ≤ {TARGET_LINEARITY:.0f} × time (dask-2): {factor:.1f} × "
            f"{verdict(factor <= TARGET_LINEARITY * (large / small) / 10)}"
        )
    loop = by.get(("loop", large))
    if two and loop:
        ratio = two.rate / loop.rate
        ok = verdict(ratio >= TARGET_SPEEDUP)
        print(f"target dask-2 ≥ {TARGET_SPEEDUP} × loop rows/s at {large:,}: {ratio:.2f} × {ok}")


def synth_input(folder: Path, rows: int, env: dict[str, str]) -> Path:
    """`make synth` output for `rows`, reused when the folder already holds one (it is deterministic for a seed)."""
    target = folder / f"synth-{rows}"
    marker = target / "_SYNTH.json"
    if marker.exists() and json.loads(marker.read_text()).get("rows") == rows:
        return target
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "level3_system", "synth", str(rows), str(target)],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    print(f"synth {rows:,} rows: {time.perf_counter() - started:.1f} s", flush=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scoring", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--data", type=Path, help="keep the synthetic inputs here (reused next time)")
    args = parser.parse_args(argv)
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    from level3_system.lifecycle import registry
    from level3_system.operations import bootstrap
    from level3_system.runtime.orchestration import TemporaryPrefectServer
    from level3_system.settings import get_settings

    settings = get_settings()
    bootstrap.champion(settings)  # a fresh clone: the first champion is trained here (make level3)
    version = registry.resolve(settings)
    print(
        f"champion {settings.registered_model} version {version.version}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench_scoring_") as scratch:
        scratch_path = Path(scratch)
        server = TemporaryPrefectServer(scratch_path / "prefect")  # exports PREFECT_API_URL for what follows
        server.wait_ready(timeout=180)
        env = {**os.environ, **QUIET_ENVIRONMENT, "PREFECT_API_URL": server.url}
        data = args.data or scratch_path
        inputs = {rows: synth_input(data, rows, env) for rows in sorted(args.rows)}
        cluster: list[subprocess.Popen[bytes]] = []
        if "address" in args.configs:
            cluster_env = {**env, "DASK_DATAFRAME__CONVERT_STRING": "False"}
            address, cluster = start_cluster(scratch_path, cluster_env)
            CONFIGS["address"]["CHURN_SCORING__SCHEDULER_ADDRESS"] = address
        results = []
        try:
            for rows, folder in inputs.items():
                for config in args.configs:
                    extra = [p.pid for p in cluster] if config == "address" else []
                    result = run_score(config, folder, scratch_path / f"out-{config}-{rows}", env, extra)
                    print(f"  {config:<8} {rows:>11,} rows: {result.wall:.1f} s", flush=True)
                    results.append(result)
        finally:
            stop_cluster(cluster)
        report(results, sorted(args.rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
