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
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.process_tree import TreeSampler, children_cpu, start_cluster, stop_cluster
from benchmarks.verdicts import verdict
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
