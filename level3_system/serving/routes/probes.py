"""Probes: is the process alive, is a model loaded, which one, and the Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from level3_system.serving.deps import Model, ServiceMetrics, Store
from level3_system.serving.errors import ErrorBody, error_body, responses
from level3_system.serving.responses import DecisionInfo, ModelInfo

router = APIRouter(tags=["service"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "alive"}


class Ready(BaseModel):
    status: Literal["ready"]
    model_version: str


class NotReady(ErrorBody):
    """The error shape, with the probe's status: `loading` before a model is loaded, `refused` after a version
    withdrawn by its load-time check (`error` says why)."""

    status: Literal["loading", "refused"]
    reason: str | None = Field(default=None, description="refused: why the version was withdrawn")


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"description": "no model loaded yet, or the loaded one failed its check", "model": NotReady}},
)
async def ready(request: Request, store: Store) -> JSONResponse:
    """200 once a model is loaded, 503 before (and after a version withdrawn by its load-time check: why)."""
    current = store.current
    if current is None:
        if store.refused:
            error = f"the loaded version was withdrawn: {store.refused}"
            body = error_body(request, error, status="refused", reason=store.refused)
        else:
            body = error_body(
                request, "no model loaded yet: run `make level3`, then POST /admin/reload", status="loading"
            )
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "model_version": current.version})


@router.get("/model", responses=responses(500, 503))
async def model_info(current: Model) -> ModelInfo:
    """What is being served: registry version, its metrics, threshold, the contract it carries and its schema."""
    return ModelInfo(
        name=current.name,
        version=current.version,
        alias=current.alias,
        run_id=current.run_id,
        metrics=current.metrics,
        trained_at=current.trained_at,
        threshold=current.threshold,
        fast_path=current.fast_path,
        contract=current.contract.name,
        contract_source=current.trained_with.source,
        promotion=current.promotion,
        trigger=current.trigger,
        decision=DecisionInfo(
            **current.offers.to_dict(),
            value_per_1000=(current.decision or {}).get("value_per_1000"),
            interval_95=(current.decision or {}).get("interval_95"),
        ),
        input_schema=current.requests.customer.model_json_schema(),
    )


@router.get("/metrics", response_class=PlainTextResponse)
async def prometheus(metrics: ServiceMetrics) -> PlainTextResponse:
    """Prometheus text format."""
    return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
