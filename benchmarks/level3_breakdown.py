"""Where `make level3`'s time goes: the train command's own steps, in a fresh process, with a clock between them.

Why: the cut issue 21 asks for depends on which piece is on the critical path. The temporary Prefect server
starts on the other core while this process imports, so its start-up costs wall time only when it answers after
the imports have ended; the imports and the flow are this process's own CPU work. The probe runs what
`training.command.train` runs, in its order (check, server, `WARM_IMPORTS` one by one, wait, flow), watches the
server's health from a thread to learn when it answered, and times each task from the lines Prefect
logs (each task's end, as the console shows it: a task's figure includes Prefect's work in starting it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.compare import markdown_table

PROBE = r"""
import importlib, json, threading, time
started = time.perf_counter()
from level3_system.settings import apply_environment, load_settings
from level3_system.training import command
from level3_system.runtime.orchestration import healthy, start_server_if_needed, wait_for

settings = load_settings()
apply_environment(settings)
command.check_configuration(settings)
pieces = [("settings, configuration check", time.perf_counter() - started)]
server_started = time.perf_counter()
server = start_server_if_needed(settings)
answered = []

def watch():
    while not answered:
        if healthy(server.url, timeout=1):
            answered.append(time.perf_counter() - server_started)
        else:
            time.sleep(0.05)

if server is not None:
    threading.Thread(target=watch, daemon=True).start()
for module in command.WARM_IMPORTS:
    s = time.perf_counter()
    importlib.import_module(module)
    pieces.append((f"import {module}", time.perf_counter() - s))
imported = time.perf_counter() - server_started
s = time.perf_counter()
wait_for(server)
pieces.append(("waiting for the server after the imports", time.perf_counter() - s))
import logging
from level3_system.training.flow import train

marks = []  # (when, what): the flow run's first line, then each task's last ("Finished in state …")


class Marks(logging.Handler):
    def emit(self, record):
        message = record.getMessage()
        if record.name == "prefect.flow_runs" and message.startswith("Beginning flow run"):
            marks.append((record.created, "the flow run's creation, before its first task"))
        elif record.name == "prefect.task_runs" and message.startswith("Finished in state"):
            marks.append((record.created, f"task {getattr(record, 'task_name', '?')}"))


for name in ("prefect.task_runs", "prefect.flow_runs"):
    logging.getLogger(name).addHandler(Marks())
s, previous = time.perf_counter(), time.time()
state = train(settings=settings, return_state=True)
ended = previous + time.perf_counter() - s
for at, what in marks:
    pieces.append((what, at - previous))
    previous = at
pieces.append(("after the last task: the flow run's end", ended - previous))
print(json.dumps({"pieces": pieces, "completed": state.is_completed(), "server_answered": answered[0] if answered
                  else None, "imports_done": imported, "total": time.perf_counter() - started}))
"""


def measure(root: Path, env: dict[str, str]) -> dict[str, Any]:
    """One fresh process running the probe (a training like `make level3`'s: it registers a version)."""
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not done.stdout.strip():
        raise subprocess.CalledProcessError(done.returncode, ["level-3 probe"], done.stdout, done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(found: dict[str, Any], level3_median: float | None, level1_median: float | None) -> str:
    """The pieces as a table, then which of them are the critical path and what that means for a cut."""
    rows = [[name, f"{seconds:.2f}"] for name, seconds in found["pieces"]]
    rows.append(["total inside the process (interpreter start and exit not counted)", f"{found['total']:.2f}"])
    lines = [markdown_table(["piece of `python -m level3_system train` (one fresh process)", "seconds"], rows), ""]
    if not found["completed"]:
        lines.append("The probe's flow run did not complete: its figures are not a training's.")
    answered, imports_done = found["server_answered"], found["imports_done"]
    if answered is None:
        lines.append("No temporary server: a configured or running one was used (PREFECT_API_URL or `make platform`).")
    elif answered <= imports_done:
        lines.append(
            f"The temporary Prefect server answered {answered:.2f} s after it was started, "
            f"{imports_done - answered:.2f} s before the imports ended ({imports_done:.2f} s): its start-up is "
            "hidden on the other core, so a reused server would save no wall time; the imports and the flow are "
            "the critical path."
        )
    else:
        lines.append(
            f"The temporary Prefect server answered {answered:.2f} s after it was started, "
            f"{answered - imports_done:.2f} s after the imports ended: that wait is what a reused server "
            "(`make platform`) would save."
        )
    imports = sum(seconds for name, seconds in found["pieces"] if name.startswith("import "))
    flow = sum(
        seconds for name, seconds in found["pieces"] if name.startswith(("task ", "the flow run", "after the last"))
    )
    if level3_median is not None and level1_median is not None:
        lines.append(
            f"Imports {imports:.2f} s + flow {flow:.2f} s, against level 3's median {level3_median:.2f} s and "
            f"level 1's {level1_median:.2f} s (overhead {level3_median - level1_median:+.2f} s)."
        )
    return "\n".join(lines)
