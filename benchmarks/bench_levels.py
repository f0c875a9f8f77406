"""`make bench`: time every level end to end over several runs, then show where level 2's and level 3's time goes.

Why: each level should earn its overhead. The targets (level 2 within 3 s of level 1, level 3 within 12 s) are
checked on medians and printed as PASS/MISS; this is a benchmark, not a test, so a MISS does not fail it, only a
run that fails does. Runs are interleaved (1, 2, 3, 1, 2, 3, …) so the noise of a shared machine falls on every
level alike, and CPU seconds are shown beside wall seconds because they move far less when other work competes
for the cores. The breakdown is measured in the same invocation, each probe in a fresh interpreter, so it
explains the medians above it rather than a number from another day.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import level3_breakdown
from benchmarks.compare import markdown_table
from benchmarks.verdicts import verdict
from level2_pipeline.project import PROJECT_ROOT
from tools.levels import Level, discover_levels

TARGET_OVERHEAD_S = {2: 3.0, 3: 12.0}  # level N may take at most this many seconds more than level 1
NODE_LINE = re.compile(r"^\s+(\S+)\s+(\d+(?:\.\d+)?) s -> ", re.MULTILINE)  # level2_pipeline.hooks.StepLogHook
PROBE_REPEATS = 3

# What level 1 imports: the work every level pays before it trains anything.
_IMPORT_ML = (
    "import pandas, sklearn.compose, sklearn.linear_model, sklearn.metrics, sklearn.model_selection, "
    "sklearn.pipeline, sklearn.preprocessing"
)
_TIMED_IMPORT = (
    "import json, time\ns = time.perf_counter()\n{imports}\nprint(json.dumps({{'t': time.perf_counter() - s}}))"
)
# Kedro's own start-up, with the ML imports paid beforehand so that they are not counted twice.
_SESSION_PROBE = f"""
import json, sys, time
from importlib.metadata import entry_points
from pathlib import Path
{_IMPORT_ML}
import kedro.framework.session, kedro.framework.startup
root, t = Path(sys.argv[1]), {{}}
s = time.perf_counter()
def lap(name):
    global s
    t[name] = time.perf_counter() - s
    s = time.perf_counter()
kedro.framework.startup.bootstrap_project(root); lap("bootstrap_project")
for ep in entry_points(group="kedro.hooks"):
    ep.load()
lap("plugin_hooks")
session = kedro.framework.session.KedroSession.create(project_path=root); lap("session_create")
import kedro_datasets.pandas, kedro_datasets.json, kedro_datasets.pickle; lap("dataset_imports")
session.load_context().catalog; lap("load_context")
session.close()
print(json.dumps(t))
"""


@dataclass
class LevelTimes:
    level: Level
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    node_seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def _env() -> dict[str, str]:
    """The Makefile's telemetry switches, for when this script is started without make."""
    env = dict(os.environ)
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_level(level: Level, root: Path = PROJECT_ROOT) -> tuple[float, float, str]:
    """Wall and CPU seconds of `make -s level<N>`, and its output; raises CalledProcessError when the run fails.

    CPU time (user + system, every waited-for child included) is reported beside wall time because on a shared
    machine it barely moves when other work competes for the cores, while wall time can double."""
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        ["make", "--no-print-directory", "-s", level.name], cwd=root, capture_output=True, text=True, env=_env()
    )
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
    return seconds, cpu, done.stdout + done.stderr


def node_seconds(output: str) -> float | None:
    """Sum of the per-node seconds a Kedro run logs (None when the level logs no nodes)."""
    found = NODE_LINE.findall(output)
    return sum(float(seconds) for _, seconds in found) if found else None


