"""Short-lived signed access tokens (OWASP ASVS V9): HS256 only (allow-list, no ``none``),
issuer / audience / type checked, ``exp`` and ``nbf`` enforced; each token names its login
session (``sid``), which logout or the officer ends (V3.3). The key is generated once per
deployment under the state folder."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt

from zhijing.access import sessions
from zhijing.errors import AccessDenied

ALGORITHMS = ["HS256"]
TOKEN_TYPE = "access"


def _key(settings) -> bytes:
    path = settings.state_dir / "token.key"
    if not path.exists():
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def issue(settings, username: str, minutes: int | None = None, client: str | None = None,
          user_agent: str | None = None) -> str:  # fmt: skip
    """A token for ``username`` in a new login session."""
    now, minutes = datetime.now(UTC), minutes or settings.auth.token_minutes
    claims = {
        "sub": username, "iss": settings.auth.issuer, "aud": settings.auth.audience, "typ": TOKEN_TYPE,
        "iat": now, "nbf": now, "exp": now + timedelta(minutes=minutes),
        "jti": uuid.uuid4().hex, "sid": sessions.start(settings, username, minutes, client, user_agent),
    }  # fmt: skip
    return jwt.encode(claims, _key(settings), algorithm=ALGORITHMS[0])


def verify(settings, token: str) -> dict:
    """The claims of a valid, unrevoked token; AccessDenied (no details) otherwise."""
    claims = signed_claims(settings, token)
    if not sessions.active(settings, str(claims["sid"]), str(claims["sub"])):
        raise AccessDenied("session ended")
    return claims


def signed_claims(settings, token: str) -> dict:
    """The claims of a well-signed, unexpired token, its session not yet looked up."""
    try:
        claims = jwt.decode(token, _key(settings), algorithms=ALGORITHMS, audience=settings.auth.audience,
                            issuer=settings.auth.issuer, options={"require": ["exp", "nbf", "iat", "jti", "sub", "sid"]})  # fmt: skip
    except jwt.ExpiredSignatureError:
        raise AccessDenied("token expired") from None
    except jwt.PyJWTError:
        raise AccessDenied("invalid token") from None
    if claims.get("typ") != TOKEN_TYPE:
        raise AccessDenied("invalid token")
    return claims


def revoke(settings, claims: dict) -> None:
    """End the token's session (logout): the token and any other of the session are refused."""
    sessions.end(settings, str(claims["sid"]), str(claims["sub"]))
