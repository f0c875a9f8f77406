"""`python -m benchmarks.bench_reload`: seconds from a promotion (one alias update) to the service answering with
the promoted version, under load, with `serving.reload_interval_seconds` = 0.3.

Why: the platform's service follows promotions by polling the registry; a promotion that takes a minute to reach
traffic makes a drift fix a minute late. The test (tests/level3/serving/test_serving_reload.py) proves that the
service follows with no failed request; how fast is measured here, where a shared machine's noise is a figure,
not a flaky failure. The service runs in process (FastAPI's TestClient, one client thread posting /predict) on a
copy of the project's embedded registry, where the champion's model is registered a second time: the project's
aliases and versions are never touched.

Target (PASS/MISS, never a failure): the median follow ≤ 3 s (10 × the interval, a full load of the version).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from benchmarks.servers import QUIET_ENV
from benchmarks.verdicts import median_verdict

TARGET_SECONDS = 3.0
INTERVAL_SECONDS = 0.3
ALIAS = "bench-reload"


def _follow(client: Any, body: dict[str, Any], move: Any, version: str, timeout: float = 60) -> float:
    """Move the alias to `version` under load; seconds until an answer comes from it."""
    answered: list[str | None] = []
    stop = threading.Event()

    def fire() -> None:
        while not stop.is_set():
            answered.append(client.post("/predict", json=body).json().get("model_version"))

    worker = threading.Thread(target=fire, daemon=True)
    worker.start()
    try:
        moved = time.monotonic()
        move(version)
        while time.monotonic() - moved < timeout:
            if answered and answered[-1] == version:
                return time.monotonic() - moved
            time.sleep(0.01)
        raise RuntimeError(f"the service did not follow to version {version} within {timeout:.0f} s")
    finally:
        stop.set()
        worker.join(timeout=30)


def _copy_database(source: Path, target: Path) -> None:
    """SQLite's own backup: a consistent copy even while its write-ahead log holds the newest pages."""
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6, help="promotions to time (alternating two versions)")
    args = parser.parse_args(argv)
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)

    with warnings.catch_warnings():  # Starlette wants httpx2 for its TestClient (pyproject.toml says why: ignored)
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    from level2_pipeline.config import load_contract_and_clean
    from level3_system.lifecycle import registry
    from level3_system.operations import bootstrap
    from level3_system.serving import model_store
    from level3_system.serving.app import create_app
    from level3_system.serving.schemas import example_customer
    from level3_system.settings import apply_environment, get_settings

    settings = get_settings()
    apply_environment(settings)
    if not settings.embedded_mlflow:
        print("bench_reload: needs the embedded registry (it copies it); unset MLFLOW_TRACKING_URI / tracking_uri")
        return 0
    bootstrap.champion(settings)  # a fresh clone: the first champion is trained here (make level3)
    with tempfile.TemporaryDirectory(prefix="bench_reload_") as folder:
        store = Path(folder) / "mlflow.db"
        _copy_database(settings.mlflow_home / "mlflow.db", store)  # artifacts stay where they are, read only
        serving = settings.serving.model_copy(
            update={"model_alias": ALIAS, "reload_interval_seconds": INTERVAL_SECONDS}
        )
        prediction_log = settings.prediction_log.model_copy(update={"url": f"sqlite:///{Path(folder) / 'log.db'}"})
        copy = settings.model_copy(
            update={
                "tracking_uri": f"sqlite:///{store.as_posix()}",
                "serving": serving,
                "prediction_log": prediction_log,
            }
        )
        client = registry.client(copy)
        champion = registry.champion(copy)
        with registry.mlflow_at(copy):  # MLflow resolves the model's source through the current tracking URI
            second = client.create_model_version(
                copy.registered_model,
                champion.source,
                run_id=champion.run_id,
                model_id=getattr(champion, "model_id", None),
            ).version
        versions = [str(champion.version), str(second)]

        def move(version: str) -> None:
            client.set_registered_model_alias(copy.registered_model, ALIAS, version)

        move(versions[0])
        # The version's own contract, as the service loads it: the example customer matches its schema.
        contract = model_store.load(copy, lambda: load_contract_and_clean(copy.kedro_env), champion).contract
        seconds = []
        with TestClient(create_app(copy)) as served:
            body = example_customer(contract)
            for run in range(args.runs):
                seconds.append(_follow(served, body, move, versions[(run + 1) % 2]))
    print(f"promotion → served, reload interval {INTERVAL_SECONDS} s, {args.runs} promotions under load")
    print(median_verdict(seconds, TARGET_SECONDS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
