"""What a command needs before it runs, set up when it is missing: the raw data, a first champion, a service.

Every entry point works as the first command of a fresh clone: `make serve`, `make score`, `make monitor` or
`make demo-loop` on an empty registry train the first champion (what `make level3` does, and they say so);
`make traffic` with no service running starts one for the replay. The Makefile gives each target the
environment (`env`), and the commands name what else they need in `cli.COMMANDS` (`needs`).

A registry on a tracking server is a team's (a local SQLite file is not): there a command never registers a
model unasked, it still stops with one line saying to run `make level3`. So does a service configured for another
alias than `champion`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from level2_pipeline.errors import UserFacingError
from level3_system.settings import Level3Settings

DATA, CHAMPION, SERVICE = "data", "champion", "service"
NEEDS = (DATA, CHAMPION, SERVICE)
SERVICE_START_SECONDS = 180.0


def say(line: str) -> None:
    print(f"level 3: {line}", flush=True)


def raw_data(settings: Level3Settings) -> None:
    """The raw file of the configured source, fetched when missing and checked (as `make data` does)."""
    from level2_pipeline import ingestion

    ingestion.ingest(ingestion.load_config(settings.kedro_env, settings.data_root), strict=False)


def champion(settings: Level3Settings, tell: Callable[[str], Any] = say) -> bool:
    """A version under the serving alias; on an embedded, empty registry the first one is trained here.

    True when it trained one. NoModelError (one line) where it may not: a tracking server, another alias.
    """
    from level3_system.lifecycle import registry

    if registry.version_by_alias(settings) is not None:
        return False
    name, alias = settings.registered_model, settings.serving.model_alias
    if not _local(settings) or alias != "champion":
        registry.resolve(settings)  # raises NoModelError: "... run `make level3` first"
    tell(f"no model registered as {name}@{alias} yet: training the first one (what `make level3` does)")
    from level3_system.training.command import train

    if train(settings) != 0 or registry.version_by_alias(settings) is None:
        raise registry.NoModelError(f"the first training gave {name} no {alias} (its summary above says why)")
    return True


def _local(settings: Level3Settings) -> bool:
    """The embedded store, or a SQLite file / folder named by URI: this machine's, not a team's server."""
    uri = settings.tracking_uri
    return uri is None or uri.startswith(("sqlite:", "file:"))


def _ready(url: str) -> bool | None:
    """True: ready; False: something answers, not ready; None: nothing listens."""
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=5) as answer:
            return answer.status == 200
    except urllib.error.HTTPError:
        return False
    except OSError:
        return None


@contextlib.contextmanager
def service(settings: Level3Settings, tell: Callable[[str], Any] = say) -> Iterator[None]:
    """The service on the configured address: the running one, or one started for this command and stopped
    after it (SIGTERM: requests finish and the prediction log is flushed first)."""
    serving = settings.serving
    url = f"http://{serving.host}:{serving.port}"
    if _ready(url) is not None:  # a service (ready or not) or something else owns the port: the command says
        yield
        return
    log = settings.data_root / "09_monitoring" / "service.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    tell(f"no service on {url}: starting one for this command (`make serve` keeps one running; log {log})")
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "level3_system", "serve"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
    try:
        deadline = time.monotonic() + SERVICE_START_SECONDS
        while _ready(url) is not True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise UserFacingError(f"the service did not start on {url} (see {log})")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def prepare(settings: Level3Settings, needs: tuple[str, ...], arguments: dict[str, Any]) -> contextlib.ExitStack:
    """Set up what a command needs, in order; what lives while it runs (a service) is closed with the stack."""
    stack = contextlib.ExitStack()
    if DATA in needs:
        raw_data(settings)
    pinned = arguments.get("version") or arguments.get("alias") or arguments.get("wait_for_champion")
    if CHAMPION in needs and not pinned:
        champion(settings)
    if SERVICE in needs:
        stack.enter_context(service(settings))
    return stack
