"""The load generator: raw asyncio sockets (HTTP/1.1 keep-alive, one connection per client, closed loop), cheap
enough not to be the bottleneck on 2 cores; its own CPU and the server's are measured beside requests/s and
latencies. `load_rounds` interleaves the servers of one run, so the noise of a shared machine falls on all."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from benchmarks.servers import HOST, Server, ensure_alive, group_cpu_seconds


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


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
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
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
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
