"""Real servers for the tests, on free ports of 127.0.0.1: started as processes, waited for, always stopped.

Each server logs to a file under the test's folder; a server that does not come up fails the fixture with the end
of its log, so a broken start-up says why.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from support import PROJECT_ROOT

# Ports handed out below the kernel's ephemeral range (32768–60999 on Linux by default), which port 0 and every
# outgoing connection draw from: no client socket can take one between `free_port()` and the server's bind. Each
# pytest-xdist worker has a band of its own, and a port is never handed out twice in a session.
PORT_BAND, PORT_BASE = 1000, 20000
_GIVEN: set[int] = set()


def free_port() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    low = PORT_BASE + PORT_BAND * (int(worker) % 12 if worker.isdigit() else 0)
    for port in random.Random().sample(range(low, low + PORT_BAND), PORT_BAND):
        if port in _GIVEN:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError(f"no free port left in {low}–{low + PORT_BAND - 1}")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 30, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start(name: str, command: list[str], env: dict[str, str], folder: Path) -> Server:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(name, process, log)


def wait_until(server: Server, ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"{server.name} exited ({server.process.returncode}) before {what}:\n{server.tail()}")
        if ready():
            return
        time.sleep(0.25)
    raise AssertionError(f"{server.name}: no {what} within {timeout:.0f} s:\n{server.tail()}")


def http_ok(url: str) -> Callable[[], bool]:
    def ok() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    return ok


# --- PostgreSQL, an MLflow server on it, a Prefect server on it (the production path, tests/level3/servers/) ---

POSTGRES_BIN = Path(os.environ.get("CHURN_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
DATABASES = ("mlflow", "prefect", "prediction_log")


def postgres_missing() -> str | None:
    """Why the PostgreSQL tests cannot run here (one line saying what to install), or None."""
    for binary in ("initdb", "postgres", "pg_isready"):
        if not (POSTGRES_BIN / binary).is_file():
            return (
                f"no PostgreSQL server binaries in {POSTGRES_BIN} (apt-get install postgresql-15, or set "
                "CHURN_TEST_POSTGRES_BIN to the folder of initdb/postgres)"
            )
    return None


@dataclass
class Postgres:
    server: Server
    port: int
    home: Path  # the cluster's folder, removed by stop()
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def crash(self) -> None:
        """Kill the server and its backends at once (SIGKILL: a crash, not a shutdown); the cluster stays."""
        os.killpg(self.server.process.pid, signal.SIGKILL)
        self.server.process.wait(timeout=10)

    def start_again(self) -> None:
        """The same cluster on the same port, after `crash` (it recovers from its write-ahead log)."""
        self.server = start("postgres", self.command, self.env, self.server.log.parent / "again")
        _wait_ready(self.server, self.port)

    def stop(self) -> None:
        import shutil

        # SIGINT is PostgreSQL's fast shutdown: SIGTERM's smart one waits for every client (a pool still open in
        # this process) to leave, which took the whole 30 s timeout before the SIGKILL.
        self.server.stop(sig=signal.SIGINT)
        shutil.rmtree(self.home, ignore_errors=True)

    def url(self, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://churn:churn@127.0.0.1:{self.port}/{database}"


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root (CI here), run it as the `postgres` user of the package."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *command]


def start_postgres(folder: Path) -> Postgres:
    """A fresh cluster in `folder` (trust auth on 127.0.0.1 only, fsync off: a test database), with the three
    databases and a `churn` role owning them. Commits stay synchronous: with fsync off they cost nothing, and a
    killed server (`Postgres.crash`) keeps every transaction it acknowledged, as a production one does."""
    import shutil
    import tempfile

    folder.mkdir(parents=True, exist_ok=True)
    # The cluster lives outside pytest's folder (mode 700, root's): the server user must reach it.
    home = Path(tempfile.mkdtemp(prefix="churn-test-pg-"))
    (folder / "cluster").write_text(str(home))
    data = home / "pgdata"
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    init = _as_server_user([str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E",
                            "UTF8", "--no-sync"])  # fmt: skip
    done = subprocess.run(init, env=env, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"initdb failed: {done.stderr[-2000:]}")
    port = free_port()
    options = ["-c", "listen_addresses=127.0.0.1", "-c", f"port={port}", "-c", f"unix_socket_directories={home}",
               "-c", "fsync=off", "-c", "full_page_writes=off",
               "-c", "max_connections=200"]  # fmt: skip
    command = _as_server_user([str(POSTGRES_BIN / "postgres"), "-D", str(data), *options])
    server = start("postgres", command, env, folder / "logs")
    _wait_ready(server, port)
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE churn LOGIN PASSWORD 'churn'")
        for database in DATABASES:
            cursor.execute(f"CREATE DATABASE {database} OWNER churn")
    connection.close()
    return Postgres(server, port, home, command, env)


def _wait_ready(server: Server, port: int) -> None:
    ready = [str(POSTGRES_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"]
    wait_until(
        server, lambda: subprocess.run(ready, check=False, timeout=10).returncode == 0, 60, "accepting connections"
    )


def mlflow_server_on(backend: str, port: int, folder: Path) -> Server:
    """`mlflow server` in front of an existing store (the registry of a test), on a given port: stopped and
    started again on the same port, it is the same server to its clients."""
    import sys

    from support import QUIET_ENV

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}, **QUIET_ENV}
    mlflow = str(Path(sys.executable).parent / "mlflow")
    command = [mlflow, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", backend]  # fmt: skip
    server = start("mlflow", command, env, folder)
    wait_until(server, http_ok(f"http://127.0.0.1:{port}/health"), 120, "/health")
    return server


def start_mlflow_server(postgres: Postgres, folder: Path, env: dict[str, str]) -> tuple[Server, str]:
    """`mlflow server` with its backend store in PostgreSQL, serving artifacts from `folder`; returns its URL."""
    import sys

    port = free_port()
    mlflow = str(Path(sys.executable).parent / "mlflow")
    command = [mlflow, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", postgres.url("mlflow", "postgresql+psycopg2"), "--serve-artifacts",
               "--artifacts-destination", str(folder / "artifacts")]  # fmt: skip
    server = start("mlflow", command, env, folder)
    url = f"http://127.0.0.1:{port}"
    wait_until(server, http_ok(f"{url}/health"), 120, "/health")
    return server, url


def start_prefect_server(postgres: Postgres, folder: Path, env: dict[str, str]) -> tuple[Server, str]:
    """`prefect server start` with its database in PostgreSQL (asyncpg); returns its API URL."""
    import sys

    port = free_port()
    prefect = str(Path(sys.executable).parent / "prefect")
    server_env = {
        **env,
        "PREFECT_HOME": str(folder / "home"),
        "PREFECT_API_DATABASE_CONNECTION_URL": postgres.url("prefect", "postgresql+asyncpg"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    command = [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-services"]
    server = start("prefect", command, server_env, folder)
    url = f"http://127.0.0.1:{port}/api"
    wait_until(server, http_ok(f"{url}/health"), 120, "/api/health")
    return server, url
