"""POST /predict's plain success is answered in the middleware (the fast lane); everything else goes to the route.

The two must be indistinguishable to a caller: the same answer, headers, metrics and prediction-log row. A body
sent without Content-Length (chunked) always takes the route, so each customer is sent both ways and compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from level3_system.prediction_log.schema import create_engine, predictions
from level3_system.serving import middleware
from level3_system.serving.app import create_app
from level3_system.settings import PredictionLogSettings


@pytest.fixture
def lane_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many requests the fast lane answered itself (not handed on to the route)."""
    answered: list[int] = []
    original = middleware.GuardAndMeasure._predict

    async def counted(self: Any, scope: Any, receive: Any, send: Any, *rest: Any) -> None:
        statuses: list[int] = []

        async def watch(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        handed_on = self.app

        async def route(*args: Any) -> None:
            statuses.append(-1)  # marks a fall-through to the route
            await handed_on(*args)

        self.app = route
        try:
            await original(self, scope, receive, watch, *rest)
        finally:
            self.app = handed_on
        if statuses and statuses[0] != -1:
            answered.append(statuses[0])

    monkeypatch.setattr(middleware.GuardAndMeasure, "_predict", counted)
    return answered


def _chunked(client: Any, body: bytes, **headers: str) -> Any:
    """A POST whose body has no Content-Length (httpx streams an iterator chunked): always the route's."""
    return client.post("/predict", content=iter([body]), headers={"content-type": "application/json", **headers})


def _predictions_counted(client: Any) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "churn_api_requests_total" and sample.labels == {
                "method": "POST", "endpoint": "/predict", "status": "200"
            }:  # fmt: skip
                return float(sample.value)
    raise AssertionError("/metrics counts no successful POST /predict")


def test_the_fast_lane_and_the_route_answer_alike(
    champion: Any, holdout_bodies: list[dict[str, Any]], tmp_path: Path, lane_calls: list[int]
) -> None:
    import json

    url = f"sqlite:///{(tmp_path / 'log.sqlite').as_posix()}"
    log = PredictionLogSettings(url=url, flush_seconds=0.05)
    settings = champion.settings.model_copy(update={"prediction_log": log})
    pairs = []
    with TestClient(create_app(settings)) as client:
        for i, body in enumerate(holdout_bodies[:20]):
            text = json.dumps(body).encode()
            fast = client.post("/predict", content=text, headers={"content-type": "application/json",
                                                                 "x-request-id": f"lane-{i}"})  # fmt: skip
            routed = _chunked(client, text, **{"x-request-id": f"route-{i}"})
            pairs.append((fast, routed))
        counted = _predictions_counted(client)
    assert len(lane_calls) == 20 and set(lane_calls) == {200}, f"the fast lane answered {len(lane_calls)} of 20"
    for fast, routed in pairs:
        assert fast.status_code == routed.status_code == 200
        a, b = fast.json(), routed.json()
        assert a.pop("request_id").startswith("lane-") and b.pop("request_id").startswith("route-")
        assert a == b, "the fast lane's answer differs from the route's"
        assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
        assert fast.headers["x-request-id"].startswith("lane-")
    assert counted == 40, f"/metrics counted {counted} successful /predict of 40"
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = {row.request_id: row for row in connection.execute(select(predictions))}
    engine.dispose()
    assert {f"lane-{i}" for i in range(20)} | {f"route-{i}" for i in range(20)} == set(rows)
    for i in range(20):
        lane, route = rows[f"lane-{i}"], rows[f"route-{i}"]
        assert (lane.probability, lane.features, lane.source) == (route.probability, route.features, route.source)


@pytest.mark.parametrize(
    ("body", "status"),
    [(b'{"tenure": "many"}', 422), (b"[1, 2", 422), (b"{}", 422)],
    ids=["wrong-type", "not-json", "empty-object"],
)
def test_what_the_fast_lane_cannot_answer_goes_to_the_route(
    client: Any, body: bytes, status: int, lane_calls: list[int]
) -> None:
    """An invalid body is the route's 422 (its error names the fields), never a fast-lane answer."""
    fast = client.post("/predict", content=body, headers={"content-type": "application/json"})
    routed = _chunked(client, body)
    assert fast.status_code == routed.status_code == status
    a, b = fast.json(), routed.json()
    assert a.pop("request_id") != b.pop("request_id")
    assert a == b and a["error"], "the fast lane's error differs from the route's"
    assert lane_calls == [], "the fast lane answered a body that does not validate"


def test_a_wrong_key_is_the_routes_401(champion: Any, serve: Any, example_customer: dict[str, Any]) -> None:
    settings = champion.settings.model_copy(
        update={"serving": champion.settings.serving.model_copy(update={"api_key": "k-123"})}
    )
    client = serve(settings)
    assert client.post("/predict", json=example_customer, headers={"X-API-Key": "k-123"}).status_code == 200
    wrong = client.post("/predict", json=example_customer, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401 and "X-API-Key" in wrong.text
    assert client.post("/predict", json=example_customer).status_code == 401
