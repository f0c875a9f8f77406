"""The FastAPI service: `create_app()` assembles settings, the model store, routes and error handling.

The model is loaded in the lifespan (never per request). `/predict` scores one customer on the event loop
(~0.1 ms with the ONNX fast path: a thread hop would cost more than the work); `/predict/batch` runs in the
thread pool so a 10,000-row batch does not stall single-row requests.
"""

# No `from __future__ import annotations` here: routes are annotated with classes built inside create_app()
# (the request models come from the data contract), which FastAPI must see as objects, not strings.
import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from level2_pipeline.contract import DataContract
from level3_system.contract import load_parameters
from level3_system.serving.model_store import LoadedModel, ModelStore, NoModelError
from level3_system.serving.monitoring import BodyTooLarge, GuardAndMeasure, Metrics
from level3_system.serving.schemas import (
    BatchPrediction,
    ChurnPrediction,
    ModelInfo,
    ReloadResult,
    ScoredCustomer,
    batch_model,
    customer_model,
)
from level3_system.settings import Level3Settings, get_settings

logger = logging.getLogger(__name__)


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p != "body"]
    return ".".join(parts) or "body"


def _offline_docs(app: FastAPI) -> None:
    """/docs with Swagger UI from the installed `fastapi_offline` assets: it works on a machine with no internet
    (FastAPI's default page loads its JavaScript and CSS from a CDN)."""
    from importlib.resources import files

    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount("/static/docs", StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Any:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — docs",
            swagger_js_url="/static/docs/swagger-ui-bundle.js",
            swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/docs/favicon.png",
        )