def probe(args: list[str], root: Path = PROJECT_ROOT, repeats: int = PROBE_REPEATS) -> dict[str, float]:
    """Run a probe in fresh processes; the median of each figure it prints (as JSON), plus its wall time."""
    results: list[dict[str, float]] = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(args, cwd=root, capture_output=True, text=True, env=_env(), check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
        results.append({**figures, "wall": time.perf_counter() - started})
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def run_levels(levels: list[Level], runs: int, root: Path = PROJECT_ROOT) -> list[LevelTimes]:
    """`runs` interleaved rounds; no warm-up round (a level-3 run costs ~20 s): the median absorbs a cold first run."""
    times = [LevelTimes(level) for level in levels]
    for round_ in range(1, runs + 1):
        for entry in times:
            seconds, cpu, output = time_level(entry.level, root)
            entry.seconds.append(seconds)
            entry.cpu_seconds.append(cpu)
            if (nodes := node_seconds(output)) is not None:
                entry.node_seconds.append(nodes)
        shown = ", ".join(f"{t.level.name} {t.seconds[-1]:.2f} s" for t in times)
        print(f"  run {round_}/{runs}: {shown}", flush=True)
    return times


def level_table(times: list[LevelTimes]) -> str:
    """Median/min/max per level, the overhead over level 1 and the target check."""
    base = next((t for t in times if t.level.number == 1), None)
    rows = []
    for t in times:
        cpu = statistics.median(t.cpu_seconds)
        row = [t.level.name, f"{t.median:.2f}", f"{min(t.seconds):.2f}", f"{max(t.seconds):.2f}", f"{cpu:.2f}"]
        target = TARGET_OVERHEAD_S.get(t.level.number)
        if base is None or t is base:
            row += ["–", "–", "–", ""]
        else:
            overhead = t.median - base.median
            verdict_shown = "" if target is None else verdict(overhead <= target)
            goal = "–" if target is None else f"≤ level1 + {target:g} s"
            row += [f"{overhead:+.2f} s", f"{t.median / base.median:.2f}×", goal, verdict_shown]
        rows.append(row)
    header = ["level", "median s", "min s", "max s", "CPU s", "over level 1", "ratio", "target", "check"]
    table = markdown_table(header, rows)
    noisy = [t.level.name for t in times if max(t.seconds) > 1.5 * min(t.seconds)]
    if noisy:
        table += f"\n\nNoisy: max > 1.5 × min for {', '.join(noisy)}; the machine was busy, rerun when it is idle."
    return table


def breakdown(times: list[LevelTimes], root: Path = PROJECT_ROOT) -> str:
    """Where the time goes: each piece measured in fresh processes, against level 2's median wall time."""
    py = sys.executable
    print("  probing: interpreter start, make + data check, imports, Kedro session …", flush=True)
    interpreter = probe([py, "-c", "pass"], root)["wall"]
    make_data = probe(["make", "--no-print-directory", "-s", "data"], root)["wall"]
    ml_import = probe([py, "-c", _TIMED_IMPORT.format(imports=_IMPORT_ML)], root)["t"]
    kedro_import = probe([py, "-c", _TIMED_IMPORT.format(imports="import kedro.framework.session")], root)["t"]
    session = probe([py, "-c", _SESSION_PROBE, str(root)], root)
    level2 = next((t for t in times if t.level.number == 2), None)
    nodes = statistics.median(level2.node_seconds) if level2 and level2.node_seconds else None
    kedro_session = sum(v for k, v in session.items() if k != "wall")
    rows = [
        ("python interpreter start (`python -c pass`)", interpreter),
        ("`make -s data`: make + env check + raw-file check (every level)", make_data),
        ("`import pandas, sklearn.*` (level 1's imports)", ml_import),
        ("`import kedro.framework.session`", kedro_import),
        ("Kedro session: bootstrap + create + load_context", kedro_session),
        ("  bootstrap_project", session["bootstrap_project"]),
        ("  plugin hook entry points (imported, then disabled)", session["plugin_hooks"]),
        ("  KedroSession.create (rest)", session["session_create"]),
        ("  import kedro_datasets.pandas/json/pickle (eager: SQL too)", session["dataset_imports"]),
        ("  load_context + catalog (incl. register_pipelines)", session["load_context"]),
        ("node time (sum of the level-2 runs' per-node log lines)", nodes),
    ]
    wall2 = level2.median if level2 else None
    table = markdown_table(
        ["piece (median of 3 fresh processes)", "seconds", "share of level 2"],
        [
            [name, "n/a" if s is None else f"{s:.3f}", "" if s is None or not wall2 else f"{100 * s / wall2:.0f} %"]
            for name, s in rows
        ],
    )
    lines = [table, ""]
    level1 = next((t for t in times if t.level.number == 1), None)
    if level1 and level2:
        kedro = kedro_import + kedro_session
        overhead = level2.median - level1.median
        lines.append(
            f"Kedro's own start-up (import + session) {kedro:.2f} s vs measured level-2 overhead {overhead:.2f} s; "
            f"the ML imports cost {ml_import:.2f} s at both levels."
        )
        if nodes is not None:
            lines.append(
                f"Node work is {nodes:.2f} s of level 2's {level2.median:.2f} s ({nodes / level2.median:.0%})."
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_levels", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per level (default 5)")
    parser.add_argument("--levels", type=int, nargs="+", help="only these level numbers (default: every level found)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the 'where the time goes' section")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    levels = [lv for lv in discover_levels(PROJECT_ROOT) if not args.levels or lv.number in args.levels]
    if not levels:
        print("bench: no runnable level found")
        return 1
    print(f"bench: `make -s level<N>` wall time, {args.runs} interleaved runs per level")
    started = time.perf_counter()
    try:
        times = run_levels(levels, args.runs)
        print()
        print(level_table(times))
        if not args.no_breakdown:
            print("\nWhere the time goes (same invocation):\n")
            print(breakdown(times))
            level1, level3 = (next((t for t in times if t.level.number == n), None) for n in (1, 3))
            if level3 is not None:
                print("\nWhere level 3's time goes (same invocation; the probe trains once more):\n")
                found = level3_breakdown.measure(PROJECT_ROOT, _env())
                print(level3_breakdown.report(found, level3.median, level1.median if level1 else None))
    except subprocess.CalledProcessError as exc:
        command = " ".join(str(a) for a in exc.cmd)[:120]
        print(f"bench: `{command}` failed (exit {exc.returncode}):\n{(exc.stdout or '') + (exc.stderr or '')}")
        return 1
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
