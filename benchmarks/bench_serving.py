"""`python -m benchmarks.bench_serving`: the level-3 service against `mlflow models serve`, over loopback.

Why: the service exists to be faster than the serving MLflow gives for free, so it has to show it on the same
champion, the same customer and the same machine, in the same run. Both servers are started here on free ports
of 127.0.0.1 and always stopped at the end. The load generator is raw asyncio sockets (HTTP/1.1 keep-alive, one
connection per client, closed loop), cheap enough not to be the bottleneck on 2 cores; its own CPU use and the
servers' are printed so that a reader can check that claim. The measured seconds are split into interleaved rounds
(ours, mlflow, ours, mlflow) so that the noise of a shared machine falls on both servers alike, and the server CPU
per request is printed beside requests/s: it moves much less than requests/s when other work takes the cores.
Then the model alone, in this process, without HTTP.

Targets (PASS/MISS; a MISS does not fail the run, only a server that fails to start or dies does):
  throughput ≥ 15× mlflow serve and p99 ≤ 20 ms at 32 clients; one row ≤ 0.2 ms; a batch ≥ 200,000 rows/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.inprocess import InProcess, batch_frame, measure_in_process
from benchmarks.load import LoadResult, load_rounds
from benchmarks.servers import (
    HOST,
    QUIET_ENV,
    Server,
    StartError,
    free_port,
    post_json,
    start_server,
    stop_server,
    terminate_cleanly,
    wait_ready,
)
from benchmarks.verdicts import verdict

TARGET_SPEEDUP = 15.0  # requests/s of the service over `mlflow models serve`
TARGET_P99_MS = 20.0  # at 32 clients
TARGET_ONE_ROW_MS = 0.2  # LoadedModel.predict_one, p50
TARGET_BATCH_ROWS_S = 200_000  # LoadedModel.predict_many on 10,000 rows
TARGET_LOG_RATIO = 0.85  # /predict requests/s with the prediction log on, over the same service with it off


def report(
    ours: LoadResult, theirs: LoadResult, unlogged: LoadResult, local: InProcess, args: argparse.Namespace
) -> str:
    ratio = ours.rps / theirs.rps if theirs.rps else float("inf")
    log_ratio = ours.rps / unlogged.rps if unlogged.rps else float("inf")
    rows = [
        ("HTTP single row: requests/s", f"{ours.rps:,.0f}", f"{theirs.rps:,.0f}", f"{ratio:.1f}×"),
        ("HTTP latency p50 (ms)", f"{ours.percentile(50):.2f}", f"{theirs.percentile(50):.2f}", ""),
        ("HTTP latency p95 (ms)", f"{ours.percentile(95):.2f}", f"{theirs.percentile(95):.2f}", ""),
        ("HTTP latency p99 (ms)", f"{ours.percentile(99):.2f}", f"{theirs.percentile(99):.2f}", ""),
        ("HTTP requests answered 2xx", f"{ours.ok:,}", f"{theirs.ok:,}", ""),
        ("HTTP errors (non-2xx, resets)", f"{ours.errors:,}", f"{theirs.errors:,}", ""),
        ("server CPU (cores)", f"{ours.server_cpu:.2f}", f"{theirs.server_cpu:.2f}", ""),
        (
            "server CPU per request (ms)",
            f"{ours.server_cpu_ms:.3f}",
            f"{theirs.server_cpu_ms:.2f}",
            f"{theirs.server_cpu_ms / ours.server_cpu_ms:.1f}× less",
        ),
        ("load generator CPU (cores)", f"{ours.loadgen_cpu:.2f}", f"{theirs.loadgen_cpu:.2f}", ""),
        ("ours, prediction log off: requests/s", f"{unlogged.rps:,.0f}", "", f"log on/off {log_ratio:.2f}"),
        ("ours, prediction log off: CPU per request (ms)", f"{unlogged.server_cpu_ms:.3f}", "", ""),
        (
            "in-process one row p50 (ms)",
            f"{local.one_row_ms:.3f} ({local.fast_path})",
            f"{local.sklearn_one_row_ms:.2f} (sklearn)",
            f"{local.sklearn_one_row_ms / local.one_row_ms:.0f}×",
        ),
        (
            f"in-process batch of {local.batch_rows:,} (rows/s)",
            f"{local.batch_rows_s:,.0f} ({local.fast_path})",
            f"{local.sklearn_batch_rows_s:,.0f} (sklearn)",
            f"{local.batch_rows_s / local.sklearn_batch_rows_s:.1f}×",
        ),
    ]
    targets = [
        (f"throughput ≥ {TARGET_SPEEDUP:.0f}× mlflow serve", f"{ratio:.1f}×", ratio >= TARGET_SPEEDUP),
        (
            f"p99 ≤ {TARGET_P99_MS:.0f} ms at {args.clients} clients",
            f"{ours.percentile(99):.2f} ms",
            ours.percentile(99) <= TARGET_P99_MS,
        ),
        (
            f"one row ≤ {TARGET_ONE_ROW_MS} ms (predict_one p50)",
            f"{local.one_row_ms:.3f} ms",
            local.one_row_ms <= TARGET_ONE_ROW_MS,
        ),
        (
            f"batch ≥ {TARGET_BATCH_ROWS_S:,} rows/s (predict_many)",
            f"{local.batch_rows_s:,.0f} rows/s",
            local.batch_rows_s >= TARGET_BATCH_ROWS_S,
        ),
        (
            f"prediction log on ≥ {TARGET_LOG_RATIO:.0%} of off (requests/s)",
            f"{log_ratio:.2f}",
            log_ratio >= TARGET_LOG_RATIO,
        ),
    ]
    header = ("", "ours (FastAPI)", "mlflow serve", "ours/theirs")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]

    def cells(row: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    lines = [
        f"serving benchmark · {args.clients} clients × {args.seconds:g} s each, HTTP/1.1 keep-alive on {HOST} · "
        f"{os.cpu_count()} CPUs, load average {args.load_before:.1f} before, {os.getloadavg()[0]:.1f} after",
        cells(header),
        *(cells(row) for row in rows),
    ]
    lines.append("targets")
    width = max(len(t[0]) for t in targets)
    for label, value, passed in targets:
        note = "" if args.clients == 32 or "clients" not in label else "  (target defined at 32 clients)"
        lines.append(f"  {label:<{width}}  {value:>18}  {verdict(passed)}{note}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_serving", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured load per server (default 20)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="interleaved rounds the seconds are split into (default 2)"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured load before the first round (default 2)")
    parser.add_argument(
        "--max-requests", type=int, default=500_000, help="hard cap on requests per run, all clients (default 500k)"
    )
    parser.add_argument("--one-row-calls", type=int, default=5_000, help="in-process predict_one calls")
    parser.add_argument("--sklearn-calls", type=int, default=200, help="in-process sklearn single-row calls")
    parser.add_argument("--batch-rows", type=int, default=10_000, help="rows of the in-process batch")
    parser.add_argument("--start-timeout", type=float, default=180.0, help="seconds a server may take to be ready")
    args = parser.parse_args(argv)
    if args.clients < 1 or not 0 < args.seconds <= 600 or args.max_requests < 1 or args.rounds < 1:
        parser.error("need --clients ≥ 1, 0 < --seconds ≤ 600, --max-requests ≥ 1, --rounds ≥ 1")
    return args


def mlflow_payload(model_uri: str, customer: dict[str, Any], contract: Any) -> bytes:
    """The customer in `dataframe_split` form, with the columns of the model's signature (the id column too)."""
    import mlflow

    columns = list(customer)
    with contextlib.suppress(Exception):
        signature = mlflow.models.get_model_info(model_uri).signature
        if signature is not None:
            columns = list(signature.inputs.input_names())
    # The example customer is customer 1 of the source: give it that id if the signature asks for one.
    row = [customer.get(c, 1 if c == contract.id_column else None) for c in columns]
    return json.dumps({"dataframe_split": {"columns": columns, "data": [row]}}).encode()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.load_before = os.getloadavg()[0]  # a shared machine: say how busy it was
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)

    from level2_pipeline.config import load_contract_and_clean
    from level3_system.lifecycle import registry
    from level3_system.operations import bootstrap
    from level3_system.serving import model_store
    from level3_system.serving.schemas import example_customer
    from level3_system.settings import get_settings

    settings = get_settings()
    bootstrap.champion(settings)  # a fresh clone: the first champion is trained here (make level3)
    version = registry.resolve(settings)
    # The champion as the service loads it: its own contract, cleaning and fast path (loaded before the servers
    # start, so that the example customer is the one the served version's schema shows).
    model = model_store.load(settings, lambda: load_contract_and_clean(settings.kedro_env), version)
    contract = model.contract
    alias = settings.serving.model_alias
    model_uri = f"models:/{settings.registered_model}@{alias}"
    print(
        f"champion {settings.registered_model}@{alias} = version {version.version} ({settings.resolved_tracking_uri})",
        flush=True,
    )

    customer = example_customer(contract)
    ours_body = json.dumps(customer).encode()
    ours_headers = {"X-API-Key": settings.serving.api_key} if settings.serving.api_key else {}
    servers: list[Server] = []
    bin_dir = Path(sys.executable).parent
    with terminate_cleanly(), tempfile.TemporaryDirectory(prefix="bench_serving_") as logs:
        try:
            base_env = {**os.environ, **QUIET_ENV}
            # The benchmark's traffic goes to a log of its own: the project's log is what `make monitor` reads.
            bench_log = f"sqlite:///{(Path(logs) / 'bench_prediction_log.sqlite').as_posix()}"
            for name, logged in (("ours (python -m level3_system serve)", "true"), ("ours, log off", "false")):
                port = free_port()
                servers.append(
                    start_server(
                        name,
                        [sys.executable, "-m", "level3_system", "serve"],
                        {
                            **base_env,
                            "CHURN_SERVING__HOST": HOST,
                            "CHURN_SERVING__PORT": str(port),
                            "CHURN_PREDICTION_LOG__ENABLED": logged,
                            "CHURN_PREDICTION_LOG__URL": bench_log,
                        },
                        port,
                        "/ready",
                        Path(logs),
                    )
                )
            port2 = free_port()
            servers.append(
                start_server(
                    "mlflow models serve",
                    [
                        str(bin_dir / "mlflow"),
                        *f"models serve --env-manager local -h {HOST} -p {port2}".split(),
                        "-m",
                        model_uri,
                    ],
                    {
                        **base_env,
                        "MLFLOW_TRACKING_URI": settings.resolved_tracking_uri,
                        # mlflow execs `uvicorn` by name: the environment's bin/ must be on PATH.
                        "PATH": os.pathsep.join([str(bin_dir), base_env.get("PATH", "")]),
                    },
                    port2,
                    "/ping",
                    Path(logs),
                )
            )
            ours, unlogged, theirs = servers

            # While the servers start: build the batch and mlflow's body (nothing is timed yet).
            frame, source = batch_frame(settings, contract, args.batch_rows)
            mlflow_body = mlflow_payload(model_uri, customer, contract)

            for server in servers:
                wait_ready(server, args.start_timeout)
                print(f"{server.name} ready after {server.ready_after:.1f} s on {HOST}:{server.port}", flush=True)

            # One request each, checked before any load: same customer, same model, so the same probability.
            status, answer = post_json(ours.port, "/predict", ours_body, ours_headers)
            print(f"  POST /predict      -> {status} {answer}")
            status2, answer2 = post_json(theirs.port, "/invocations", mlflow_body, {})
            print(f"  POST /invocations  -> {status2} {answer2}", flush=True)
            if status != 200 or status2 != 200:
                print("  warning: a check request failed; the load runs will count errors")

            print(f"in process: model version {model.version}, fast path {model.fast_path}; batch from {source}")
            local = measure_in_process(model, customer, frame, args)
            print(
                f"  predict_one p50 {local.one_row_ms:.3f} ms over {local.one_row_calls:,} calls; sklearn one row "
                f"p50 {local.sklearn_one_row_ms:.2f} ms over {local.sklearn_calls} calls",
            )
            print(
                f"  predict_many {local.batch_rows_s:,.0f} rows/s; sklearn predict_proba "
                f"{local.sklearn_batch_rows_s:,.0f} rows/s ({local.batch_rows:,} rows)",
                flush=True,
            )

            print(
                f"load: {args.clients} clients; {args.seconds:g} s per server in {args.rounds} interleaved rounds "
                f"(the noise of a shared machine falls on both), {args.warmup:g} s warm-up before the first",
                flush=True,
            )
            targets = [
                ("ours POST /predict", ours, "/predict", ours_body, ours_headers),
                ("ours, log off, POST /predict", unlogged, "/predict", ours_body, ours_headers),
                ("mlflow POST /invocations", theirs, "/invocations", mlflow_body, {}),
            ]
            results = load_rounds(targets, args)
            result_ours, result_unlogged, result_theirs = (results[t[0]] for t in targets)
            for result in (result_ours, result_unlogged, result_theirs):
                print("  all      " + result.line(), flush=True)
        except StartError as exc:
            print(f"bench_serving: {exc}", file=sys.stderr)
            return 1
        finally:
            for server in servers:
                stop_server(server)
    print()
    print(report(result_ours, result_theirs, result_unlogged, local, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
