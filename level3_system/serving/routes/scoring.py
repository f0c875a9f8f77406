"""Scoring: one customer (`/predict`, on the event loop: ~2 µs of model work, a thread hop would cost more) and a
batch (`/predict/batch`, validated and scored in the thread pool so a 10,000-row batch does not stall singles).

Bodies are validated against the request models of the version being served (built from the contract it was
trained with), in one pass of pydantic's JSON parser; an invalid body is a 422 naming each field.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from level3_system.serving.deps import current_model
from level3_system.serving.model_store import LoadedModel
from level3_system.serving.schemas import BatchPrediction, ChurnPrediction, InvalidBody, ScoredCustomer, parse_body

router = APIRouter(tags=["predict"])


def _body(schema: str) -> dict[str, Any]:
    """The request body as OpenAPI documents it: the served version's schema (serving/openapi.py fills it in)."""
    reference = {"$ref": f"#/components/schemas/{schema}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}}


def _validated(model: Any, body: bytes) -> Any:
    try:
        return parse_body(model, body)
    except InvalidBody as exc:
        raise RequestValidationError(exc.errors) from None


@router.post("/predict", response_model=ChurnPrediction, openapi_extra=_body("Customer"))
async def predict(request: Request) -> Response:
    """Churn probability of one customer, and the label at the model's threshold."""
    current = await current_model(request)
    customer = _validated(current.requests.customer, await request.body())
    probability = current.predict_one(customer.__dict__)
    request.app.state.metrics.scores.observe(probability)
    # Serialized here: a Response skips FastAPI's validation of the response model (~15 % of the request's CPU
    # on this hot path); `response_model` still documents it, and a test checks the shape.
    body = {
        "churn_probability": probability,
        "churn": probability >= current.threshold,
        "threshold": current.threshold,
        "model_version": current.version,
    }
    return Response(json.dumps(body), media_type="application/json")


def _score_batch(current: LoadedModel, body: bytes) -> BatchPrediction:
    batch = _validated(current.requests.batch, body)
    probabilities = current.predict_many([c.__dict__ for c in batch.customers])
    return BatchPrediction(
        predictions=[
            ScoredCustomer(churn_probability=float(p), churn=bool(p >= current.threshold)) for p in probabilities
        ],
        threshold=current.threshold,
        model_version=current.version,
    )


@router.post("/predict/batch", response_model=BatchPrediction, openapi_extra=_body("CustomerBatch"))
async def predict_batch(request: Request) -> BatchPrediction:
    """Many customers at once (up to the configured maximum); results in request order."""
    current = await current_model(request)
    result = await run_in_threadpool(_score_batch, current, await request.body())
    for prediction in result.predictions:
        request.app.state.metrics.scores.observe(prediction.churn_probability)
    return result
