"""What the service writes to the prediction log for each scored customer, and the request ids that name them.

A caller's own `X-Request-ID` is kept (when it is a plain token of at most 128 characters); otherwise the service
makes one. A batch's rows are `<request id>-<position>`. Rows are handed to the log's writer (a queue: the
request never waits for the database).
"""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from level3_system.serving.model_store import LoadedModel

_TOKEN = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


# A random prefix per process and a counter: unique across processes and restarts, ~0.3 µs instead of uuid4's
# os.urandom call per request.
_PREFIX = uuid.uuid4().hex[:16]
_COUNTER = itertools.count()


def request_id(given: str | None) -> str:
    if given is not None and _TOKEN.fullmatch(given):
        return given
    return f"{_PREFIX}{next(_COUNTER):012x}"


def row(
    model: LoadedModel, row_id: str, customer: dict[str, Any], probability: float, *, source: str, latency_ms: float
) -> dict[str, Any]:
    """One log row: the customer as validated (the model's features, and the id when the caller sent one), the
    version, probability, label, latency. The customer dict is the request's own, never changed after."""
    id_column = model.contract.id_column
    entity = customer.get(id_column) if id_column is not None else None
    return {
        "request_id": row_id,
        "scored_at": datetime.now(UTC),
        "model_name": model.name,
        "model_version": model.version,
        "source": source,
        "entity_id": None if entity is None else str(entity),
        "features": customer,
        "probability": probability,
        "label": probability >= model.threshold,
        "latency_ms": latency_ms,
    }


def rows(
    model: LoadedModel,
    ids: list[str],
    customers: list[dict[str, Any]],
    probabilities: list[float],
    *,
    source: str,
    latency_ms: float,
) -> list[dict[str, Any]]:
    return [
        row(model, row_id, customer, probability, source=source, latency_ms=latency_ms)
        for row_id, customer, probability in zip(ids, customers, probabilities, strict=True)
    ]
