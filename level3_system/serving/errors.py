"""Every error as one JSON shape, `ErrorBody`: validation (422, each field named), HTTP errors, oversized bodies,
and (from the middleware) unsupported media types and unexpected failures. Each names its request id, so a
caller's report can be found in the service's log.

`responses(...)` documents the statuses an operation can answer with that shape, so the OpenAPI document lists
every one a client will meet.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from level3_system.serving.middleware import BodyTooLarge, request_id_of

SHOWN_FIELDS = 5

STATUSES = {
    401: "missing or wrong X-API-Key header",
    404: "no model under the alias (reload), or an id the prediction log does not know (feedback)",
    409: "another outcome is already recorded for one of the ids (feedback is write-once)",
    413: "request body larger than the configured limit",
    415: "the body is not JSON (Content-Type: application/json)",
    422: "the body does not validate: each field is named",
    500: "an unexpected error: its traceback is in the service's log under the request id",
    503: "no model loaded yet, the prediction log is off, or a reload failed",
}


class FieldError(BaseModel):
    field: str = Field(description="the field, dotted: customers.0.tenure")
    message: str


class ErrorBody(BaseModel):
    error: str = Field(description="what is wrong and what to do, in one line")
    request_id: str = Field(description="this request in the service's log (also in X-Request-ID)")
    fields: list[FieldError] | None = Field(default=None, description="each invalid field (422 only)")


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of an operation for these statuses, each with the error shape."""
    return {status: {"description": STATUSES[status], "model": ErrorBody} for status in statuses}


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p != "body"]
    return ".".join(parts) or "body"


def error_body(request: Request, error: str, **extra: Any) -> dict[str, Any]:
    return {"error": error, "request_id": request_id_of(request.scope), **extra}


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "")} for e in exc.errors()]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:SHOWN_FIELDS])
    return JSONResponse(error_body(request, f"invalid request: {summary}", fields=fields), status_code=422)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(error_body(request, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


async def too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
    return JSONResponse(error_body(request, str(exc.detail)), status_code=413)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)  # type: ignore[arg-type]
    # Starlette's class, not FastAPI's subclass: 404, 405 and FastAPI's own "error parsing the body" 400 are
    # raised as Starlette's and would otherwise answer {"detail": ...} instead of {"error": ...}.
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(BodyTooLarge, too_large)  # type: ignore[arg-type]
