"""What `bench_scoring` measures around a command: the memory and CPU of a whole process tree (sampled from
/proc every 50 ms), and a Dask cluster in miniature (a scheduler and two workers on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from level2_pipeline.project import PROJECT_ROOT


class TreeSampler:
    """Every 50 ms: RSS summed over `root`'s process tree and `extra` processes; CPU kept per pid."""

    def __init__(self, root: int, extra: list[int]) -> None:
        import psutil

        self._psutil = psutil
        self._root, self._extra = root, extra
        self._cpu: dict[int, float] = {}
        self._cpu_before = {pid: self._cpu_of(pid) for pid in extra}
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _cpu_of(self, pid: int) -> float:
        try:
            times = self._psutil.Process(pid).cpu_times()
            return times.user + times.system  # not children_*: a nanny reaps its worker, which was sampled
        except self._psutil.Error:
            return self._cpu.get(pid, 0.0)

    def _processes(self) -> list[object]:
        psutil = self._psutil
        found = []
        try:
            root = psutil.Process(self._root)
            found = [root, *root.children(recursive=True)]
        except psutil.Error:
            pass
        for pid in self._extra:
            with contextlib.suppress(psutil.Error):
                found.append(psutil.Process(pid))
        return found

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for process in self._processes():
                try:
                    total += process.memory_info().rss
                    self._cpu[process.pid] = self._cpu_of(process.pid)
                except self._psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(0.05)

    def stop(self, rusage_children: float) -> float:
        """Stops sampling; CPU-seconds: the command's tree (at least what the kernel reported for the waited-for
        child) plus the extra processes' increase."""
        self._stop.set()
        self._thread.join()
        extra = sum(self._cpu_of(pid) - self._cpu_before[pid] for pid in self._extra)
        tree = sum(v for pid, v in self._cpu.items() if pid not in self._extra)
        return max(tree, rusage_children) + extra


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_cluster(folder: Path, env: dict[str, str]) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, each a process of its own."""
    dask = str(Path(sys.executable).parent / "dask")
    scheduler_file = folder / "scheduler.json"
    log = (folder / "cluster.log").open("wb")
    common = {"cwd": PROJECT_ROOT, "env": env, "stdout": log, "stderr": log, "stdin": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                str(scheduler_file),
            ],
            **common,
        )
    ]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = json.loads(scheduler_file.read_text())["address"]
    for _ in range(2):
        processes.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--memory-limit",
                    "768MiB",
                    "--no-dashboard",
                    "--dashboard-address",
                    "127.0.0.1:0",
                    "--no-nanny",
                    "--host",
                    "127.0.0.1",
                ],
                **common,
            )
        )
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
    return address, processes


def stop_cluster(processes: list[subprocess.Popen[bytes]]) -> None:
    """Workers, then the scheduler: SIGTERM, and SIGKILL for what is still there after 10 s."""
    for process in reversed(processes):
        process.terminate()
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
