"""`make soak`: the service under a minute of steady load while the platform does what it does in production.

Why: a fault test proves one failure at a time; a soak proves they add up to nothing. For `--seconds` (60): 32
keep-alive clients post real customers to `/predict` of `python -m level3_system serve`; the customers' true
outcomes are posted to `/feedback/batch` a moment later; every `--promote-every` seconds (10) a new version is
promoted by the promotion rule and the service reloads it (`/admin/reload`); halfway, `make monitor` runs once.
Everything lives in a temporary folder (its own MLflow store, prediction log and Prefect home): the project's
stores are not touched.

Reported: requests, errors (goal 0), p50/p99, the prediction log's rows against the requests accepted (goal:
equal, counted after the service's graceful stop), the service's RSS at start, after the first swap and at
the end (goal: flat from the first swap on, within 20 %: a service starts on its stored proof and loads sklearn
only with its first check or swap).
Exit 1 when an error happened or a row is missing; latency is a figure, memory a figure with PASS/MISS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.load import event_loop_factory, http_request, read_response
from benchmarks.servers import HOST, QUIET_ENV, StartError, free_port, start_server, stop_server, wait_ready
from benchmarks.soak_platform import Plan, prepare, promoter, rss_mib
from benchmarks.verdicts import verdict

TARGET_RSS_GROWTH = 0.20


class Load:
    """The closed-loop clients' shared tally, and the answered requests waiting for their outcome."""

    def __init__(self) -> None:
        self.ok = self.errors = 0
        self.latencies: list[float] = []
        self.answered: deque[tuple[float, str, str]] = deque()  # (answered at, request id, outcome)
        self.versions: dict[str, int] = {}


async def _client(n: str, port: int, requests: list[tuple[bytes, str]], load: Load, stop_at: float) -> None:
    clock = time.perf_counter
    reader, writer = await asyncio.open_connection(HOST, port)
    i = int(n.rsplit("-", 1)[-1])
    try:
        while clock() < stop_at:
            body, outcome = requests[i % len(requests)]
            request_id = f"{n}-{i}"
            started = clock()
            try:
                writer.write(http_request(port, "/predict", body, {"X-Request-ID": request_id}))
                status, keep_alive = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                load.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
                continue
            load.latencies.append(clock() - started)
            if status == 200:
                load.ok += 1
                load.answered.append((time.monotonic(), request_id, outcome))
            else:
                load.errors += 1
            if not keep_alive:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
            i += len(requests) // 97 + 32  # another customer next time
    finally:
        writer.close()


async def _load(
    port: int, requests: list[tuple[bytes, str]], clients: int, seconds: float, load: Load, name: str = "soak"
) -> None:
    stop_at = time.perf_counter() + seconds
    await asyncio.gather(*(_client(f"{name}-{n}", port, requests, load, stop_at) for n in range(clients)))


def _feedback(port: int, target: str, load: Load, stop: threading.Event, tally: dict[str, int]) -> None:
    """Every second: the outcomes of requests answered over a second ago, as one /feedback/batch."""
    import httpx

    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        while not (stop.is_set() and not load.answered):
            due = []
            while load.answered and (stop.is_set() or load.answered[0][0] < time.monotonic() - 1.0):
                due.append(load.answered.popleft())
            for start in range(0, len(due), 1000):
                chunk = due[start : start + 1000]
                body = {"outcomes": [{"request_id": r, target: o} for _, r, o in chunk]}
                answer = client.post("/feedback/batch", json=body)
                tally["posted"] += len(chunk)
                if answer.status_code == 200:
                    tally["recorded"] += int(answer.json()["recorded"])
                else:
                    tally["errors"] += 1
                    print(f"  feedback: {answer.status_code} {answer.text[:200]}", flush=True)
            if not stop.is_set():
                stop.wait(1.0)


def _monitor(env: dict[str, str], after: float, result: dict[str, Any]) -> None:
    time.sleep(after)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "level3_system", "monitor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    result.update(code=done.returncode, seconds=time.perf_counter() - started, out=done.stdout, err=done.stderr)


def _sample_rss(pid: int, started: float, stop: threading.Event, samples: list[tuple[float, float]]) -> None:
    while not stop.wait(1.0):
        samples.append((time.perf_counter() - started, rss_mib(pid)))


