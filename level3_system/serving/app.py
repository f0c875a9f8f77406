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

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool

from level2_pipeline.config import load_contract_and_clean
from level2_pipeline.project import apply_quiet_environment
from level3_system.registry import NoModelError
from level3_system.serving import docs, errors, openapi
from level3_system.serving.deps import api_key_guard
from level3_system.serving.metrics import Metrics
from level3_system.serving.middleware import GuardAndMeasure
from level3_system.serving.model_store import FromConf, LoadedModel, ModelStore
from level3_system.serving.routes import admin, probes, scoring
from level3_system.settings import Level3Settings, get_settings

logger = logging.getLogger(__name__)


def create_app(settings: Level3Settings | None = None, *, from_conf: FromConf | None = None) -> FastAPI:
    """The service for `settings` (default: conf/ and the environment).

    `from_conf` gives today's contract and cleaning (default: read from conf/ when first needed): used only for
    the docs before a model is loaded and for a version registered without its own (a warning says so).
    """
    apply_quiet_environment()
    settings = settings or get_settings()
    conf = from_conf or _lazy(lambda: load_contract_and_clean(settings.kedro_env))
    store = ModelStore(settings, conf)
    metrics = Metrics()

    def reload() -> tuple[str | None, LoadedModel]:
        previous, model = store.reload()
        metrics.model_version.set(float(model.version))
        return previous, model

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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

    app = FastAPI(
        title=openapi.title_of(store.conf_contract()),
        version="1.0",
        lifespan=lifespan,
        docs_url=None,  # served by docs.install from local assets
        redoc_url=None,
    )
    guarded = api_key_guard(settings)
    routers: list[APIRouter] = [scoring.router, probes.router, admin.router]  # matched in this order
    app.state.settings, app.state.store, app.state.metrics = settings, store, metrics
    app.state.reload, app.state.routers = reload, routers
    for router in routers:
        app.include_router(router, dependencies=guarded if router is not probes.router else [])
    docs.install(app)
    errors.install(app)
    openapi.install(app, settings)
    # FastAPI 0.150 lists an included router as one entry without a path: read the routers' own routes.
    known = {r.path for router in (app, *routers) for r in router.routes if hasattr(r, "path")}
    app.add_middleware(
        GuardAndMeasure, metrics=metrics, max_body_bytes=settings.serving.max_body_bytes, known_paths=known
    )
    return app


async def _poll(reload: Callable[[], object], interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(reload)
        except Exception as exc:  # keep serving the current model; try again next time
            logger.warning("reload failed, still serving the current model: %s", exc)


def _lazy(load: FromConf) -> FromConf:
    """Read conf/ once, when first asked (a service whose versions carry their contract may never ask)."""
    cached: list[tuple] = []

    def get() -> tuple:
        if not cached:
            cached.append(load())
        return cached[0]

    return get  # type: ignore[return-value]
