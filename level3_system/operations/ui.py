"""`make ui`: the MLflow UI and the Prefect UI of the embedded stores on 127.0.0.1, until Ctrl-C or SIGTERM.

With a server configured instead (MLFLOW_TRACKING_URI, PREFECT_API_URL), its address is printed and nothing starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from level2_pipeline.project import PROJECT_ROOT
from level3_system.settings import Level3Settings


def ui(settings: Level3Settings) -> int:
    """Start the UIs of the embedded stores (or print the servers' addresses) until Ctrl-C."""
    from level3_system.runtime.orchestration import running_platform

    platform = running_platform(settings)
    if platform is not None:  # `make platform` runs: its UIs are up already
        for name, url in platform["urls"].items():
            print(f"{name}: {url}  (make platform)")
        return 0
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
