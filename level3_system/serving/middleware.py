"""The ASGI middleware that guards and measures every request, and names it.

Pure ASGI (not `BaseHTTPMiddleware`): it adds microseconds, not the ~0.3 ms per request of the task-based
middleware, which matters on the single-row path. It is the one place that sees every request whatever happens
inside: it gives each its request id (`X-Request-ID` on every answer, in every error body and log line), and it
turns an unexpected exception into the service's JSON 500 — Starlette's own fallback answers plain text, outside
this middleware, where it would not be counted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException

from level3_system.serving import traffic_log
from level3_system.serving.metrics import Metrics

logger = logging.getLogger(__name__)


def request_id_of(scope: dict[str, Any]) -> str:
    """The request's id, as the middleware set it (a route or handler outside the middleware makes one)."""
    state = scope.get("state") or {}
    return state.get("request_id") or traffic_log.request_id(None)


async def _send_json(send: Any, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GuardAndMeasure:
    """Names each request, bounds request bodies, requires JSON on POST, answers JSON for any failure, and
    records count, latency and errors (5xx included) per endpoint."""

    def __init__(
        self,
        app: Any,
        metrics: Metrics,
        max_body_bytes: int,
        known_paths: set[str],
        fast_lane: Callable[[bytes, dict[bytes, bytes], str, float], bytes | None] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.known_paths = known_paths
        self.fast_lane = fast_lane  # POST /predict's plain success, answered here (routes/scoring.py)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        endpoint = path if path in self.known_paths else "other"
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id")
        rid = traffic_log.request_id(given.decode("latin-1") if given is not None else None)
        # Starlette's `request.state` reads this dict: the routes and error handlers find the id there.
        scope.setdefault("state", {})["request_id"] = rid  # the server's per-request copy of the lifespan state
        status_holder = {"status": 500, "started": False}
        id_header = (b"x-request-id", rid.encode())

        async def send_and_record(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder.update(status=message["status"], started=True)
                sent = message.get("headers") or []
                if not any(name.lower() == b"x-request-id" for name, _ in sent):
                    message = {**message, "headers": [*sent, id_header]}
            await send(message)

        rejection = self._reject(scope, headers)
        try:
            if rejection is not None:
                status, error = rejection
                await _send_json(send_and_record, status, {"error": error, "request_id": rid})
            elif self._lane(scope, headers):
                await self._predict(scope, receive, send_and_record, headers, rid, started)
            else:
                await self.app(scope, self._bounded(receive), send_and_record)
        except Exception:  # whatever a route or a dependency raised that no handler turned into an answer
            logger.exception("unexpected error on %s %s (request id %s)", scope["method"], path, rid)
            if not status_holder["started"]:
                error = f"internal error: the service's log has the details under request id {rid}"
                await _send_json(send_and_record, 500, {"error": error, "request_id": rid})
            status_holder["status"] = 500
        status = status_holder["status"]
        self.metrics.requests.labels(scope["method"], endpoint, str(status)).inc()
        self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        if status >= 400:
            self.metrics.errors.labels(endpoint, str(status)).inc()

    def _lane(self, scope: dict[str, Any], headers: dict[bytes, bytes]) -> bool:
        """Whether the fast lane may take the request: POST /predict with a body of declared length (`_reject`
        has bounded it). A chunked body goes to the route, which bounds it as it arrives."""
        return (
            self.fast_lane is not None
            and scope["path"] == "/predict"
            and scope["method"] == "POST"
            and b"content-length" in headers
        )

    async def _predict(
        self, scope: dict[str, Any], receive: Any, send: Any, headers: dict[bytes, bytes], rid: str, started: float
    ) -> None:
        """The fast lane: the whole body (its length already checked), answered here when it is a plain success;
        otherwise the route gets the request, its body replayed, and answers as always."""
        messages, chunks = [], []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        answer = self.fast_lane(body, headers, rid, started) if messages[-1]["type"] == "http.request" else None
        if answer is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        length = str(len(answer)).encode()
        response = [
            (b"content-type", b"application/json"),
            (b"content-length", length),
            (b"x-request-id", rid.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": response})
        await send({"type": "http.response.body", "body": answer})

    def _reject(self, scope: dict[str, Any], headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        """A POST body over the limit is 413; a POST body that is not JSON is 415. Other methods take no body:
        the routes never read one, and the router answers 405 where a method is not served."""
        if scope["method"] != "POST":
            return None
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return 413, f"request body larger than {self.max_body_bytes} bytes: send fewer customers"
        has_body = (length is not None and length != b"0") or b"transfer-encoding" in headers
        if not (has_body or scope["path"].startswith("/predict")):
            return None
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != b"application/json":
            return 415, "unsupported media type: send the body as JSON (Content-Type: application/json)"
        return None

    def _bounded(self, receive: Any) -> Any:
        """Count body bytes as they arrive: a chunked body without Content-Length is bounded too."""
        received = 0
        limit = self.max_body_bytes

        async def bounded_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        return bounded_receive


def _replay(messages: list[dict[str, Any]], receive: Any) -> Any:
    """A `receive` that gives back the messages already read, then reads on."""
    pending = list(messages)

    async def replayed() -> dict[str, Any]:
        return pending.pop(0) if pending else await receive()

    return replayed


class BodyTooLarge(HTTPException):
    """413 while a body without Content-Length is read. An HTTPException, so FastAPI's body parser lets it
    through instead of turning it into its generic 400 "There was an error parsing the body"."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes: send fewer customers")
        self.limit = limit
