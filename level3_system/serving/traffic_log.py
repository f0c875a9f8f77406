"""What the service writes to the prediction log for each scored customer, and the request ids that name them.

A caller's own `X-Request-ID` is kept (when it is a plain token of at most 128 characters); otherwise the service
makes one. A batch's rows are `<request id>-<position>`. Rows are handed to the log's writer (a queue: the
request never waits for the database).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from level3_system.serving.model_store import LoadedModel

_TOKEN = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def request_id(given: str | None) -> str:
    return given if given is not None and _TOKEN.fullmatch(given) else uuid.uuid4().hex


def rows(
    model: LoadedModel,
    ids: list[str],
    customers: list[dict[str, Any]],
    probabilities: list[float],
    *,
    source: str,
    latency_ms: float,
) -> list[dict[str, Any]]:
    """One log row per scored customer: the features as validated, the version, probability, label, latency."""
    features = model.contract.features
    id_column = model.contract.id_column
    now = datetime.now(UTC)
    return [
        {
            "request_id": row_id,
            "scored_at": now,
            "model_name": model.name,
            "model_version": model.version,
            "source": source,
            "entity_id": None if id_column is None or customer.get(id_column) is None else str(customer[id_column]),
            "features": {name: customer[name] for name in features},
            "probability": probability,
            "label": probability >= model.threshold,
            "latency_ms": latency_ms,
        }
        for row_id, customer, probability in zip(ids, customers, probabilities, strict=True)
    ]
