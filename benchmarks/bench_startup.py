"""`python -m benchmarks.bench_startup`: seconds from process start to ready, the service against `mlflow models
serve`, on the same champion.

Why: a rolling restart or a scale-out waits for each new process to be ready; a service that takes 9 s to come up
makes every deploy slow and every crash long. Each server is started alone (nothing else starting beside it), in
alternation (ours, mlflow, ours, …) so a busy moment of a shared machine falls on all alike, and the median of
`--runs` is reported, with the machine's load average. Ready means: ours answers 200 on /ready (a model loaded,
scoring on the fast path stored with it); mlflow's answers 200 on /ping.

Ours is started twice over: on the embedded registry (SQLite: MLflow's client loads its SQLAlchemy store and
checks the schema, ~1.3 s of the total) and through an `mlflow server` in front of the same store, as a fleet
that restarts behind a load balancer reaches its registry. The target is that second figure.

Target (PASS/MISS, never a failure): ours ≤ 3 s to /ready through a tracking server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.servers import HOST, QUIET_ENV, StartError, free_port, start_server, stop_server, wait_ready
from benchmarks.verdicts import verdict

TARGET_SECONDS = 3.0


def _start_once(
    name: str, settings: Any, base: dict[str, str], log: str, tracking: str, model_uri: str, logs: Path
) -> float:
    """Start one server, wait until it is ready, stop it: the seconds it took."""
    bin_dir = Path(sys.executable).parent
    port = free_port()
    if name == "mlflow":
        command = [str(bin_dir / "mlflow"), "models", "serve", "--env-manager", "local", "-h", HOST]
        command += ["-p", str(port), "-m", model_uri]
        env, probe = {**base, "MLFLOW_TRACKING_URI": settings.resolved_tracking_uri}, "/ping"
    else:
        command = [sys.executable, "-m", "level3_system", "serve", "--port", str(port)]
        uri = tracking if name == "server" else settings.resolved_tracking_uri
        env, probe = {**base, "CHURN_PREDICTION_LOG__URL": log, "MLFLOW_TRACKING_URI": uri}, "/ready"
    server = start_server(name, command, env, port, probe, logs)
    try:
        wait_ready(server, 180)
    finally:
        stop_server(server)
    return server.ready_after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_startup", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="starts of each server (default 3)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("need --runs ≥ 1")
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    from level3_system.lifecycle import registry
    from level3_system.operations import bootstrap
    from level3_system.settings import get_settings

    settings = get_settings()
    bootstrap.champion(settings)  # a fresh clone: the first champion is trained here (make level3)
    version = registry.resolve(settings)
    bin_dir = Path(sys.executable).parent
    model_uri = f"models:/{settings.registered_model}@{settings.serving.model_alias}"
    load_before = os.getloadavg()[0]
    seconds: dict[str, list[float]] = {"embedded": [], "server": [], "mlflow": []}
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as logs:
        base = {**os.environ, **QUIET_ENV, "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])}
        log = f"sqlite:///{(Path(logs) / 'log.sqlite').as_posix()}"  # not the project's prediction log
        port = free_port()
        registry_command = [str(bin_dir / "mlflow"), "server", "--host", HOST, "--port", str(port), "--workers", "1"]
        registry_command += ["--backend-store-uri", settings.resolved_tracking_uri]
        tracking = start_server("mlflow server", registry_command, base, port, "/health", Path(logs))
        try:
            wait_ready(tracking, 180)
            for _ in range(args.runs):
                for name in seconds:
                    took = _start_once(name, settings, base, log, f"http://{HOST}:{port}", model_uri, Path(logs))
                    seconds[name].append(took)
                    print(f"  {name:<8} ready after {took:5.2f} s", flush=True)
        except StartError as exc:
            print(f"bench_startup: {exc}", file=sys.stderr)
            return 1
        finally:
            stop_server(tracking)
    embedded, served, theirs = (statistics.median(seconds[n]) for n in seconds)
    print(
        f"start-up to ready · {settings.registered_model} version {version.version} · median of {args.runs}, each "
        f"server alone · load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"  ours, registry through an mlflow server (/ready)  {served:5.2f} s   ours/theirs {served / theirs:.2f}")
    print(
        f"  ours, embedded SQLite registry (/ready)           {embedded:5.2f} s   ours/theirs {embedded / theirs:.2f}"
    )
    print(f"  mlflow models serve, embedded registry (/ping)    {theirs:5.2f} s")
    target = f"start-up ≤ {TARGET_SECONDS:g} s to /ready (through a tracking server)"
    print(f"targets\n  {target}  {served:5.2f} s  {verdict(served <= TARGET_SECONDS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
