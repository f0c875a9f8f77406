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


def test_binding_beyond_loopback_without_a_key_is_refused(
    champion: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    import uvicorn

    from level3_system.serving.command import serve

    monkeypatch.setattr(signal, "signal", lambda *a: None)  # serve's exit-0 handlers: not in pytest's process
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the service started"))
    code = serve(with_serving(champion.settings, host="0.0.0.0"))
    error = capsys.readouterr().err.strip()
    assert code == 2 and "refusing to bind 0.0.0.0 without an API key" in error and "\n" not in error, error
    # explicitly allowed (a trusted network), or with a key: it starts
    for allowed in ({"allow_public_without_key": True}, {"api_key": "s3cret"}):
        started: list[Any] = []
        monkeypatch.setattr(uvicorn, "run", lambda *a, _started=started, **k: _started.append(k))
        assert serve(with_serving(champion.settings, host="0.0.0.0", **allowed)) == 0 and started, allowed
