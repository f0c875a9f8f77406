"""`python -m benchmarks.bench_monitoring`: the monitor flow's time on windows of 10,000 and 100,000 logged rows.

Why: the monitor runs on an interval beside the service; its cost decides how often it can run and how large a
window it can judge. A prediction log of its own (a temporary SQLite file) is filled with real customers scored by
the champion (drawn from the raw file, as `make traffic` would send them, with their outcomes), then the monitor
flow runs on the whole window, timed by step: reading the window, Evidently's drift, the verdict, publishing
(JSON, HTML report, MLflow run). Prefect's temporary server is started first and not counted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from level2_pipeline.project import apply_quiet_environment


def fill(settings: object, rows: int, seed: int) -> float:
    """`rows` customers of the baseline scenario, logged as the champion scored them; returns seconds taken."""
    import pandas as pd

    from level2_pipeline import ingestion
    from level2_pipeline.config import load_contract_and_clean
    from level3_system.lifecycle import registry
    from level3_system.monitoring.traffic import draw
    from level3_system.prediction_log.schema import create_engine, ensure_schema
    from level3_system.prediction_log.writer import PredictionLogWriter
    from level3_system.serving.model_store import load
    from level3_system.serving.traffic_log import request_id, row

    started = time.perf_counter()
    config = ingestion.load_config(settings.kedro_env, settings.data_root)
    customers = draw(pd.read_csv(config.target), settings.traffic.scenarios["baseline"], rows, seed)
    model = load(settings, lambda: load_contract_and_clean(settings.kedro_env), registry.resolve(settings))
    probabilities = model.predict_many(customers[model.contract.features])
    records = customers[model.contract.features].to_dict(orient="records")
    engine = create_engine(str(settings.prediction_log.url))
    ensure_schema(engine)
    writer = PredictionLogWriter(lambda: engine, batch_rows=5000, flush_seconds=0.05).start()
    when = datetime.now(UTC) - timedelta(hours=1)
    for i, (customer, probability) in enumerate(zip(records, probabilities, strict=True)):
        logged = row(model, request_id(None), customer, float(probability), source="predict", latency_ms=0.1)
        writer.submit({**logged, "scored_at": when + timedelta(milliseconds=i)})
    writer.close(timeout=600)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_monitoring", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000], help="window sizes to time")
    args = parser.parse_args(argv)
    apply_quiet_environment()
    from level3_system.operations import bootstrap
    from level3_system.runtime.orchestration import start_server_if_needed, wait_for
    from level3_system.settings import MonitoringSettings, PredictionLogSettings, apply_environment, load_settings

    base = load_settings()
    apply_environment(base)
    bootstrap.champion(base)  # a fresh clone: the first champion is trained here (make level3)
    server = start_server_if_needed(base)
    wait_for(server)
    from level3_system.monitoring.flow import monitor

    lines = []
    with tempfile.TemporaryDirectory(prefix="bench_monitoring_") as folder:
        for rows in args.rows:
            root = Path(folder) / str(rows)
            settings = base.model_copy(
                update={
                    "prediction_log": PredictionLogSettings(url=f"sqlite:///{(root / 'log.sqlite').as_posix()}"),
                    "reports_dir": root / "reports",
                    "monitoring": MonitoringSettings(window_rows=rows),
                }
            )
            root.mkdir(parents=True)
            filled = fill(settings, rows, seed=rows)
            started = time.perf_counter()
            state = monitor(settings=settings, return_state=True)
            seconds = time.perf_counter() - started
            summary = state.result(raise_on_failure=False)
            if isinstance(summary, BaseException):
                print(f"bench_monitoring: the monitor failed on {rows} rows: {summary}", file=sys.stderr)
                return 1
            window = summary.result["window"]["n_rows"]
            lines.append(
                f"{rows:>9,} logged rows  window {window:>9,}  monitor flow {seconds:6.1f} s "
                f"({window / seconds:,.0f} rows/s)  drift share {summary.result['drift_share']:.2f}  "
                f"alert {summary.result['alert']}  (log filled in {filled:.1f} s)"
            )
            print(lines[-1], flush=True)
    print()
    print("monitoring benchmark · the monitor flow on the whole window (read, drift, verdict, publish)")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
