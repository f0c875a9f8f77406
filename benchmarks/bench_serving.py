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
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from level2_pipeline.project import PROJECT_ROOT, QUIET_ENVIRONMENT

HOST = "127.0.0.1"
TARGET_SPEEDUP = 15.0  # requests/s of the service over `mlflow models serve`
TARGET_P99_MS = 20.0  # at 32 clients
TARGET_ONE_ROW_MS = 0.2  # LoadedModel.predict_one, p50
TARGET_BATCH_ROWS_S = 200_000  # LoadedModel.predict_many on 10,000 rows
TARGET_LOG_RATIO = 0.85  # /predict requests/s with the prediction log on, over the same service with it off
QUIET_ENV = QUIET_ENVIRONMENT  # the Makefile's telemetry switches, for when this script is started without make


class StartError(RuntimeError):
    """A server did not come up: the only failure that makes the benchmark exit non-zero."""


# --------------------------------------------------------------------------------------------------------------
# Servers


@dataclass
class Server:
    name: str
    port: int
    probe: str  # GET path that answers 200 once the server can take requests
    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.perf_counter)
    ready_after: float = 0.0

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(name: str, command: list[str], env: dict[str, str], port: int, probe: str, logs: Path) -> Server:
    log = logs / f"{name.split()[0]}.log"
    with log.open("wb") as out:
        # A new session: the server and whatever it spawns (mlflow's uvicorn) form one process group to stop.
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    return Server(name, port, probe, process, log)


