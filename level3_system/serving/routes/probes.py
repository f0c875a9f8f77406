"""Probes: is the process alive, is a model loaded, which one, and the Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from level3_system.serving.deps import Model, ServiceMetrics, Store
from level3_system.serving.schemas import ModelInfo

router = APIRouter(tags=["service"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "alive"}


@router.get("/ready", responses={503: {"description": "no model loaded yet, or the loaded one failed its check"}})
async def ready(store: Store) -> JSONResponse:
    """200 once a model is loaded, 503 before (and after a version withdrawn by its load-time check: why)."""
    current = store.current
    if current is None:
        if store.refused:
            return JSONResponse({"status": "refused", "reason": store.refused}, status_code=503)
        return JSONResponse({"status": "loading"}, status_code=503)
    return JSONResponse({"status": "ready", "model_version": current.version})


@router.get("/model")
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
        input_schema=current.requests.customer.model_json_schema(),
    )


@router.get("/metrics", response_class=PlainTextResponse)
async def prometheus(metrics: ServiceMetrics) -> PlainTextResponse:
    """Prometheus text format."""
    return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
