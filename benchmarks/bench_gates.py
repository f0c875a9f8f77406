"""`python -m benchmarks.bench_gates`: one GX gate with data docs, GX's default views against ours, in one process.

Why: `make level3` runs two gates with data docs, and the tests run dozens. GX builds a new Jinja environment for
every page, so each build compiled the same templates again; `validation.docs_views` keeps them for the process.
The runs alternate (default, ours, default, …) on the real raw file so a busy moment of a shared machine falls on
both alike; ours has compiled once before the first timed run, as it has in every gate of a process after the
first. The medians are reported, and their ratio.

Target (PASS/MISS, never a failure): ours ≤ 0.85 × the default (the templates were ~0.6 s of a 3.05 s gate here).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

from benchmarks.verdicts import verdict

if TYPE_CHECKING:
    import pandas as pd

    from level3_system.validation.checks import Check

TARGET_RATIO = 0.85


def _gate_seconds(frame: pd.DataFrame, checks: list[Check], default_views: bool) -> float:
    """One raw gate with data docs; `default_views`: the site config names no view, so GX uses its own."""
    from level3_system.validation import docs_views
    from level3_system.validation.gx import run_gate

    views = mock.patch.object(docs_views, "site_views", dict) if default_views else contextlib.nullcontext()
    with tempfile.TemporaryDirectory() as folder, views:
        started = time.perf_counter()
        run_gate("raw", frame, checks, Path(folder))
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_gates", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (default 3)")
    args = parser.parse_args(argv)

    from level2_pipeline.project import apply_quiet_environment

    apply_quiet_environment()
    import pandas as pd

    from level2_pipeline.ingestion import load_config
    from level3_system.validation.checks import raw_checks

    config = load_config()  # the raw file `make data` wrote (make bench runs it first)
    raw = config.target
    frame, checks = pd.read_csv(raw), raw_checks(config.contract)
    load_before = os.getloadavg()[0]
    _gate_seconds(frame, checks, default_views=False)  # imports, and ours compiles its templates once
    default, ours = [], []
    for _ in range(args.runs):
        default.append(_gate_seconds(frame, checks, default_views=True))
        ours.append(_gate_seconds(frame, checks, default_views=False))
    base, cached = statistics.median(default), statistics.median(ours)
    print(
        f"bench_gates: the raw gate with data docs on {raw.name} ({len(frame)} rows, {len(checks)} checks), "
        f"median of {args.runs} · load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"  GX's default views (templates compiled per page)   {base:5.2f} s")
    print(f"  docs_views (templates compiled once per process)    {cached:5.2f} s   ours/default {cached / base:.2f}")
    print(f"targets\n  ours ≤ {TARGET_RATIO} × default  {cached / base:.2f}  {verdict(cached / base <= TARGET_RATIO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
