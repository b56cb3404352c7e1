"""Short-lived signed access tokens (OWASP ASVS V9): HS256 only (allow-list, no ``none``),
issuer / audience / type checked, ``exp`` and ``nbf`` enforced; each token names its login
session (``sid``), which logout or the officer ends (V3.3), and comes with the session's
refresh token (``sessions``: rotated on use) that renews it while the officer works. The key is generated once per
deployment under the state folder."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt

from zhijing.access import sessions
from zhijing.errors import AccessDenied

ALGORITHMS = ["HS256"]
TOKEN_TYPE = "access"


def _key(settings) -> bytes:
    return _key_at(settings.state_dir / "token.key")


@lru_cache(maxsize=8)
def _key_at(path: Path) -> bytes:
    """The deployment's signing key, made on first use and read once per process."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def issue(settings, username: str, minutes: int | None = None, client: str | None = None,
          user_agent: str | None = None) -> str:  # fmt: skip
    """A token for ``username`` in a new login session."""
    return access(settings, username, sessions.start(settings, username, client, user_agent), minutes)


def access(settings, username: str, sid: str, minutes: int | None = None) -> str:
    """An access token of ``username`` in session ``sid``."""
    now, minutes = sessions.now(), minutes or settings.auth.token_minutes
    claims = {
        "sub": username, "iss": settings.auth.issuer, "aud": settings.auth.audience, "typ": TOKEN_TYPE,
        "iat": now, "nbf": now, "exp": now + timedelta(minutes=minutes), "jti": uuid.uuid4().hex, "sid": sid,
    }  # fmt: skip
    return jwt.encode(claims, _key(settings), algorithm=ALGORITHMS[0])


def response(settings, username: str, sid: str) -> dict[str, Any]:
    """The token answer (RFC 6749 §5.1): an access token and the session's next refresh token."""
    return {"access_token": access(settings, username, sid), "token_type": "bearer", "expires_in": settings.auth.token_minutes * 60,
            "refresh_token": sessions.new_refresh(settings, sid), "session_hours": settings.auth.session_hours,
            "idle_minutes": settings.auth.idle_minutes}  # fmt: skip


def login(settings, username: str, client: str | None, user_agent: str | None) -> dict[str, Any]:
    """The token answer of a login: a new session."""
    return response(settings, username, sessions.start(settings, username, client, user_agent))


def refreshed(settings, refresh_token: str) -> dict[str, Any]:
    """The token answer for a refresh token, spent (rotated); AccessDenied when refused."""
    sid, username = sessions.renew(settings, refresh_token)
    return response(settings, username, sid)


def verify(settings, token: str) -> dict:
    """The claims of a valid, unrevoked token; AccessDenied (no details) otherwise."""
    claims = signed_claims(settings, token)
    if not sessions.active(settings, str(claims["sid"]), str(claims["sub"])):
        raise AccessDenied("session ended")
    return claims


def signed_claims(settings, token: str) -> dict:
    """The claims of a well-signed, unexpired token, its session not yet looked up. A token's
    signature is checked once per process (its claims remembered), its time on every request."""
    claims = _checked(token, _key(settings), settings.auth.audience, settings.auth.issuer)
    if not claims["nbf"] <= time.time() < claims["exp"]:
        raise AccessDenied("token expired" if time.time() >= claims["exp"] else "invalid token")
    return dict(claims)


@lru_cache(maxsize=4096)
def _checked(token: str, key: bytes, audience: str, issuer: str) -> dict:
    try:
        claims = jwt.decode(token, key, algorithms=ALGORITHMS, audience=audience, issuer=issuer,
                            options={"require": ["exp", "nbf", "iat", "jti", "sub", "sid"]})  # fmt: skip
    except jwt.ExpiredSignatureError:
        raise AccessDenied("token expired") from None
    except jwt.PyJWTError:
        raise AccessDenied("invalid token") from None
    if claims.get("typ") != TOKEN_TYPE or not isinstance(claims.get("exp"), int | float) or not isinstance(claims.get("nbf"), int | float):
        raise AccessDenied("invalid token")
    return claims


def revoke(settings, claims: dict) -> None:
    """End the token's session (logout): the token and any other of the session are refused."""
    sessions.end(settings, str(claims["sid"]), str(claims["sub"]))
