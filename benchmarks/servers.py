"""The servers a benchmark loads: started on free ports of 127.0.0.1 in a process group of their own, probed until
ready, their CPU read from /proc, always stopped (SIGTERM to the group, then SIGKILL). Used by every `make bench`
script that starts one."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from level2_pipeline.project import PROJECT_ROOT, QUIET_ENVIRONMENT

HOST = "127.0.0.1"
QUIET_ENV = QUIET_ENVIRONMENT  # the Makefile's telemetry switches, for when this script is started without make


class StartError(RuntimeError):
    """A server did not come up: the only failure that makes the benchmark exit non-zero."""


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


def start_service(name: str, env: dict[str, str], logs: Path, extra: dict[str, str] | None = None) -> Server:
    """`python -m level3_system serve` on a free port of 127.0.0.1, with a prediction log of its own under `logs`
    (the benchmark's, never the project's)."""
    port = free_port()
    log_url = f"sqlite:///{(logs / f'prediction_log_{port}.sqlite').as_posix()}"
    serving = {"CHURN_SERVING__HOST": HOST, "CHURN_SERVING__PORT": str(port), "CHURN_PREDICTION_LOG__URL": log_url}
    command = [sys.executable, "-m", "level3_system", "serve"]
    return start_server(name, command, {**env, **serving, **(extra or {})}, port, "/ready", logs)


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


@contextlib.contextmanager
def terminate_cleanly() -> Iterator[None]:
    """SIGTERM becomes SystemExit, so the servers are stopped by the `finally` below it."""

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
