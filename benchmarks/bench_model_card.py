"""`python -m benchmarks.bench_model_card`: seconds for the model card's bootstrap intervals, 1,000 resamples of
a holdout the size of the real one (1,409 customers), two thresholds.

Why: every training computes them (the card's confidence intervals, `card_stats.bootstrap_metrics`); a slow
bootstrap is paid by every run of the flow and every test that trains. Its correctness is tested
(tests/level3/training/test_model_card.py); its speed is measured here, median of `--runs`.

Target (PASS/MISS, never a failure): ≤ 1 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.verdicts import median_verdict

TARGET_SECONDS = 1.0
HOLDOUT_ROWS = 1409


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    from level3_system.training.card_stats import bootstrap_metrics

    rng = np.random.default_rng(3)
    p = np.round(rng.random(HOLDOUT_ROWS), 2)  # ties, as real probabilities have
    y = (rng.random(HOLDOUT_ROWS) < p).astype(int)
    seconds = []
    for run in range(args.runs):
        started = time.perf_counter()
        bootstrap_metrics(y, p, [0.5, 0.3], resamples=1000, seed=run)
        seconds.append(time.perf_counter() - started)
    print(f"model card bootstrap: 1,000 resamples × {HOLDOUT_ROWS} rows, 2 thresholds, {args.runs} runs")
    print(median_verdict(seconds, TARGET_SECONDS, digits=3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
