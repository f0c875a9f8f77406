"""Every error is one JSON shape naming its request id; an unexpected failure is a JSON 500 that is logged with
its traceback and counted on /metrics, and a hostile body is a 4xx."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest


def _count(metrics: str, line_start: str) -> float:
    return sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(line_start))


class Broken:
    """Stands in for the score histogram: the route's step after the model raises, as a bug would."""

    def observe(self, value: float) -> None:
        raise RuntimeError("injected failure")


def test_an_unexpected_exception_is_a_json_500_logged_and_counted(
    serve: Callable[..., Any], champion: Any, example_customer: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    client = serve(champion.settings)
    client.app.state.metrics.scores = Broken()
    with caplog.at_level(logging.ERROR, logger="level3_system.serving"):
        answer = client.post("/predict", json=example_customer, headers={"X-Request-ID": "broken-1"})
    assert answer.status_code == 500, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["request_id"] == "broken-1" and answer.headers["x-request-id"] == "broken-1", body
    assert "broken-1" in body["error"] and "injected failure" not in body["error"], "internals leaked to the caller"
    logged = [r for r in caplog.records if "broken-1" in r.getMessage()]
    assert logged and logged[0].exc_info is not None, "no traceback in the service's log"
    assert "injected failure" in str(logged[0].exc_info[1])
    metrics = client.get("/metrics").text
    assert _count(metrics, 'churn_api_errors_total{endpoint="/predict",status="500"}') == 1, metrics[-2000:]
    assert _count(metrics, 'churn_api_requests_total{endpoint="/predict",method="POST",status="500"}') == 1
    # And the service goes on: the next request on another route is answered
    assert client.get("/ready").status_code == 200


@pytest.mark.parametrize("path", ["/predict", "/predict/batch", "/feedback", "/feedback/batch"])
def test_a_deeply_nested_body_is_a_422(client: Any, path: str) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    answer = client.post(path, content=deep, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, f"{answer.status_code}: {answer.text[:300]}"
    assert "nested too deeply" in answer.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        pytest.param("post", "/predict", {"json": {}}, 422, id="invalid"),
        pytest.param("post", "/predict", {"content": b"x", "headers": {"Content-Type": "text/plain"}}, 415, id="415"),
        pytest.param("post", "/predict", {"content": b"x" * 9_000_000, "headers": {}}, 413, id="413"),
        pytest.param("post", "/feedback", {"json": {"request_id": "never-seen", "churn": "No"}}, 404, id="404"),
        pytest.param("get", "/nowhere", {}, 404, id="no-route"),
        pytest.param("put", "/predict", {}, 405, id="405"),
    ],
)
def test_every_error_is_one_shape(client: Any, method: str, path: str, kwargs: dict[str, Any], status: int) -> None:
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {}), "X-Request-ID": "shape-1"}
    answer = getattr(client, method)(path, headers=headers, **kwargs)
    assert answer.status_code == status, answer.text[:300]
    body = answer.json()
    assert set(body) <= {"error", "request_id", "fields"} and body["error"], body
    assert body["request_id"] == "shape-1" and answer.headers["x-request-id"] == "shape-1", body
