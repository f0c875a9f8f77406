"""`python -m level3_system <command>`: the level-3 system's entry point (the Makefile calls it).

train      run the Prefect flow: gates, level-2 pipelines, MLflow tracking, registry, promotion
validate   run the two validation gates alone (no training, no registry)
ui         start the MLflow UI and the Prefect UI on 127.0.0.1
serve      serve the champion model with FastAPI on 127.0.0.1:8000

Each command imports only what it needs: `validate` never loads Prefect or MLflow.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from level2_pipeline.runner import PROJECT_ROOT, UserFacingError
from level3_system.settings import Level3Settings, apply_environment, get_settings

logger = logging.getLogger("level3_system")
METRICS_SHOWN = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "brier")


def _shown(path: Path | str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class TemporaryPrefectServer:
    """Embedded mode: a Prefect API server on 127.0.0.1 for the duration of one command.

    This is what Prefect's ephemeral mode does (a server subprocess on the project's `PREFECT_HOME`), started
    through the public CLI before anything heavy is imported. Ephemeral mode would import the server's code
    into this process first (~3 s here) and only then start it; started here, the server comes up on the other
    core while this process imports GX, MLflow and Kedro. Its runs stay in `.prefect/`, which `make ui` shows.
    """

    def __init__(self, prefect_home: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/api"
        prefect_home.mkdir(parents=True, exist_ok=True)
        self._log = (prefect_home / "server.log").open("wb")
        command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--no-services", "--no-ui", "--analytics-off", "--log-level", "ERROR"]
        self._process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        os.environ["PREFECT_API_URL"] = self.url
        os.environ.setdefault("PREFECT_UI_URL", "")  # this server has no UI: no "View at" links to it in the log
        # Stopped at exit, and registered before Prefect is imported: exit handlers run last-registered first,
        # so Prefect's own (which flush logs and events to this server) run before the server goes away.
        atexit.register(self.stop)

    def wait_ready(self, timeout: float) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise UserFacingError(
            f"the temporary Prefect server did not start (see {self._log.name}); "
            "or point PREFECT_API_URL at a running server"
        )

    def stop(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
        self._log.close()


def _warm_imports() -> None:
    """What the flow's tasks import, loaded while the Prefect server starts (no task pays it on the clock)."""
    import great_expectations  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import mlflow.sklearn  # noqa: F401
    import skl2onnx  # noqa: F401
    import skops.io  # noqa: F401  - MLflow saves sklearn models with skops
    from kedro.framework.session import KedroSession  # noqa: F401
    from prefect import flow  # noqa: F401


def format_summary(summary: Any) -> str:
    lines = [f"level 3 · flow run {summary.flow_run} · {summary.seconds:.1f} s"]
    for report in summary.validation:
        mark = "passed" if report["success"] else "FAILED"
        passed = report["evaluated"] - len(report["failures"])
        lines.append(f"  validation  {report['gate']:<12} {passed}/{report['evaluated']} expectations {mark}")
        lines += [f"      - {failure}" for failure in report["failures"]]
    docs = next((r["data_docs"] for r in summary.validation if r.get("data_docs")), None)
    if docs:
        lines.append(f"  data docs   {_shown(docs)}")
    if summary.status == "stopped":
        lines.append("  stopped before training: the registry was not touched")
        return "\n".join(lines)
    metrics = "  ".join(f"{k} {summary.metrics[k]:.4f}" for k in METRICS_SHOWN if k in summary.metrics)
    lines.append(f"  metrics     {metrics}")
    lines.append(f"  mlflow      run {summary.run_id} (experiment {summary.experiment_id})")
    lines.append(f"  registry    {summary.registered_model} version {summary.model_version} → {summary.status}")
    lines += [f"      - {reason}" for reason in summary.decision]
    lines.append(f"  reports     {_shown(summary.reports_dir)}")
    return "\n".join(lines)


def train(settings: Level3Settings) -> int:
    server = None if os.environ.get("PREFECT_API_URL") else TemporaryPrefectServer(settings.prefect_root)
    _warm_imports()
    if server is not None:
        server.wait_ready(timeout=float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))
    from level3_system.flows import train as train_flow

    state = train_flow(settings=settings, return_state=True)
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        message = str(summary)
        print(f"level 3 failed: {message}", file=sys.stderr)
        return 1
    print(format_summary(summary))
    return 1 if summary.status == "stopped" else 0


