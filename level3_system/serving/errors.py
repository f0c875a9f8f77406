"""Every error as JSON `{"error": ...}`: validation (422, each field named), HTTP errors, oversized bodies."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from level3_system.serving.middleware import BodyTooLarge

SHOWN_FIELDS = 5


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p != "body"]
    return ".".join(parts) or "body"


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "")} for e in exc.errors()]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:SHOWN_FIELDS])
    return JSONResponse({"error": f"invalid request: {summary}", "fields": fields}, status_code=422)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
    return JSONResponse({"error": exc.detail}, status_code=413)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)  # type: ignore[arg-type]
    # Starlette's class, not FastAPI's subclass: 404, 405 and FastAPI's own "error parsing the body" 400 are
    # raised as Starlette's and would otherwise answer {"detail": ...} instead of {"error": ...}.
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(BodyTooLarge, too_large)  # type: ignore[arg-type]
