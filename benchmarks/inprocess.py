"""The model alone, in the benchmark's process, without HTTP: one row's p50 and a batch's rows/s, for the fast
path the service would use and for the registered sklearn pipeline."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.servers import StartError
from level2_pipeline.project import PROJECT_ROOT


@dataclass
class InProcess:
    fast_path: str
    one_row_ms: float  # LoadedModel.predict_one p50
    one_row_calls: int
    sklearn_one_row_ms: float  # the registered sklearn pipeline, one row through pd.DataFrame([row])
    sklearn_calls: int
    batch_rows: int
    batch_rows_s: float  # LoadedModel.predict_many, median of 5
    sklearn_batch_rows_s: float


def p50_ms(call: Callable[[], Any], calls: int, warmup: int) -> float:
    for _ in range(warmup):
        call()
    clock = time.perf_counter_ns
    times = np.empty(calls)
    for i in range(calls):
        began = clock()
        call()
        times[i] = clock() - began
    return float(np.median(times)) / 1e6


def median_rows_s(call: Callable[[], Any], rows: int, repeats: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return rows / float(np.median(times))


def batch_frame(settings: Any, contract: Any, rows: int) -> tuple[Any, str]:
    """`rows` customers drawn (with replacement, fixed seed) from the level-3 holdout, else from the raw file."""
    import pandas as pd

    holdout = settings.data_root / "05_model_input" / "level3" / "X_test.pkl"
    if holdout.exists():
        source, frame = holdout, pd.read_pickle(holdout)
    else:
        raw = sorted((settings.data_root / "01_raw").glob("*.csv"))
        if not raw:
            raise StartError(f"no holdout ({holdout}) and no raw CSV in {settings.data_root / '01_raw'}")
        source, frame = raw[0], pd.read_csv(raw[0])
    frame = frame[list(contract.features)]
    picked = np.random.default_rng(0).integers(0, len(frame), size=rows)
    shown = source.relative_to(PROJECT_ROOT) if source.is_relative_to(PROJECT_ROOT) else source
    return frame.iloc[picked].reset_index(drop=True), str(shown)


def measure_in_process(model: Any, customer: dict[str, Any], frame: Any, args: argparse.Namespace) -> InProcess:
    import pandas as pd

    sklearn = model.sklearn_model
    one_row = p50_ms(lambda: model.predict_one(customer), args.one_row_calls, warmup=200)
    sklearn_row = p50_ms(lambda: sklearn.predict_proba(pd.DataFrame([customer])), args.sklearn_calls, warmup=10)
    batch = median_rows_s(lambda: model.predict_many(frame), len(frame), repeats=5)
    sklearn_batch = median_rows_s(lambda: sklearn.predict_proba(frame), len(frame), repeats=3)
    return InProcess(
        fast_path=model.fast_path,
        one_row_ms=one_row,
        one_row_calls=args.one_row_calls,
        sklearn_one_row_ms=sklearn_row,
        sklearn_calls=args.sklearn_calls,
        batch_rows=len(frame),
        batch_rows_s=batch,
        sklearn_batch_rows_s=sklearn_batch,
    )
