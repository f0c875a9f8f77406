"""The FastAPI service: `create_app()` assembles settings, the model store, the routers and error handling.

The model is loaded in the lifespan (never per request), from the registry, with the contract and cleaning it was
trained with (`model_store.py`). Each domain has its router (`routes/`): scoring first, because routes are
matched in order and the hot path is measurable at ~0.1 ms a request; probes; admin. Adding an endpoint is a
module in `routes/` and one line below.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool

from level2_pipeline.config import load_contract_and_clean
from level2_pipeline.project import apply_quiet_environment
from level3_system.lifecycle.registry import NoModelError
from level3_system.monitoring.outputs import LATEST, folder
from level3_system.prediction_log.schema import create_engine
from level3_system.prediction_log.store import log_url, open_log
from level3_system.prediction_log.writer import PredictionLogWriter
from level3_system.serving import docs, errors, openapi
from level3_system.serving.deps import api_key_guard
from level3_system.serving.metrics import Metrics, MonitoringCollector, PredictionLogCollector
from level3_system.serving.middleware import GuardAndMeasure
from level3_system.serving.model_store import FromConf, LoadedModel, ModelStore
from level3_system.serving.routes import admin, feedback, probes, scoring
from level3_system.settings import Level3Settings, get_settings

logger = logging.getLogger(__name__)
T = TypeVar("T")


def create_app(settings: Level3Settings | None = None, *, from_conf: FromConf | None = None) -> FastAPI:
    """The service for `settings` (default: conf/ and the environment).

    `from_conf` gives today's contract and cleaning (default: read from conf/ when first needed): used only for
    the docs before a model is loaded and for a version registered without its own (a warning says so).
    """
    apply_quiet_environment()
    settings = settings or get_settings()
    conf = from_conf or _lazy(lambda: load_contract_and_clean(settings.kedro_env))
    metrics = Metrics()
    store = ModelStore(settings, conf, on_failed_check=lambda: metrics.reloads.labels("failed").inc())
    log = settings.prediction_log
    writer = (
        PredictionLogWriter(
            lambda: create_engine(log_url(settings)),
            queue_rows=log.queue_rows,
            batch_rows=log.batch_rows,
            flush_seconds=log.flush_seconds,
        )
        if log.enabled
        else None
    )
    metrics.registry.register(PredictionLogCollector(lambda: writer))
    metrics.registry.register(MonitoringCollector(folder(settings.reports) / LATEST))

    def reload() -> tuple[str | None, LoadedModel]:
        """Every attempt is counted by outcome on /metrics: a failure keeps the current model (and /ready)."""
        try:
            previous, model = store.reload()
        except NoModelError:
            metrics.reloads.labels("no_model").inc()
            raise
        except Exception:
            metrics.reloads.labels("failed").inc()
            raise
        metrics.reloads.labels("swapped" if previous != model.version else "unchanged").inc()
        metrics.model_version.set(float(model.version))
        return previous, model

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if writer is not None:
            writer.start()
        try:
            await run_in_threadpool(reload)
        except NoModelError as exc:
            logger.error("%s (the service stays unready)", exc)
        poller = None
        if settings.serving.reload_interval_seconds > 0:
            poller = asyncio.create_task(_poll(reload, settings.serving.reload_interval_seconds))
        yield
        if poller is not None:
            poller.cancel()
        if writer is not None:  # graceful shutdown (SIGTERM, Ctrl-C): what is queued is written first
            await run_in_threadpool(writer.close, log.close_timeout_seconds)

    app = FastAPI(
        title=openapi.title_of(store.conf_contract()),
        version="1.0",
        lifespan=lifespan,
        docs_url=None,  # served by docs.install from local assets
        redoc_url=None,
    )
    guarded = api_key_guard(settings)
    routers: list[APIRouter] = [scoring.router, feedback.router, probes.router, admin.router]  # matched in order
    app.state.settings, app.state.store, app.state.metrics = settings, store, metrics
    app.state.reload, app.state.routers = reload, routers
    app.state.prediction_log, app.state.log_engine = writer, _lazy(lambda: open_log(settings) if log.enabled else None)
    denied = errors.responses(401) if guarded else None  # documented only where it can be answered
    for router in routers:
        if router is probes.router:
            app.include_router(router)
        else:
            app.include_router(router, dependencies=guarded, responses=denied)
    docs.install(app)
    errors.install(app)
    openapi.install(app, settings)
    # FastAPI 0.150 lists an included router as one entry without a path: read the routers' own routes.
    known = {r.path for router in (app, *routers) for r in router.routes if hasattr(r, "path")}
    app.add_middleware(
        GuardAndMeasure,
        metrics=metrics,
        max_body_bytes=settings.serving.max_body_bytes,
        known_paths=known,
        fast_lane=scoring.fast_lane(app.state),
    )
    return app


async def _poll(reload: Callable[[], object], interval: float) -> None:
    """Follow the alias: a promoted version is served within `interval` seconds. A failed reload (the registry
    unreachable, a version that does not load) keeps the current model; the next poll tries again."""
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(reload)
        except NoModelError:
            logger.debug("no champion yet")
        except Exception as exc:  # keep serving the current model; try again next time
            logger.warning("reload failed, still serving the current model: %s", exc)


def _lazy(load: Callable[[], T]) -> Callable[[], T]:
    """Load once, when first asked: conf/ (a service whose versions carry their contract may never read it), the
    prediction log's engine for feedback (a service that gets no feedback never opens one)."""
    cached: list[T] = []

    def get() -> T:
        if not cached:
            cached.append(load())
        return cached[0]

    return get
