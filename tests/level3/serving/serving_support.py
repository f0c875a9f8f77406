"""Helpers of the serving tests: request bodies shaped as a client sends them, and error responses read back.

The training and registry helpers (train, log_and_register, point_champion_at, make_settings) are in
tests/level3_support.py, shared with the flow tests.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from level2_pipeline.contract import DataContract

# The fast path is float32 ONNX: the service refuses one further than this from the registered sklearn model.
SKEW_TOLERANCE = 1e-6


def _native(value: Any) -> Any:
    """numpy/pandas scalars as the JSON types a client would send (ints stay ints, floats stay floats)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def customer_bodies(frame: pd.DataFrame, contract: DataContract) -> list[dict[str, Any]]:
    """One request body per row: the contract's features only, JSON-native values."""
    features = list(contract.features)
    return [
        {name: _native(value) for name, value in zip(features, row, strict=True)}
        for row in frame[features].itertuples(index=False)
    ]


def post_raw(client: Any, path: str, body: str | bytes, content_type: str = "application/json", **headers: str) -> Any:
    return client.post(path, content=body, headers={"content-type": content_type, **headers})


def json_nan_body(customer: dict[str, Any], field: str) -> str:
    """A body Python's json writes with a bare NaN literal (not valid JSON, but parsers accept it)."""
    return json.dumps({**customer, field: float("nan")})


def error_of(response: Any) -> dict[str, Any]:
    """The JSON error body, or an assertion that says what came back instead."""
    assert response.headers.get("content-type", "").startswith("application/json"), (
        f"error response is not JSON: {response.status_code} {response.headers.get('content-type')!r} "
        f"{response.text[:200]!r}"
    )
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), (
        f"error response has no 'error' message: {body!r}"
    )
    return body


def named_fields(response: Any) -> list[str]:
    return [entry["field"] for entry in error_of(response).get("fields", [])]
