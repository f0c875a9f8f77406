"""`make platform`: the loop on one laptop — a persistent Prefect server, the deployments' runner and the service.

All on 127.0.0.1: the Prefect server (its home `.prefect/`, kept between starts: schedules run only on a real
server), `python -m level3_system.operations.deployments` (the scheduled and drift-triggered training, the
monitor), the model service following the champion (it polls the registry every `platform.reload_seconds`),
and the MLflow UI of the embedded store. It refuses with one line when a port is taken, prints what runs where, writes
`.prefect/platform.json` so that `make level3`, `make monitor` and the UIs in another terminal use this server,
and stops everything it started on Ctrl-C or SIGTERM (the runner first: it must not start new runs meanwhile).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from level2_pipeline.errors import UserFacingError
from level2_pipeline.project import PROJECT_ROOT, shown
from level3_system.runtime.orchestration import die_with_parent, healthy, running_platform, state_path
from level3_system.settings import Level3Settings


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass
class Platform:
    settings: Level3Settings
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.settings.prefect_root / f"platform-{name}.log").open("ab")
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
        )
        self.processes.append((name, process))
        return process

    def start(self) -> None:
        settings, conf = self.settings, self.settings.platform
        settings.prefect_root.mkdir(parents=True, exist_ok=True)
        # The MLflow store created here, once: on a fresh clone the MLflow UI, the service and the deployments
        # would otherwise each migrate the same new SQLite file at once (alembic: "expected to match one row").
        from level3_system.lifecycle import registry

        registry.version_by_alias(settings)
        env = {**os.environ, "PREFECT_HOME": str(settings.prefect_root)}
        api = os.environ.get("PREFECT_API_URL")
        if api is None:
            api = f"http://127.0.0.1:{conf.prefect_port}/api"
            command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
            command += ["--port", str(conf.prefect_port), "--analytics-off", "--log-level", "WARNING"]
            server = self._start("prefect-server", command, env)
            self.urls["Prefect UI"] = f"http://127.0.0.1:{conf.prefect_port}"
            deadline = time.monotonic() + 180
            while not healthy(api) and time.monotonic() < deadline:
                if server.poll() is not None:
                    raise UserFacingError(
                        f"the Prefect server stopped at start (see {shown(self._log('prefect-server'))})"
                    )
                time.sleep(0.5)
            if not healthy(api):
                raise UserFacingError(
                    f"the Prefect server was not healthy in 180 s (see {self._log('prefect-server')})"
                )
        self.urls["Prefect API"] = api
        env.update(
            PREFECT_API_URL=api,
            PREFECT_RUNNER_POLL_FREQUENCY=str(conf.runner_poll_seconds),
            CHURN_SERVING__RELOAD_INTERVAL_SECONDS=str(conf.reload_seconds),
        )
        self._start("deployments", [sys.executable, "-m", "level3_system.operations.deployments"], env)
        self._start("service", [sys.executable, "-m", "level3_system", "serve", "--wait-for-champion"], env)
        self.urls["model service"] = f"http://{settings.serving.host}:{settings.serving.port}  (/docs)"
        if settings.embedded_mlflow and conf.mlflow_ui:
            command = [str(Path(sys.executable).parent / "mlflow"), "ui", "--backend-store-uri"]
            command += [settings.resolved_tracking_uri, "--host", "127.0.0.1", "--port", str(conf.mlflow_port)]
            self._start("mlflow-ui", command, env)
            self.urls["MLflow UI"] = f"http://127.0.0.1:{conf.mlflow_port}"
        state = {"pid": os.getpid(), "api_url": api, "urls": self.urls}
        state_path(settings).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    def _log(self, name: str) -> Path:
        return self.settings.prefect_root / f"platform-{name}.log"

    def stop(self) -> None:
        """The runner first (no new runs), then the service (it flushes its log), the UIs, the server last."""
        state_path(self.settings).unlink(missing_ok=True)
        for _, process in self.processes[1:] + self.processes[:1]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def died(self) -> str | None:
        for name, process in self.processes:
            if process.poll() is not None:
                return f"{name} exited with {process.returncode} (see {shown(self._log(name))})"
        return None


def check_ports(settings: Level3Settings) -> None:
    conf = settings.platform
    wanted = {"platform.prefect_port": conf.prefect_port, "serving.port": settings.serving.port}
    if settings.embedded_mlflow and conf.mlflow_ui:
        wanted["platform.mlflow_port"] = conf.mlflow_port
    if os.environ.get("PREFECT_API_URL"):
        wanted.pop("platform.prefect_port")
    for key, port in wanted.items():
        if port_taken(port):
            raise UserFacingError(
                f"port {port} on 127.0.0.1 is taken ({key}): stop what uses it, or set "
                f"CHURN_{key.upper().replace('.', '__')} to another port"
            )


def _first_champion(settings: Level3Settings, running: Platform) -> None:
    """A fresh clone's platform serves at once: the first champion is trained in it (its run in its UI). On a
    team's registry the service waits for one instead (bootstrap.py never registers there unasked)."""
    from level3_system.lifecycle.registry import NoModelError
    from level3_system.operations import bootstrap

    os.environ["PREFECT_API_URL"] = running.urls["Prefect API"]
    try:
        bootstrap.champion(settings)
    except NoModelError as exc:
        print(f"{exc}: the service waits for the first champion", flush=True)


def platform(settings: Level3Settings) -> int:
    if running_platform(settings) is not None:
        raise UserFacingError(f"a platform already runs from this project ({shown(state_path(settings))})")
    check_ports(settings)
    running = Platform(settings)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        running.start()
        width = max(len(name) for name in running.urls)
        for name, url in running.urls.items():
            print(f"{name:<{width}}  {url}")
        _first_champion(settings, running)
        print("deployments: train (cron; on the monitor's alert), monitor (interval) · Ctrl-C stops all", flush=True)
        while (why := running.died()) is None:
            time.sleep(1)
        print(f"platform: {why}: stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        running.stop()
