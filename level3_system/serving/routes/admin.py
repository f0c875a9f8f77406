"""Admin: swap to the version the alias points at now."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from level3_system.registry import NoModelError
from level3_system.serving.schemas import ReloadResult

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/reload", responses={404: {"description": "no model under the alias"}})
async def reload(request: Request) -> ReloadResult:
    """Swap to the version the alias points at now; requests in flight finish on the old model."""
    try:
        previous, current = await run_in_threadpool(request.app.state.reload)
    except NoModelError as exc:
        raise HTTPException(404, str(exc)) from exc
    return ReloadResult(previous_version=previous, version=current.version, changed=previous != current.version)