def _logged_rows(url: str) -> int:
    from sqlalchemy import func, select

    from level3_system.prediction_log.schema import create_engine, predictions

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            soak = (predictions.c.source == "predict") & predictions.c.request_id.like("soak-%")  # not the warm-up
            query = select(func.count()).select_from(predictions).where(soak)
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def run(args: argparse.Namespace, folder: Path) -> int:
    plan: Plan = prepare(folder, promotions=int((args.seconds - 1) // args.promote_every))
    port = free_port()
    env = {**os.environ, **QUIET_ENV, **plan.env, "CHURN_SERVING__HOST": HOST, "CHURN_SERVING__PORT": str(port)}
    service = start_server("service", [sys.executable, "-m", "level3_system", "serve"], env, port, "/ready", folder)
    try:
        wait_ready(service, 180)
        print(f"service ready after {service.ready_after:.1f} s on {HOST}:{port}", flush=True)
        requests = [(json.dumps(body).encode(), outcome) for body, outcome in plan.customers]
        load = Load()
        warm = Load()
        asyncio.run(_load(port, requests, 4, 2.0, warm, name="warm-up"))  # not in the figures; its rows are logged
        rss_start = rss_mib(service.process.pid)
        stop, tally, monitored = threading.Event(), {"posted": 0, "recorded": 0, "errors": 0}, {}
        feeder = threading.Thread(target=_feedback, args=(port, plan.target, load, stop, tally))
        monitor = threading.Thread(target=_monitor, args=(env, args.seconds / 2, monitored))
        swaps: Any = multiprocessing.get_context("spawn").Queue()
        promoting = multiprocessing.get_context("spawn").Process(
            target=promoter, args=(plan, port, args.promote_every, swaps)
        )
        print(
            f"soak: {args.clients} clients for {args.seconds:g} s; a promotion every {args.promote_every:g} s "
            f"({len(plan.candidates)}); feedback every second; the monitor at {args.seconds / 2:g} s",
            flush=True,
        )
        for worker in (feeder, monitor, promoting):
            worker.start()
        started = time.perf_counter()
        samples: list[tuple[float, float]] = []
        sampler = threading.Thread(target=_sample_rss, args=(service.process.pid, started, stop, samples), daemon=True)
        sampler.start()
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(_load(port, requests, args.clients, args.seconds, load))
        seconds = time.perf_counter() - started
        rss_end = rss_mib(service.process.pid)
        # after the first swap the process has loaded all it ever loads (sklearn, skops: start-up skips them)
        settled = next((rss for at, rss in samples if at >= args.promote_every + 3), rss_start)
        promoting.join(120)
        stop.set()
        feeder.join(120)
        monitor.join(600)
        promotions = []
        with contextlib.suppress(queue.Empty):
            for _ in plan.candidates:
                promotions.append(swaps.get(timeout=10))
    finally:
        stop_server(service)  # SIGTERM: the service flushes its log before it exits
    logged = _logged_rows(plan.env["CHURN_PREDICTION_LOG__URL"])
    rss = (rss_start, settled, rss_end)
    return report(args, load, seconds, tally, monitored, promotions, logged, rss, service)


def report(
    args: argparse.Namespace,
    load: Load,
    seconds: float,
    tally: dict[str, int],
    monitored: dict[str, Any],
    promotions: list[dict[str, Any]],
    logged: int,
    rss: tuple[float, float, float],
    service: Any,
) -> int:
    latencies = np.asarray(load.latencies) * 1000
    p50, p99 = (float(np.percentile(latencies, q)) for q in (50, 99)) if latencies.size else (float("nan"),) * 2
    swapped = [p for p in promotions if p.get("served")]
    failures = [p for p in promotions if p.get("error")]
    print(f"requests   {load.ok + load.errors:,} in {seconds:.1f} s ({load.ok / seconds:,.0f}/s), errors {load.errors}")
    shared = "the load generator, promotions and the monitor share the 2 cores"
    print(f"latency    p50 {p50:.2f} ms  p99 {p99:.2f} ms  ({shared})")
    print(f"feedback   {tally['posted']:,} outcomes posted, {tally['recorded']:,} recorded, {tally['errors']} errors")
    for p in promotions:
        then = f"served after {p['served']:.2f} s" if p.get("served") else p.get("error", "not served")
        print(f"promotion  v{p['version']}: {p.get('decision', '')[:90]}; {then}")
    monitor_line = (monitored.get("out") or monitored.get("err") or "").strip().splitlines()[:1]
    print(f"monitor    exit {monitored.get('code')} in {monitored.get('seconds', 0):.1f} s: {' '.join(monitor_line)}")
    same = "equal" if logged == load.ok else "DIFFERENT"
    print(f"log rows   {logged:,} written for {load.ok:,} requests accepted ({same})")
    start, settled, end = rss
    growth = end / settled - 1 if settled else float("nan")
    print(
        f"RSS        {start:.0f} MiB at start, {settled:.0f} MiB after the first swap, {end:.0f} MiB at end "
        f"({growth:+.1%} since the first swap; target within {TARGET_RSS_GROWTH:.0%}: "
        f"{verdict(abs(growth) <= TARGET_RSS_GROWTH)})"
    )
    exited = service.process.returncode
    problems = [f"{load.errors} request errors"] if load.errors else []
    problems += [f"{logged} log rows for {load.ok} accepted requests"] if logged != load.ok else []
    problems += [f"{tally['errors']} feedback errors"] if tally["errors"] else []
    problems += [f"{len(failures)} promotions not served"] if failures or len(swapped) < len(promotions) else []
    problems += [f"the monitor exited {monitored.get('code')}"] if monitored.get("code") not in (0,) else []
    problems += [f"the service exited {exited} on SIGTERM"] if exited not in (0, None) else []
    ok = "OK — 0 errors, every accepted request logged"
    print("soak: " + (ok if not problems else "FAILED: " + "; ".join(problems)))
    return 1 if problems else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load (default 60)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive clients (default 32)")
    parser.add_argument("--promote-every", type=float, default=10.0, help="seconds between promotions (default 10)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args(argv)
    if not 5 <= args.seconds <= 3600 or args.clients < 1 or not 1 <= args.promote_every <= args.seconds:
        parser.error("need 5 ≤ --seconds ≤ 3600, --clients ≥ 1 and 1 ≤ --promote-every ≤ --seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    folder = Path(tempfile.mkdtemp(prefix="churn_soak_"))
    print(f"soak folder {folder} (MLflow store, prediction log, Prefect home of its own)", flush=True)
    try:
        return run(args, folder)
    except StartError as exc:
        print(f"soak: the service did not start: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            import shutil

            with contextlib.suppress(OSError):
                shutil.rmtree(folder)


if __name__ == "__main__":
    raise SystemExit(main())
