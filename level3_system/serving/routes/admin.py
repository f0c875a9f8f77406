"""Admin: swap to the version the alias points at now."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from level3_system.lifecycle.registry import NoModelError
from level3_system.serving.errors import responses
from level3_system.serving.responses import ReloadResult

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post(
    "/reload",
    responses=responses(404, 413, 415, 500, 503),
)
async def reload(request: Request) -> ReloadResult:
    """Swap to the version the alias points at now; requests in flight finish on the old model."""
    try:
        previous, current = await run_in_threadpool(request.app.state.reload)
    except NoModelError as exc:
        raise HTTPException(404, str(exc)) from exc
    except Exception as exc:  # the registry unreachable, a version that does not load: the current one stays
        current = request.app.state.store.current
        still = f"still serving version {current.version}" if current is not None else "no model loaded"
        raise HTTPException(503, f"reload failed ({type(exc).__name__}): {still}") from exc
    return ReloadResult(previous_version=previous, version=current.version, changed=previous != current.version)
