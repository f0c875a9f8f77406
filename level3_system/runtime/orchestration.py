"""How a command reaches a Prefect server: the configured one (`PREFECT_API_URL`), the one `make platform` runs
from this project (its state file), or a temporary one of its own.

Embedded mode starts a Prefect API server on 127.0.0.1 for the duration of one command, as Prefect's ephemeral
mode does (a server subprocess on the project's `PREFECT_HOME`), but through the public CLI and before anything
heavy is imported: ephemeral mode would import the server's code into this process first (~3 s here) and only
then start it; started here, the server comes up on the other core while this process imports GX, MLflow and
Kedro. Its runs stay in `.prefect/`, which `make ui` shows.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from level2_pipeline.errors import UserFacingError
from level3_system.settings import Level3Settings


def die_with_parent() -> None:
    """In a child, before it runs: ask Linux to stop it when this process dies, however it dies (a killed command
    must not leave its temporary server behind). Elsewhere a no-op; the exit handler below covers normal exits."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


STATE_FILE = "platform.json"


def state_path(settings: Level3Settings) -> Path:
    return settings.prefect_root / STATE_FILE


def running_platform(settings: Level3Settings) -> dict[str, Any] | None:
    """The platform started from this project (`make platform` writes its state file), when it runs: its process
    alive and its API healthy."""
    try:
        state = json.loads(state_path(settings).read_text(encoding="utf-8"))
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return state if healthy(state["api_url"]) else None


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


class TemporaryPrefectServer:
    """A Prefect API server on a free port of 127.0.0.1, stopped when this process exits.

    Two commands started at once on a fresh `PREFECT_HOME` would both migrate its database, and one would fail
    ("duplicate column name"): servers start one at a time (a `flock` on the home, held until the server answers).
    """

    def __init__(self, prefect_home: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/api"
        prefect_home.mkdir(parents=True, exist_ok=True)
        self._log = (prefect_home / "server.log").open("ab")
        self._starting = (prefect_home / ".server-start.lock").open("a")
        self._process: subprocess.Popen[bytes] | None = None
        if self._lock(block=False):  # else another command's server is starting: this one starts in wait_ready
            self._start()
        os.environ["PREFECT_API_URL"] = self.url
        os.environ.setdefault("PREFECT_UI_URL", "")  # this server has no UI: no "View at" links to it in the log
        # Stopped at exit, and registered before Prefect is imported: exit handlers run last-registered first,
        # so Prefect's own (which flush logs and events to this server) run before the server goes away.
        atexit.register(self.stop)

    def _lock(self, block: bool) -> bool:
        try:
            fcntl.flock(self._starting, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
            return True
        except BlockingIOError:
            return False

    def _start(self) -> None:
        command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--no-services", "--no-ui", "--analytics-off", "--log-level", "ERROR"]
        self._process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent
        )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            while self._process is None and time.monotonic() < deadline:
                if self._lock(block=False):
                    self._start()
                else:
                    time.sleep(0.1)
            while self._process is not None and time.monotonic() < deadline:
                if self._process.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                        return
                except OSError:
                    time.sleep(0.1)
        finally:
            fcntl.flock(self._starting, fcntl.LOCK_UN)
            self._starting.close()
        raise UserFacingError(
            f"the temporary Prefect server did not start (see {self._log.name}); "
            "or point PREFECT_API_URL at a running server"
        )

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
        self._log.close()


def start_server_if_needed(settings: Level3Settings) -> TemporaryPrefectServer | None:
    """None when PREFECT_API_URL names a server, or when `make platform` runs from this project (its server is
    used: the run shows in its UI, its alert reaches its deployments); else a temporary server for this command."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    platform = running_platform(settings)
    if platform is not None:
        os.environ["PREFECT_API_URL"] = platform["api_url"]
        return None
    return TemporaryPrefectServer(settings.prefect_root)


def wait_for(server: TemporaryPrefectServer | None) -> None:
    if server is not None:
        server.wait_ready(timeout=float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")))
