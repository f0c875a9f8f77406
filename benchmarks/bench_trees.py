"""`make bench`, the tree rows: a LightGBM version served on the tree fast path, against the same service forced
onto the sklearn pipeline, against `mlflow models serve` on the same version, against a bare FastAPI endpoint
that answers a constant (the stack's ceiling), with the project's own (linear) champion beside it.

The LightGBM version is trained by `python -m level3_system train` into a temporary data root and store (the
project's stores are untouched). Every server is started before any load and loaded in interleaved rounds, so
the noise of a shared machine falls on all of them; the figures are read as ratios within this run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_serving import mlflow_payload
from benchmarks.inprocess import batch_frame, median_rows_s, p50_ms
from benchmarks.load import LoadResult, load_rounds
from benchmarks.servers import (
    HOST,
    QUIET_ENV,
    Server,
    StartError,
    free_port,
    post_json,
    start_server,
    start_service,
    stop_server,
    terminate_cleanly,
    wait_ready,
)
from benchmarks.verdicts import verdict_table
from level2_pipeline.project import PROJECT_ROOT

TARGET_ONE_ROW_MS = 0.1  # a LightGBM row, in process (LoadedModel.predict_one, p50)
TARGET_RPS = 2_000  # single-row requests/s through the API at 32 clients, tree fast path
TARGET_VS_SKLEARN = 5.0  # requests/s over the same service forced onto the sklearn pipeline
TARGET_BATCH_ROWS_S = 300_000  # LoadedModel.predict_many on the batch
TARGET_EXACT = 1e-6  # the tree fast path against the registered model, on 1,000 rows
TARGET_CPU_MS = 0.15  # the linear service's CPU per request, prediction log on
TARGET_CEILING = 0.80  # the linear service's requests/s over the bare FastAPI endpoint's


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured load per server (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds the seconds are split into")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured load before the first round")
    parser.add_argument("--batch-rows", type=int, default=300_000, help="rows of the in-process batch")
    parser.add_argument("--start-timeout", type=float, default=180.0, help="seconds a server may take to be ready")
    args = parser.parse_args(argv)
    args.max_requests = 10**9
    return args


def train_lightgbm(root: Path, raw: Path) -> dict[str, str]:
    """The environment of a LightGBM level 3 in `root` (`model.family: lightgbm`, as a fork's conf/ would set
    it), with its first version trained; the alias to serve (a challenger if it failed promotion)."""
    env = {
        **os.environ,
        **QUIET_ENV,
        "CHURN_DATA_DIR": str(root / "data"),
        "CHURN_TRACKING_URI": f"sqlite:///{(root / 'mlflow.db').as_posix()}",
        "CHURN_ARTIFACT_LOCATION": (root / "artifacts").as_uri(),
        "CHURN_PREFECT_HOME": str(root / "prefect"),
        "CHURN_KEDRO_PARAMS": json.dumps({"model": {"family": "lightgbm"}}),
    }
    target = root / "data" / "01_raw" / raw.name
    target.parent.mkdir(parents=True)
    shutil.copyfile(raw, target)
    done = subprocess.run(
        [sys.executable, "-m", "level3_system", "train"],
        cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if done.returncode != 0:
        raise StartError(f"training the LightGBM version failed:\n{(done.stdout + done.stderr)[-2000:]}")
    status = "champion" if "→ champion" in done.stdout else "challenger"
    env["CHURN_SERVING__MODEL_ALIAS"] = status
    return env


def in_process(env: dict[str, str], batch_rows: int) -> tuple[Any, dict[str, float], dict[str, Any]]:
    """The version as the service loads it, and its in-process figures (the sklearn pipeline's beside them)."""
    import pandas as pd

    from level2_pipeline.config import load_contract_and_clean
    from level3_system.lifecycle import registry
    from level3_system.serving import model_store
    from level3_system.serving.schemas import example_customer
    from level3_system.settings import Level3Settings

    keys = {k: v for k, v in env.items() if k.startswith("CHURN_")}
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    try:
        settings = Level3Settings()
    finally:
        for key, value in saved.items():
            if value is None:
                del os.environ[key]
            else:
                os.environ[key] = value
    loaded = model_store.load(settings, lambda: load_contract_and_clean(None), registry.resolve(settings))
    frame, _ = batch_frame(settings, loaded.contract, batch_rows)
    check = frame.head(1_000)
    reference = loaded.sklearn_model.predict_proba(check)[:, 1]
    one_by_one = np.array([loaded.predict_one(c) for c in check.to_dict(orient="records")])
    customer = example_customer(loaded.contract)
    figures = {
        "max_difference": float(max(np.abs(loaded.predict_many(check) - reference).max(),
                                    np.abs(one_by_one - reference).max())),
        "one_row_ms": p50_ms(lambda: loaded.predict_one(customer), 5_000, warmup=200),
        "sklearn_one_row_ms": p50_ms(lambda: loaded.sklearn_model.predict_proba(pd.DataFrame([customer])), 200, 10),
        "batch_rows_s": median_rows_s(lambda: loaded.predict_many(frame), len(frame), repeats=3),
        "sklearn_batch_rows_s": median_rows_s(lambda: loaded.sklearn_model.predict_proba(frame), len(frame), 1),
    }  # fmt: skip
    return loaded, figures, customer


def servers(env: dict[str, str], project_env: dict[str, str], logs: Path, model_uri: str) -> list[Server]:
    started = [
        start_service("trees (LightGBM, tree fast path)", env, logs),
        start_service("sklearn (same version, FAST_PATH=sklearn)", env, logs, {"CHURN_SERVING__FAST_PATH": "sklearn"}),
        start_service("linear (the project's champion)", project_env, logs),
    ]
    port = free_port()
    bare = [sys.executable, "-m", "benchmarks.bare_app"]
    bare_env = {**project_env, "PORT": str(port)}
    started.append(start_server("bare FastAPI (a constant)", bare, bare_env, port, "/ready", logs))
    port = free_port()
    bin_dir = Path(sys.executable).parent
    mlflow = [str(bin_dir / "mlflow"), *f"models serve --env-manager local -h {HOST} -p {port} -m {model_uri}".split()]
    path = os.pathsep.join([str(bin_dir), env.get("PATH", "")])  # mlflow execs `uvicorn` by name
    mlflow_env = {**env, "MLFLOW_TRACKING_URI": env["CHURN_TRACKING_URI"], "PATH": path}
    started.append(start_server("mlflow models serve (LightGBM)", mlflow, mlflow_env, port, "/ping", logs))
    return started


def report(figures: dict[str, float], results: dict[str, LoadResult]) -> str:
    trees, sklearn, linear, bare, mlflow = (results[name] for name in results)
    rows = [
        ("LightGBM version: fast path equal to the registered model on 1,000 rows",
         f"max |Δp| {figures['max_difference']:.1e} ≤ {TARGET_EXACT:g}", figures["max_difference"] <= TARGET_EXACT),
        ("one LightGBM row in process (tree fast path, p50)",
         f"{figures['one_row_ms']:.4f} ms ≤ {TARGET_ONE_ROW_MS} (sklearn {figures['sklearn_one_row_ms']:.2f} ms, "
         f"{figures['sklearn_one_row_ms'] / figures['one_row_ms']:,.0f}×)", figures["one_row_ms"] <= TARGET_ONE_ROW_MS),
        ("LightGBM batch in process",
         f"{figures['batch_rows_s']:,.0f} rows/s ≥ {TARGET_BATCH_ROWS_S:,} "
         f"(sklearn {figures['sklearn_batch_rows_s']:,.0f})",
         figures["batch_rows_s"] >= TARGET_BATCH_ROWS_S),
        ("tree service through the API, 32 clients", f"{trees.rps:,.0f} requests/s ≥ {TARGET_RPS:,}",
         trees.rps >= TARGET_RPS),
        ("tree service over the same service on sklearn",
         f"{trees.rps / max(sklearn.rps, 1e-9):.1f}× ≥ {TARGET_VS_SKLEARN:g}× ({sklearn.rps:,.0f} requests/s; "
         f"mlflow models serve {mlflow.rps:,.0f})", trees.rps >= TARGET_VS_SKLEARN * sklearn.rps),
        ("linear service CPU per request (log on)", f"{linear.server_cpu_ms:.3f} ms ≤ {TARGET_CPU_MS}",
         linear.server_cpu_ms <= TARGET_CPU_MS),
        ("linear service against the bare FastAPI ceiling",
         f"{linear.rps / max(bare.rps, 1e-9):.0%} ≥ {TARGET_CEILING:.0%} "
         f"({linear.rps:,.0f} of {bare.rps:,.0f} requests/s; "
         f"tree service {trees.rps / max(bare.rps, 1e-9):.0%})", linear.rps >= TARGET_CEILING * bare.rps),
    ]  # fmt: skip
    return verdict_table(rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    from level3_system.operations import bootstrap
    from level3_system.settings import get_settings

    project = get_settings()
    bootstrap.champion(project)  # the linear champion beside it: a fresh clone trains it here
    raw = sorted((project.data_root / "01_raw").glob("*.csv"))
    if not raw:
        print(f"bench_trees: no raw CSV in {project.data_root / '01_raw'}: run `make data` first", file=sys.stderr)
        return 1
    project_env = {**os.environ, **QUIET_ENV}
    started: list[Server] = []
    with terminate_cleanly(), tempfile.TemporaryDirectory(prefix="bench_trees_") as folder:
        root = Path(folder)
        try:
            print("training a LightGBM version into a temporary store (model.family: lightgbm) …", flush=True)
            env = train_lightgbm(root, raw[0])
            model_uri = f"models:/{project.registered_model}@{env['CHURN_SERVING__MODEL_ALIAS']}"
            (root / "logs").mkdir()
            started = servers(env, project_env, root / "logs", model_uri)
            for server in started:
                wait_ready(server, args.start_timeout)
                print(f"  {server.name} ready after {server.ready_after:.1f} s", flush=True)
            loaded, figures, customer = in_process(env, args.batch_rows)  # the servers idle meanwhile
            print(f"  {model_uri} = version {loaded.version}, fast path {loaded.fast_path}", flush=True)
            body = json.dumps(customer).encode()
            mlflow_body = mlflow_payload(model_uri, customer, loaded.contract)
            linear_body = body
            status, answer = post_json(started[2].port, "/predict", linear_body, {})
            if status != 200:  # the project's champion may have another contract (a fork's env)
                raise StartError(f"the project's champion refused the example customer: {status} {answer}")
            paths = ["/predict"] * 4 + ["/invocations"]
            bodies = [body, body, linear_body, body, mlflow_body]
            targets = [
                (srv.name, srv, path, payload, {}) for srv, path, payload in zip(started, paths, bodies, strict=True)
            ]
            results = load_rounds(targets, args)
        except StartError as exc:
            print(f"bench_trees: {exc}", file=sys.stderr)
            return 1
        finally:
            for server in started:
                stop_server(server)
    print()
    for result in results.values():
        print("  all  " + result.line())
    print()
    print(report(figures, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
