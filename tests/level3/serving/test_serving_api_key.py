"""With `serving.api_key` set, scoring and admin need the X-API-Key header; probes stay open for the platform."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from level3_support import with_serving
from serving_support import error_of

KEY = "test-key-not-a-secret"


@pytest.fixture(scope="module")
def guarded(champion: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from level3_system.serving.app import create_app

    with TestClient(create_app(with_serving(champion.settings, api_key=KEY))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def guarded_calls(example_customer: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    return [
        ("/predict", example_customer),
        ("/predict/batch", {"customers": [example_customer]}),
        ("/admin/reload", None),
    ]


@pytest.mark.parametrize(
    "headers", [pytest.param({}, id="no-key"), pytest.param({"X-API-Key": "wrong"}, id="wrong-key")]
)
def test_scoring_and_admin_refuse_without_the_key(
    guarded: Any, guarded_calls: list[tuple[str, Any]], headers: dict[str, str]
) -> None:
    for path, body in guarded_calls:
        response = guarded.post(path, json=body, headers=headers)
        assert response.status_code == 401, f"{path} with headers {headers}: {response.status_code} {response.text}"
        assert "X-API-Key" in error_of(response)["error"], f"401 of {path} does not say which header: {response.text}"


def test_scoring_and_admin_accept_the_key(guarded: Any, guarded_calls: list[tuple[str, Any]]) -> None:
    for path, body in guarded_calls:
        response = guarded.post(path, json=body, headers={"X-API-Key": KEY})
        assert response.status_code == 200, f"{path} with the right key: {response.status_code} {response.text}"


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
def test_probes_stay_open(guarded: Any, path: str) -> None:
    response = guarded.get(path)
    assert response.status_code == 200, f"{path} needs no key (probes and scrapers): {response.status_code}"
