"""Logging in (OWASP ASVS V2): lockout after repeated failures per account and per client,
every failure audited (never the password), the same work for an unknown user as for a
wrong password, and a second factor where the account has one or its role requires one."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any

import anyio.from_thread
import sqlalchemy as sa
from fastapi import HTTPException, Request

from zhijing.access import models, throttle, tokens, totp
from zhijing.access.guard import AccessContext, User, refuse_unauthenticated
from zhijing.access.passwords import hash_password, verify_password

WRONG = "wrong user or password"
LOCKED = "too many failed logins: try again later"


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """An Argon2id hash no password matches: checked for unknown users, so that they take as
    long to refuse as a wrong password (no user enumeration by timing)."""
    return hash_password(secrets.token_urlsafe(24))


def _user(row) -> User:
    return User(row.username, row.name, row.unit_code, row.department, tuple(r for r in row.roles.split(",") if r),
                row.clearance, row.kind, row.household_id)  # fmt: skip


def authenticate(request: Request, settings, ctx: AccessContext, grant_type: str, who: str | None, secret: str | None,
                 code: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A token response for good credentials; an audited, throttled refusal otherwise."""
    if grant_type not in ("password", "client_credentials") or not who or not secret:
        raise HTTPException(400, "unsupported grant or missing credentials")
    ctx.query = "login"
    with models.engine(settings).connect() as conn:
        row = conn.execute(sa.select(models.users).where(models.users.c.username == who)).first()
    ctx.user = _user(row) if row is not None else None  # the audit names a real account, never typed text

    def refuse(status: int, reason: str, failed: bool = True, headers: dict[str, str] | None = None) -> HTTPException:
        if failed:
            throttle.record_failure(settings, who, ctx.client)
        # this route runs in a worker thread: the (async) audited refusal runs on the event loop
        return anyio.from_thread.run(refuse_unauthenticated, request, settings, status, reason, ctx, True, headers)

    wait = throttle.locked_for(settings, who, ctx.client)
    if wait:
        raise refuse(429, LOCKED, failed=False, headers={"Retry-After": str(wait)})
    good = verify_password(row.password_hash if row is not None and row.password_hash else _dummy_hash(), secret)
    if row is None or not row.active or not good:
        raise refuse(401, WRONG)
    if grant_type == "client_credentials" and row.kind != "external":
        raise HTTPException(400, "client credentials are for external department accounts")
    if totp.enrolled(settings, who):
        if not totp.check(settings, who, code):
            raise refuse(401, "one-time code required" if not code else "wrong one-time code")
    elif totp.required(settings, ctx.user.roles, row.department):
        raise refuse(403, "this account must log in with a second factor: ask an administrator to enrol it", failed=False)
    throttle.record_success(settings, who)
    return tokens.login(settings, who, ctx.client, request.headers.get("user-agent"))
