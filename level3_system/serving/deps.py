"""The service's dependencies: what a route needs, read from the app it runs in (`app.state`, set by `create_app`).

Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in the thread pool, and a thread
hop per /predict costs more than the model (benchmarks/bench_serving.py: ~0.7 -> ~0.3 ms per request). The
scoring routes call `current_model` directly rather than through `Depends`, which saves its resolution on the
hot path; the other routes use the `Annotated` aliases below.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.params import Depends as DependsParam
from fastapi.security import APIKeyHeader

from level3_system.serving.metrics import Metrics
from level3_system.serving.model_store import LoadedModel, ModelStore
from level3_system.settings import Level3Settings


async def get_store(request: Request) -> ModelStore:
    return request.app.state.store


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def current_model(request: Request) -> LoadedModel:
    """The version being served, read once per request: a reload during the request does not change it."""
    current = request.app.state.store.current
    if current is None:
        raise HTTPException(503, "no model loaded yet: run `make level3`, then POST /admin/reload")
    return current


Store = Annotated[ModelStore, Depends(get_store)]
ServiceMetrics = Annotated[Metrics, Depends(get_metrics)]
Model = Annotated[LoadedModel, Depends(current_model)]


def api_key_guard(settings: Level3Settings) -> list[DependsParam]:
    """The X-API-Key check for a router, or nothing when no key is set (each dependency costs µs per request)."""
    expected = settings.serving.api_key
    if not expected:
        return []

    # A security scheme, not a plain header parameter: the OpenAPI document says how to authenticate.
    scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="the service's key (serving.api_key)")

    # A default, not `Annotated[..., Security(scheme)]`: with postponed annotations FastAPI cannot resolve a local.
    async def api_key(x_api_key: str | None = Security(scheme)) -> None:
        if not api_key_matches(x_api_key, expected):
            raise HTTPException(401, "missing or wrong X-API-Key header")

    return [Security(api_key)]


def api_key_matches(given: str | bytes | None, expected: str) -> bool:
    """The one key comparison (the routers' guard and the fast lane's): constant time, so a wrong key's answer
    does not say how much of it was right."""
    if not given:
        return False
    return secrets.compare_digest(given if isinstance(given, bytes) else given.encode(), expected.encode())
