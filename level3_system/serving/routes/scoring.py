"""Scoring: one customer (`/predict`, on the event loop: ~2 µs of model work, a thread hop would cost more) and a
batch (`/predict/batch`, validated and scored in the thread pool so a 10,000-row batch does not stall singles).

Bodies are validated against the request models of the version being served (built from the contract it was
trained with), in one pass of pydantic's JSON parser; an invalid body is a 422 naming each field.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from level3_system.serving import traffic_log
from level3_system.serving.deps import api_key_matches, current_model
from level3_system.serving.errors import responses
from level3_system.serving.middleware import request_id_of
from level3_system.serving.model_store import LoadedModel
from level3_system.serving.responses import BatchPrediction, ChurnPrediction, ScoredCustomer
from level3_system.serving.schemas import InvalidBody, body_schema, parse_body, validated

router = APIRouter(tags=["predict"])
SCORING_ERRORS = responses(413, 415, 422, 500, 503)


@router.post(
    "/predict", response_model=ChurnPrediction, openapi_extra=body_schema("Customer"), responses=SCORING_ERRORS
)
async def predict(request: Request) -> Response:
    """Churn probability of one customer, the label at the model's threshold, and the retention decision (offer,
    its expected value) at the version's offer threshold; logged under its request id."""
    started = time.perf_counter()
    current = await current_model(request)
    customer = validated(current.requests.customer, await request.body()).__dict__
    row_id = request_id_of(request.scope)
    body = _scored(request.app.state, current, customer, row_id, started)
    return Response(body, media_type="application/json", headers={"X-Request-ID": row_id})


def _scored(state: Any, current: LoadedModel, customer: dict[str, Any], row_id: str, started: float) -> bytes:
    """One customer's answer, counted and logged: the route's and the fast lane's, one code.

    Serialized here: a Response skips FastAPI's validation of the response model (~15 % of the request's CPU
    on this hot path); `response_model` still documents it, and a test checks the shape."""
    probability = current.predict_one(customer)
    state.metrics.scores.observe(probability)
    offer, expected = current.decide(probability)
    body = {
        "churn_probability": probability,
        "churn": probability >= current.threshold,
        "threshold": current.threshold,
        "offer": offer,
        "expected_value": expected,
        "offer_threshold": current.offers.threshold,
        "model_version": current.version,
        "request_id": row_id,
    }
    writer = state.prediction_log
    if writer is not None:
        latency = (time.perf_counter() - started) * 1000
        writer.submit(traffic_log.row(current, row_id, customer, probability, source="predict", latency_ms=latency))
    return json.dumps(body).encode()


def fast_lane(state: Any) -> Callable[[bytes, dict[bytes, bytes], str, float], bytes | None]:
    """`POST /predict` answered in the middleware, before Starlette's routing and FastAPI's request machinery
    (a third of a request's CPU on this path, profiled with py-spy: ADR 0012). Only the plain success: a wrong or
    missing key, no model, or a body that does not validate returns None, and the request goes through the
    route as usual, so every error keeps its one answer and the OpenAPI document stays the truth."""
    key = state.settings.serving.api_key

    def answer(body: bytes, headers: dict[bytes, bytes], row_id: str, started: float) -> bytes | None:
        if key and not api_key_matches(headers.get(b"x-api-key"), key):
            return None
        current = state.store.current
        if current is None:
            return None
        try:
            customer = parse_body(current.requests.customer, body).__dict__
        except InvalidBody:
            return None
        return _scored(state, current, customer, row_id, started)

    return answer


def _score_batch(current: LoadedModel, body: bytes, batch_id: str, writer: Any, started: float) -> BatchPrediction:
    batch = validated(current.requests.batch, body)
    customers = [c.__dict__ for c in batch.customers]
    probabilities = [float(p) for p in current.predict_many(customers)]
    ids = [f"{batch_id}-{i}" for i in range(len(customers))]
    threshold = current.threshold
    if writer is not None:
        latency = (time.perf_counter() - started) * 1000
        writer.submit_many(traffic_log.rows(current, ids, customers, probabilities, source="batch", latency_ms=latency))
    predictions = []
    for p, i in zip(probabilities, ids, strict=True):
        offer, expected = current.decide(p)
        predictions.append(
            ScoredCustomer(
                churn_probability=p, churn=p >= threshold, offer=offer, expected_value=expected, request_id=i
            )
        )
    return BatchPrediction(
        predictions=predictions,
        threshold=threshold,
        offer_threshold=current.offers.threshold,
        model_version=current.version,
        request_id=batch_id,
    )


@router.post(
    "/predict/batch",
    response_model=BatchPrediction,
    openapi_extra=body_schema("CustomerBatch"),
    responses=SCORING_ERRORS,
)
async def predict_batch(request: Request, response: Response) -> BatchPrediction:
    """Many customers at once (up to the configured maximum); results in request order, each logged."""
    started = time.perf_counter()
    current = await current_model(request)
    batch_id = request_id_of(request.scope)
    writer = request.app.state.prediction_log
    result = await run_in_threadpool(_score_batch, current, await request.body(), batch_id, writer, started)
    for prediction in result.predictions:
        request.app.state.metrics.scores.observe(prediction.churn_probability)
    response.headers["X-Request-ID"] = batch_id
    return result
