"""Feedback: the outcomes observed for scored customers, named by request id or by the contract's id column.

Atomic: if any id is unknown the answer is 404 naming them, if any outcome contradicts one recorded before it is
409 — and nothing is recorded. The same outcome twice is a duplicate, not an error (idempotent). Bodies are
validated against the served version's contract (its target's values).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from level3_system.prediction_log.store import FeedbackResult, Outcome, record_feedback
from level3_system.serving.deps import current_model
from level3_system.serving.errors import responses
from level3_system.serving.model_store import LoadedModel
from level3_system.serving.responses import FeedbackResult as FeedbackAnswer
from level3_system.serving.schemas import body_schema, validated

router = APIRouter(tags=["feedback"])
SHOWN_IDS = 20
FEEDBACK_ERRORS = responses(404, 409, 413, 415, 422, 500, 503)


FLUSH_WAIT_SECONDS = 5.0  # the longest /feedback waits for queued predictions to be written


def _outcomes(current: LoadedModel, items: list[Any]) -> list[Outcome]:
    contract = current.contract
    id_column = contract.id_column
    return [
        Outcome(
            outcome=str(getattr(item, contract.target)),
            request_id=item.request_id,
            entity_id=None if id_column is None or getattr(item, id_column) is None else str(getattr(item, id_column)),
            observed_at=item.observed_at,
        )
        for item in items
    ]


def _record(request: Request, current: LoadedModel, items: list[Any]) -> FeedbackAnswer:
    engine = request.app.state.log_engine()
    if engine is None:
        raise HTTPException(503, "the prediction log is off (prediction_log.enabled: false): no feedback can be kept")
    outcomes = _outcomes(current, items)
    result: FeedbackResult = record_feedback(engine, outcomes, current.contract, atomic=True)
    writer = request.app.state.prediction_log
    if result.unknown and writer is not None and writer.flush(timeout=FLUSH_WAIT_SECONDS):
        # An outcome may follow its prediction faster than the writer's flush interval: once what is queued is
        # written, look again (atomic: the first attempt recorded nothing).
        result = record_feedback(engine, outcomes, current.contract, atomic=True)
    if result.unknown:
        shown = ", ".join(result.unknown[:SHOWN_IDS]) + (" …" if len(result.unknown) > SHOWN_IDS else "")
        raise HTTPException(404, f"unknown id(s), nothing recorded: {shown}")
    if result.conflicts:
        shown = ", ".join(result.conflicts[:SHOWN_IDS])
        raise HTTPException(409, f"another outcome is already recorded for: {shown} (feedback is write-once)")
    return FeedbackAnswer(recorded=len(result.matched), duplicates=len(result.duplicates))


@router.post("/feedback", openapi_extra=body_schema("Outcome"), responses=FEEDBACK_ERRORS)
async def feedback(request: Request) -> FeedbackAnswer:
    """The observed outcome of one scored customer."""
    current = await current_model(request)
    item = validated(current.requests.outcome, await request.body())
    return await run_in_threadpool(_record, request, current, [item])


@router.post("/feedback/batch", openapi_extra=body_schema("OutcomeBatch"), responses=FEEDBACK_ERRORS)
async def feedback_batch(request: Request) -> FeedbackAnswer:
    """Many outcomes at once (up to the batch limit); all or nothing."""
    current = await current_model(request)
    batch = validated(current.requests.outcomes, await request.body())
    return await run_in_threadpool(_record, request, current, list(batch.outcomes))
