"""Two trainings at once: one promotion at a time, and one writer of level 2's data folders at a time.

Promotion — the champion a challenger is judged against is the champion it replaces.

MLflow's alias update is a plain write (no compare-and-set). Two trainings that judge against the same champion
v1 and then both move the alias lose an update: the second replaces the first's new champion without ever being
compared with it. So `promote` reads the champion, judges and moves the alias while holding this lock:

- with a Prefect server (`prefect_api_url`, the platform): a global concurrency limit of one slot named after the
  registered model. Runners on different hosts share it; the slot is a lease the server expires if its holder
  dies, so a crashed training cannot keep every later one waiting.
- without one (a laptop, one host): an exclusive `flock` on a file beside the embedded MLflow store (else in the
  data root). The OS releases it when the process ends, however it ends.

Waiting is bounded (ten minutes by default): a promotion that cannot get the lock fails with one line, and the
version stays `challenger` — no alias is moved without the lock.

Data — level 2's pipelines write their intermediate files (the model-input table, the split, the model) to fixed
paths under the data root, and a retraining with feedback saves its augmented split there and trains from it. Two
runs on one host (a scheduled and a drift-triggered one) would read each other's half-written files, so their data
steps take turns on a `flock` of the data root (`data_lock`); tracking, registering and judging run side by side.

Store — MLflow creates an embedded store's tables on its first connection, without a lock: two processes starting
on a new database both run `CREATE TABLE` and one fails ("table … already exists"). `registry` opens an embedded
store the first time in a process under `store_lock`, a `flock` beside the database file.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

from level2_pipeline.errors import UserFacingError
from level3_system.settings import Level3Settings

logger = logging.getLogger(__name__)

LEASE_SECONDS = 120.0  # longer than any promotion (load the champion, score a holdout, move an alias)
POLL_SECONDS = 0.2


class LockBusyError(UserFacingError):
    """Another training held a lock for longer than the timeout."""


def lock_name(settings: Level3Settings) -> str:
    return f"promotion-{settings.registered_model}"


@contextlib.contextmanager
def promotion_lock(settings: Level3Settings, timeout: float = 600.0) -> Iterator[str]:
    """Hold the registered model's promotion lock for the block; yields where the lock lives (for the log)."""
    started = time.monotonic()
    holder = _prefect_lock if settings.prefect_api_url else _file_lock
    with holder(settings, timeout) as where:
        waited = time.monotonic() - started
        if waited > 1.0:
            logger.info("promotion lock %s: waited %.1f s for another promotion", where, waited)
        yield where


def data_lock(settings: Level3Settings, timeout: float = 1800.0) -> contextlib.AbstractContextManager[str]:
    """Hold the data root's lock while level 2's pipelines write and read their files."""
    then = "this run stopped before training; train again once it is done"
    return _flock(settings.data_root / ".training.lock", timeout, then)


def store_lock(settings: Level3Settings, timeout: float = 120.0) -> contextlib.AbstractContextManager[str]:
    """Beside an embedded store's database: held while a process creates (or migrates) MLflow's tables."""
    database = Path(settings.resolved_tracking_uri.removeprefix("sqlite:///"))
    return _flock(database.parent / f".{database.name}.init.lock", timeout, "nothing was written; run it again")


def _file_lock(settings: Level3Settings, timeout: float) -> contextlib.AbstractContextManager[str]:
    """Beside an embedded store's database (every process using that store sees it), else in the data root."""
    uri = settings.resolved_tracking_uri
    folder = Path(uri.removeprefix("sqlite:///")).parent if uri.startswith("sqlite:///") else settings.data_root
    return _flock(folder / f".{lock_name(settings)}.lock", timeout)


@contextlib.contextmanager
def _flock(path: Path, timeout: float, then: str | None = None) -> Iterator[str]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusyError(_busy(path, timeout, then)) from None
                time.sleep(POLL_SECONDS)
        try:
            yield str(path)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _prefect_lock(settings: Level3Settings, timeout: float) -> Iterator[str]:
    from prefect.client.orchestration import get_client
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists

    name = lock_name(settings)
    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.upsert_global_concurrency_limit_by_name(name, limit=1)  # two first promotions may race to create it
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(
                concurrency(name, occupy=1, timeout_seconds=timeout, lease_duration=LEASE_SECONDS, strict=True)
            )
        except TimeoutError:
            raise LockBusyError(_busy(f"the Prefect concurrency limit {name}", timeout)) from None
        yield f"the Prefect concurrency limit {name}"


def _busy(where: object, timeout: float, then: str | None = None) -> str:
    then = then or "this version stays challenger; train again once it is done"
    return f"another training held {where} for over {timeout:.0f} s: {then}"
