"""Routes of one's own login sessions: list them, end one (logout ends the current one)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from zhijing.access import sessions
from zhijing.access.guard import AccessContext, require
from zhijing.config import get_settings

router = APIRouter(prefix="/api/auth", tags=["access"])


@router.get("/sessions")
def list_sessions(request: Request, ctx: AccessContext = Depends(require("catalog:read", person_data=False))) -> dict:
    """The caller's own open sessions; ``current`` marks the one this request comes from."""
    mine = request.state.claims.get("sid")
    return {"sessions": [{**s, "current": s["sid"] == mine} for s in sessions.open_sessions(get_settings(), ctx.user.username)]}


@router.delete("/sessions/{sid}")
def end_session(sid: str = Path(..., pattern="^[0-9a-f]{32}$"),
                ctx: AccessContext = Depends(require("catalog:read", person_data=False))) -> dict:  # fmt: skip
    """End one of the caller's own sessions (another officer's answers like an unknown one)."""
    if not sessions.end(get_settings(), sid, ctx.user.username):
        raise HTTPException(404, "no such open session")
    return {"ok": True, "sid": sid}