def wait_ready(server: Server, timeout: float) -> None:
    url = f"http://{HOST}:{server.port}{server.probe}"
    deadline = server.started + timeout
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise StartError(f"{server.name} exited with code {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    server.ready_after = time.perf_counter() - server.started
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise StartError(f"{server.name} not ready after {timeout:.0f} s:\n{server.log_tail()}")


def ensure_alive(server: Server) -> None:
    if server.process.poll() is not None:
        raise StartError(f"{server.name} stopped (exit code {server.process.returncode}):\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    """SIGTERM to the whole process group, SIGKILL to whatever is left after 10 s."""
    pgid = server.process.pid  # start_new_session: the group id is the leader's pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)  # children the leader left behind, or a leader that ignored SIGTERM
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=5)


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process of a process group (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(fields[2]) == pgid:  # field 5 of stat: pgrp
            total += (int(fields[11]) + int(fields[12])) / ticks  # fields 14, 15: utime, stime
    return total


def post_json(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}", data=body, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")[:500]


# --------------------------------------------------------------------------------------------------------------
# Load generator


@dataclass
class LoadResult:
    name: str
    ok: int
    errors: int
    seconds: float
    latencies_ms: np.ndarray
    loadgen_cpu_s: float  # CPU seconds this process spent generating the load
    server_cpu_s: float  # CPU seconds of the server's process group meanwhile

    def __add__(self, other: LoadResult) -> LoadResult:
        """Two rounds against the same server, as one run."""
        return LoadResult(
            name=self.name,
            ok=self.ok + other.ok,
            errors=self.errors + other.errors,
            seconds=self.seconds + other.seconds,
            latencies_ms=np.concatenate([self.latencies_ms, other.latencies_ms]),
            loadgen_cpu_s=self.loadgen_cpu_s + other.loadgen_cpu_s,
            server_cpu_s=self.server_cpu_s + other.server_cpu_s,
        )

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    @property
    def server_cpu(self) -> float:
        """Cores the server used; below 1 on one worker means something else had the CPU."""
        return self.server_cpu_s / self.seconds if self.seconds > 0 else 0.0

    @property
    def loadgen_cpu(self) -> float:
        return self.loadgen_cpu_s / self.seconds if self.seconds > 0 else 0.0

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU per answered request: steadier than requests/s when other work shares the cores."""
        return self.server_cpu_s / self.ok * 1000 if self.ok else float("nan")

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms.size else float("nan")

    def line(self) -> str:
        return (
            f"{self.name:<24} {self.rps:7,.0f} requests/s  p50 {self.percentile(50):7.2f} ms  "
            f"p95 {self.percentile(95):7.2f} ms  p99 {self.percentile(99):7.2f} ms  errors {self.errors}  "
            f"(server {self.server_cpu:.2f} cores, {self.server_cpu_ms:.2f} ms CPU/request; "
            f"load generator {self.loadgen_cpu:.2f} cores)"
        )


def http_request(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status code and whether the connection stays open; the body is read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    keep_alive = b"\r\nconnection: close" not in lower and not head.startswith(b"HTTP/1.0")
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        await reader.readexactly(int(lower[at + 17 : end]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)  # the chunk and its CRLF (the last chunk has none: no trailers)
            if size == 0:
                break
    else:
        await reader.read()  # delimited by the end of the connection
        keep_alive = False
    return status, keep_alive


@dataclass
class _Shared:
    budget: int  # requests left to send, all clients together (the hard cap)
    start: asyncio.Event
    deadline: float = 0.0
    ok: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)


async def _client(port: int, request: bytes, shared: _Shared, timing: bool) -> None:
    clock = time.perf_counter
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    with contextlib.suppress(OSError):
        connection = await asyncio.open_connection(HOST, port)
    await shared.start.wait()
    in_flight = False
    try:
        while clock() < shared.deadline and shared.budget > 0:
            if connection is None:
                try:
                    connection = await asyncio.open_connection(HOST, port)
                except OSError:
                    shared.errors += 1
                    await asyncio.sleep(0.05)
                    continue
            reader, writer = connection
            shared.budget -= 1
            started = clock()
            in_flight = True
            try:
                writer.write(request)
                status, keep_alive = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                shared.errors += 1
                writer.close()
                connection = None
                continue
            finally:
                in_flight = False
            if timing:
                shared.latencies.append(clock() - started)
            if 200 <= status < 300:
                shared.ok += 1
            else:
                shared.errors += 1
            if not keep_alive:
                writer.close()
                connection = None
    except asyncio.CancelledError:
        if in_flight:  # stopped by the overall time limit while waiting for an answer: count it as failed
            shared.errors += 1
        raise
    finally:
        shared.finished.append(clock())
        if connection is not None:
            connection[1].close()


async def _load(port: int, request: bytes, clients: int, seconds: float, max_requests: int, timing: bool) -> _Shared:
    shared = _Shared(budget=max_requests, start=asyncio.Event())
    tasks = [asyncio.create_task(_client(port, request, shared, timing)) for _ in range(clients)]
    await asyncio.sleep(0)
    # Let the connections open before the clock starts (bounded: a server that refuses shows up as errors).
    for _ in range(100):
        await asyncio.sleep(0.01)
    began = time.perf_counter()
    shared.deadline = began + seconds
    shared.start.set()
    _, pending = await asyncio.wait(tasks, timeout=seconds + 10)  # a hung server cannot hold the run
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    shared.finished = [max(shared.finished, default=began) - began]
    return shared


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn's dependencies here
        return None
    return uvloop.new_event_loop


def run_load(
    name: str,
    server: Server,
    path: str,
    body: bytes,
    headers: dict[str, str],
    *,
    clients: int,
    seconds: float,
    warmup: float,
    max_requests: int,
) -> LoadResult:
    ensure_alive(server)
    request = http_request(server.port, path, body, headers)
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        if warmup > 0:
            runner.run(_load(server.port, request, clients, warmup, max_requests, timing=False))
        cpu_server = group_cpu_seconds(server.process.pid)
        cpu_self = time.process_time()
        shared = runner.run(_load(server.port, request, clients, seconds, max_requests, timing=True))
        cpu_self = time.process_time() - cpu_self
        cpu_server = group_cpu_seconds(server.process.pid) - cpu_server
    ensure_alive(server)
    return LoadResult(
        name=name,
        ok=shared.ok,
        errors=shared.errors,
        seconds=shared.finished[0],
        latencies_ms=np.asarray(shared.latencies) * 1000,
        loadgen_cpu_s=cpu_self,
        server_cpu_s=cpu_server,
    )


Target = tuple[str, Server, str, bytes, dict[str, str]]  # name, server, path, body, headers


def load_rounds(targets: list[Target], args: argparse.Namespace) -> dict[str, LoadResult]:
    """Each target loaded in turn, `args.rounds` times (the noise of a shared machine falls on all of them), the
    warm-up before the first round only; each round printed, the rounds summed per target."""
    results: dict[str, LoadResult] = {}
    for round_ in range(args.rounds):
        for name, server, path, body, headers in targets:
            part = run_load(
                name,
                server,
                path,
                body,
                headers,
                clients=args.clients,
                seconds=args.seconds / args.rounds,
                warmup=args.warmup if round_ == 0 else 0.0,
                max_requests=max(1, args.max_requests // args.rounds),
            )
            results[name] = results[name] + part if name in results else part
            print(f"  round {round_ + 1}  {part.line()}", flush=True)
    return results


# --------------------------------------------------------------------------------------------------------------
# In-process figures


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


def _p50_ms(call: Callable[[], Any], calls: int, warmup: int) -> float:
    for _ in range(warmup):
        call()
    clock = time.perf_counter_ns
    times = np.empty(calls)
    for i in range(calls):
        began = clock()
        call()
        times[i] = clock() - began
    return float(np.median(times)) / 1e6


def _median_rows_s(call: Callable[[], Any], rows: int, repeats: int) -> float:
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
    one_row = _p50_ms(lambda: model.predict_one(customer), args.one_row_calls, warmup=200)
    sklearn_row = _p50_ms(lambda: sklearn.predict_proba(pd.DataFrame([customer])), args.sklearn_calls, warmup=10)
    batch = _median_rows_s(lambda: model.predict_many(frame), len(frame), repeats=5)
    sklearn_batch = _median_rows_s(lambda: sklearn.predict_proba(frame), len(frame), repeats=3)
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


# --------------------------------------------------------------------------------------------------------------
# Report


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


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


# --------------------------------------------------------------------------------------------------------------


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


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """SIGTERM becomes SystemExit, so the servers are stopped by the `finally` below it."""

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    from level3_system import bootstrap, registry
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
    with _terminate_cleanly(), tempfile.TemporaryDirectory(prefix="bench_serving_") as logs:
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