def create_app(settings: Level3Settings | None = None, contract: DataContract | None = None) -> FastAPI:
    settings = settings or get_settings()
    parameters = load_parameters(settings.kedro_env)
    contract = contract or DataContract.model_validate(parameters["data_contract"])
    fill_missing = dict(parameters.get("clean", {}).get("fill_missing", {}))
    store = ModelStore(settings, contract, fill_missing)
    metrics = Metrics()
    Customer = customer_model(contract)
    CustomerBatch = batch_model(Customer, settings.serving.max_batch, contract)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(_reload)
        except NoModelError as exc:
            logger.error("%s (the service stays unready)", exc)
        poller = None
        if settings.serving.reload_interval_seconds > 0:
            poller = asyncio.create_task(_poll(settings.serving.reload_interval_seconds))
        yield
        if poller is not None:
            poller.cancel()

    def _reload() -> tuple[str | None, LoadedModel]:
        previous, model = store.reload()
        metrics.model_version.set(float(model.version))
        return previous, model

    async def _poll(interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await run_in_threadpool(_reload)
            except Exception as exc:  # keep serving the current model; try again next time
                logger.warning("reload failed, still serving the current model: %s", exc)

    # Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in the thread pool, and two
    # thread hops per /predict cost more than the model (benchmarks/bench_serving.py: ~0.7 -> ~0.3 ms per request).
    async def model() -> LoadedModel:
        current = store.current
        if current is None:
            raise HTTPException(503, "no model loaded yet: run `make level3`, then POST /admin/reload")
        return current

    async def api_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
        expected = settings.serving.api_key
        if expected and not (x_api_key and secrets.compare_digest(x_api_key, expected)):
            raise HTTPException(401, "missing or wrong X-API-Key header")

    Model = Annotated[LoadedModel, Depends(model)]
    app = FastAPI(
        title=f"{contract.name.replace('_', ' ').capitalize()} API",  # "Telco churn API" for telco_churn
        version="1.0",
        description=f"Probability that {contract.target} is {contract.positive_class!r}, from the registry's "
        f"{settings.registered_model}@{settings.serving.model_alias} model. {contract.description} "
        "Request schema generated from the data contract (conf/<env>/data_contract.yml).",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets
        redoc_url=None,
    )

    probes = APIRouter(tags=["service"])

    @probes.get("/health")
    async def health() -> dict[str, str]:
        """The process is alive."""
        return {"status": "alive"}

    @probes.get("/ready", responses={503: {"description": "no model loaded yet"}})
    async def ready() -> JSONResponse:
        """200 once a model is loaded, 503 before."""
        current = store.current
        if current is None:
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse({"status": "ready", "model_version": current.version})

    @probes.get("/model")
    async def model_info(current: Model) -> ModelInfo:
        """What is being served: registry version, its metrics, threshold and input schema."""
        return ModelInfo(
            name=current.name,
            version=current.version,
            alias=current.alias,
            run_id=current.run_id,
            metrics=current.metrics,
            trained_at=current.trained_at,
            threshold=current.threshold,
            fast_path=current.fast_path,
            input_schema=Customer.model_json_schema(),
        )

    @probes.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        """Prometheus text format."""
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # Without a key configured, the key check is not even a dependency: each one costs a few µs per request.
    guarded = [Depends(api_key)] if settings.serving.api_key else []
    scoring = APIRouter(tags=["predict"], dependencies=guarded)

    @scoring.post("/predict", response_model=ChurnPrediction)
    async def predict(customer: Customer) -> Response:  # type: ignore[valid-type]
        """Churn probability of one customer, and the label at the model's threshold."""
        current = await model()  # read once: a reload during this request does not change it
        probability = current.predict_one(customer.__dict__)
        metrics.scores.observe(probability)
        # Serialized here: a Response skips FastAPI's second validation of the response model (~15 % of the
        # request's CPU on this hot path); `response_model` still documents it, and a test checks the shape.
        body = {
            "churn_probability": probability,
            "churn": probability >= current.threshold,
            "threshold": current.threshold,
            "model_version": current.version,
        }
        return Response(json.dumps(body), media_type="application/json")

    @scoring.post("/predict/batch")
    def predict_batch(batch: CustomerBatch, current: Model) -> BatchPrediction:  # type: ignore[valid-type]
        """Many customers at once (up to the configured maximum); results in request order."""
        probabilities = current.predict_many([c.__dict__ for c in batch.customers])
        for probability in probabilities:
            metrics.scores.observe(float(probability))
        return BatchPrediction(
            predictions=[
                ScoredCustomer(churn_probability=float(p), churn=bool(p >= current.threshold)) for p in probabilities
            ],
            threshold=current.threshold,
            model_version=current.version,
        )

    admin = APIRouter(prefix="/admin", tags=["admin"], dependencies=guarded)

    @admin.post("/reload", responses={404: {"description": "no model under the alias"}})
    async def reload() -> ReloadResult:
        """Swap to the version the alias points at now; requests in flight finish on the old model."""
        try:
            previous, current = await run_in_threadpool(_reload)
        except NoModelError as exc:
            raise HTTPException(404, str(exc)) from exc
        return ReloadResult(previous_version=previous, version=current.version, changed=previous != current.version)

    # Routes are matched in order: the hot path first (routing is a measurable share of a ~0.1 ms request).
    for router in (scoring, probes, admin):
        app.include_router(router)
    _offline_docs(app)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "")} for e in exc.errors()]
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        return JSONResponse({"error": f"invalid request: {summary}", "fields": fields}, status_code=422)

    # Starlette's class, not FastAPI's subclass: 404, 405 and FastAPI's own "error parsing the body" 400 are
    # raised as Starlette's and would otherwise answer {"detail": ...} instead of {"error": ...}.
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=413)

    # FastAPI 0.150 lists an included router as one `_IncludedRouter` entry (no path): read the routers too.
    known = {r.path for router in (app, probes, scoring, admin) for r in router.routes if hasattr(r, "path")}
    app.add_middleware(
        GuardAndMeasure, metrics=metrics, max_body_bytes=settings.serving.max_body_bytes, known_paths=known
    )
    app.state.store = store
    app.state.metrics = metrics
    return app
