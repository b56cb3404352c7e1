"""Login, tokens, the caller's identity, the audit trail and oversight flags."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request

from zhijing.access import oversight, tokens
from zhijing.access import purpose as purposes
from zhijing.access.audit.store import log_for
from zhijing.access.guard import AccessContext, require
from zhijing.access.passwords import verify_password
from zhijing.config import get_settings
from zhijing.errors import AccessDenied

router = APIRouter(prefix="/api", tags=["access"])


@router.post("/auth/token")
def token(
    grant_type: str = Form("password"), username: str = Form(None), password: str = Form(None),
    client_id: str = Form(None), client_secret: str = Form(None),
    _ctx=Depends(require("public:login", person_data=False)),
) -> dict[str, Any]:  # fmt: skip
    """OAuth2 password flow (officers) and client-credentials flow (external systems)."""
    import sqlalchemy as sa

    from zhijing.access import models

    settings = get_settings()
    who, secret = (username, password) if grant_type == "password" else (client_id, client_secret)
    if grant_type not in ("password", "client_credentials") or not who or not secret:
        raise HTTPException(400, "unsupported grant or missing credentials")
    with models.engine(settings).connect() as conn:
        row = conn.execute(sa.select(models.users).where(models.users.c.username == who)).first()
    if row is None or not row.active or not verify_password(row.password_hash, secret):
        raise HTTPException(401, "wrong user or password")
    if grant_type == "client_credentials" and row.kind != "external":
        raise HTTPException(400, "client credentials are for external department accounts")
    return {"access_token": tokens.issue(settings, who), "token_type": "bearer", "expires_in": settings.auth.token_minutes * 60}


@router.post("/auth/logout")
def logout(request: Request, ctx: AccessContext = Depends(require("public:logout", person_data=False))) -> dict:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        with contextlib.suppress(AccessDenied):
            tokens.revoke(get_settings(), tokens.verify(get_settings(), auth.split(" ", 1)[1]))
    return {"ok": True}


@router.get("/me")
def me(ctx: AccessContext = Depends(require("catalog:read", person_data=False))) -> dict[str, Any]:
    u = ctx.user
    return {"username": u.username, "name": u.name, "unit": u.unit, "department": u.department, "roles": list(u.roles),
            "clearance": u.clearance, "purposes": purposes.open_purposes(get_settings(), u.username)}  # fmt: skip


@router.get("/audit/events")
def audit_events(limit: int = 200, actor: str | None = None,
                 ctx: AccessContext = Depends(require("audit:read", person_data=False, audited=True))) -> dict:  # fmt: skip
    return {"events": log_for(get_settings()).events(min(limit, 5000), actor)}


@router.get("/audit/verify")
def audit_verify(ctx: AccessContext = Depends(require("audit:read", person_data=False, audited=True))) -> dict:
    """The server's own check; a running server always has a fresh unsealed tail, so it is
    allowed here (and counted) — an older one is not."""
    v = log_for(get_settings()).verify(allow_tail=True)
    return {"ok": v.ok, "entries": v.entries, "first_broken": v.first_broken, "reason": v.reason, "seals": v.seals_checked,
            "tail": v.tail, "stale_tail": v.stale_tail, "missing_heads": v.missing_heads,
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
def audit_proof(seq: int, ctx: AccessContext = Depends(require("audit:read", person_data=False, audited=True))) -> dict:
    """Everything needed to check one entry without trusting the server: its body and chain
    hashes, the RFC 6962 inclusion path, and the signed tree head it leads to (the console
    checks all three in the browser with WebCrypto)."""
    try:
        return log_for(get_settings()).inclusion(seq)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None


@router.get("/oversight/flags")
def flags(status: str | None = None, ctx: AccessContext = Depends(require("oversight:read", person_data=False, audited=True))) -> dict:
    return {"flags": oversight.list_flags(get_settings(), status)}


@router.post("/oversight/flags/{flag_id}/review")
def review(flag_id: int, decision: str = Form(...), note: str = Form(""),
           ctx: AccessContext = Depends(require("oversight:review", person_data=False))) -> dict:  # fmt: skip
    try:
        return oversight.review(get_settings(), flag_id, decision, ctx.user.username, note)
    except KeyError:
        raise HTTPException(404, "no such flag") from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def register(app: FastAPI) -> None:
    app.include_router(router)