def validate(settings: Level3Settings) -> int:
    from level2_pipeline import ingestion
    from level3_system.compose import gate_model_input, gate_raw, run_level2

    config = ingestion.load_config(settings.kedro_env, settings.data_root)
    raw = ingestion.ingest(config, strict=False)
    reports = [gate_raw(settings, raw.path, config.contract)]
    if reports[0].success:
        table = run_level2(settings, "data_processing").load("model_input_table")
        reports.append(gate_model_input(settings, table, config.contract))
    for report in reports:
        print(f"{report.summary()}{'' if report.success else ' — FAILED'}")
        for failure in report.failures:
            print(f"  - {failure}")
    docs = next((r.data_docs for r in reports if r.data_docs), None)
    if docs:
        print(f"data docs: {_shown(docs)}")
    return 0 if all(r.success for r in reports) else 1


def ui(settings: Level3Settings) -> int:
    """Start the UIs of the embedded stores (or print the servers' addresses) until Ctrl-C."""
    bin_dir = Path(sys.executable).parent
    processes: list[subprocess.Popen[bytes]] = []
    if settings.embedded_mlflow:
        processes.append(
            subprocess.Popen(
                [
                    str(bin_dir / "mlflow"),
                    "ui",
                    "--backend-store-uri",
                    settings.resolved_tracking_uri,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "5000",
                ],
                cwd=PROJECT_ROOT,
            )
        )
        print("MLflow UI:  http://127.0.0.1:5000")
    else:
        print(f"MLflow:     {settings.tracking_uri}")
    if settings.prefect_api_url or os.environ.get("PREFECT_API_URL"):
        print(f"Prefect:    {settings.prefect_api_url or os.environ['PREFECT_API_URL']}")
    else:
        processes.append(
            subprocess.Popen([str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", "4200"])
        )
        print("Prefect UI: http://127.0.0.1:4200  (flow runs of the embedded mode are kept in .prefect/)")
    if not processes:
        return 0
    print("Ctrl-C stops them.", flush=True)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # `kill` stops them as cleanly as Ctrl-C
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0


def _configure_logging(command: str) -> None:
    """Plain lines, except under Prefect, which installs its own console format when no root handler exists."""
    if command != "train":
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for name in ("level2_pipeline", "level3_system"):
        logging.getLogger(name).setLevel(logging.INFO)
    for name in ("great_expectations", "kedro", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def serve(settings: Level3Settings) -> int:
    """Serve the champion with uvicorn; refuse to start without one."""
    from level3_system.serving.model_store import NoModelError, resolve

    serving = settings.serving
    try:
        version = resolve(settings)
    except NoModelError as exc:
        print(f"level 3 serve: {exc}", file=sys.stderr)
        return 1
    if serving.host not in LOOPBACK and not serving.api_key:
        logger.warning(
            "WARNING: binding to %s without an API key: anyone who can reach it can call /predict and "
            "/admin/reload. Set CHURN_SERVING__API_KEY.",
            serving.host,
        )
    import uvicorn

    from level3_system.serving.app import create_app

    app = create_app(settings)
    print(
        f"serving {settings.registered_model}@{serving.model_alias} (version {version.version}) on "
        f"http://{serving.host}:{serving.port}  — try http://{serving.host}:{serving.port}/docs",
        flush=True,
    )
    uvicorn.run(app, host=serving.host, port=serving.port, log_level="warning", access_log=False)
    return 0


COMMANDS = {"train": train, "validate": validate, "ui": ui, "serve": serve}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m level3_system", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    _configure_logging(args.command)
    try:
        settings = get_settings()
    except Exception as exc:  # pydantic's ValidationError: a bad value in conf/ or the environment
        print(
            f"level 3: invalid settings (conf/base/level3.yml or CHURN_* variables): {' '.join(str(exc).split())}",
            file=sys.stderr,
        )
        return 2
    apply_environment(settings)
    try:
        return COMMANDS[args.command](settings)
    except UserFacingError as exc:
        print(f"level 3 failed: {exc}", file=sys.stderr)
        return 1
