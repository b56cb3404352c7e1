"""Login, tokens, the caller's identity, the audit trail and oversight flags."""

from __future__ import annotations

import contextlib
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from zhijing.access import capabilities, login, models, oversight, session_routes, sessions, tokens
from zhijing.access import purpose as purposes
from zhijing.access.audit.store import log_for
from zhijing.access.guard import AccessContext, refuse_unauthenticated, require
from zhijing.config import get_settings
from zhijing.errors import AccessDenied
from zhijing.localtime import in_zone, shown_fields

router = APIRouter(prefix="/api", tags=["access"])
MAX_EVENTS = 5000  # one page of the audit trail
MAX_ID = 2**62  # ids and sequence numbers fit a signed 64-bit column


@router.post("/auth/token")
def token(
    request: Request, grant_type: str = Form("password"), username: str = Form(None, max_length=64),
    password: str = Form(None, max_length=256), client_id: str = Form(None, max_length=64),
    client_secret: str = Form(None, max_length=256), totp: str = Form(None, max_length=16),
    _ctx=Depends(require("public:login", person_data=False)),
) -> dict[str, Any]:  # fmt: skip
    """OAuth2 password flow (officers) and client-credentials flow (external systems); a
    one-time code (``totp``) where the account has a second factor."""
    who, secret = (username, password) if grant_type == "password" else (client_id, client_secret)
    return login.authenticate(request, get_settings(), _ctx, grant_type, who, secret, totp)


@router.post("/auth/refresh")
async def refresh(request: Request, refresh_token: str = Form(..., max_length=128),
                  ctx: AccessContext = Depends(require("public:refresh", person_data=False))) -> dict[str, Any]:  # fmt: skip
    """A new access token and the next refresh token for a refresh token of an open session
    (good once: presented again, it ends the session). Refusals are audited and throttled."""
    try:
        return await run_in_threadpool(tokens.refreshed, get_settings(), refresh_token)
    except AccessDenied as exc:
        ctx.query = "refresh"
        raise await refuse_unauthenticated(request, get_settings(), 401, str(exc), ctx, True) from None


@router.post("/auth/logout")
def logout(request: Request, refresh_token: str | None = Form(None, max_length=128),
           ctx: AccessContext = Depends(require("public:logout", person_data=False))) -> dict:  # fmt: skip
    """End the session of the bearer token or of ``refresh_token`` (its access token may have expired)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        with contextlib.suppress(AccessDenied):
            tokens.revoke(get_settings(), tokens.verify(get_settings(), auth.split(" ", 1)[1]))
    if refresh_token:
        sessions.end_with_refresh(get_settings(), refresh_token)
    return {"ok": True}


@router.get("/me")
def me(ctx: AccessContext = Depends(require("catalog:read", person_data=False))) -> dict[str, Any]:
    u = ctx.user
    return {"username": u.username, "name": u.name, "unit": u.unit, "unit_name": _unit_name(u.unit), "department": u.department, "roles": list(u.roles),
            "clearance": u.clearance, "purposes": purposes.open_purposes(get_settings(), u.username)}  # fmt: skip


def _unit_name(code: str) -> str:
    """The unit's name for the console header (the code where the unit is unknown)."""
    with models.engine(get_settings()).connect() as conn:
        return conn.execute(sa.select(models.units.c.name).where(models.units.c.code == code)).scalar() or code


@router.get("/audit/events")
def audit_events(limit: int = Query(200, ge=1, le=MAX_EVENTS), actor: str | None = Query(None, max_length=64),
                 before: int | None = Query(None, ge=1, le=MAX_ID), since: str | None = Query(None, max_length=32),
                 until: str | None = Query(None, max_length=32), record: str | None = Query(None, max_length=64),
                 ctx: AccessContext = Depends(require("audit:read", person_data=False, audited=True))) -> dict:  # fmt: skip
    """A page of the trail, newest first: ``before`` the last seq shown pages back; filters by
    officer, time range (ISO; the deployment's wall time when no zone is given) and the record
    (person) an event names. Each event's time is shown in the deployment's zone."""
    found = log_for(get_settings()).events(limit, actor or None, before, _stored_time(since), _stored_time(until), record or None)
    return {"events": [shown_fields(e, "time") for e in found]}


def _stored_time(text: str | None) -> str | None:
    """A filter time as the trail stores its times (UTC, ``…Z``), so that text compares as time."""
    try:
        t = in_zone(text or None)
    except ValueError:
        raise HTTPException(422, "since / until must be an ISO time such as 2025-03-01T08:00") from None
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@router.get("/audit/verify")
def audit_verify(ctx: AccessContext = Depends(require("audit:read", person_data=False, audited=True))) -> dict:
    """The server's own check, as strict as the command line's: every committed entry is signed
    by its transaction's commit head, so a running server has no unsigned tail either."""
    v = log_for(get_settings()).verify()
    return {"ok": v.ok, "entries": v.entries, "first_broken": v.first_broken, "reason": v.reason, "seals": v.seals_checked,
            "tail": v.tail, "missing_heads": v.missing_heads,
            "unwitnessed_heads": v.unwitnessed_heads, "truncated": v.truncated, "problems": v.problems[:20]}  # fmt: skip


@router.get("/audit/key")
def audit_key(ctx: AccessContext = Depends(require("audit:read", person_data=False))) -> dict:
    """The pinned public key the console checks signed heads with: from configuration or the
    key file, never from a head row in the database. Its fingerprint is shown so an auditor
    can compare it with the copy the oversight department holds."""
    import hashlib

    from zhijing.access.audit.trust import Trust

    trust = Trust.from_settings(get_settings())
    key = trust.pinned_key()
    if key is None:
        raise HTTPException(404, "no pinned audit public key")
    return {"algorithm": trust.algorithm, "public_key": key, "fingerprint": hashlib.sha256(key.encode()).hexdigest()[:16],
            "source": "config" if trust.pinned else "file"}  # fmt: skip


@router.get("/audit/proof/{seq}")
def audit_proof(seq: int = Path(..., ge=1, le=MAX_ID), ctx: AccessContext = Depends(require("audit:read", person_data=False, audited=True))) -> dict:
    """Everything needed to check one entry without trusting the server: its body and chain
    hashes, the RFC 6962 inclusion path, and the signed tree head it leads to (the console
    checks all three in the browser with WebCrypto)."""
    try:
        return log_for(get_settings()).inclusion(seq)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None


@router.get("/oversight/flags")
def flags(status: str | None = None, ctx: AccessContext = Depends(require("oversight:read", person_data=False, audited=True))) -> dict:
    return {"flags": [shown_fields(f, "created_at", "reviewed_at") for f in oversight.list_flags(get_settings(), status)]}


@router.post("/oversight/flags/{flag_id}/review")
def review(flag_id: int = Path(..., ge=1, le=MAX_ID), decision: str = Form(...), note: str = Form(""),
           ctx: AccessContext = Depends(require("oversight:review", person_data=False))) -> dict:  # fmt: skip
    try:
        return shown_fields(oversight.review(get_settings(), flag_id, decision, ctx.user.username, note), "reviewed_at")
    except KeyError:
        raise HTTPException(404, "no such flag") from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def register(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(session_routes.router)
    app.include_router(capabilities.router)
