"""Short-lived signed access tokens (OWASP ASVS V9): HS256 only (allow-list, no ``none``),
issuer / audience / type checked, ``exp`` and ``nbf`` enforced, ``jti`` revocable on
logout. The key is generated once per deployment under the state folder."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import sqlalchemy as sa

from zhijing.access import models
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


def issue(settings, username: str, minutes: int | None = None) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": username, "iss": settings.auth.issuer, "aud": settings.auth.audience, "typ": TOKEN_TYPE,
        "iat": now, "nbf": now, "exp": now + timedelta(minutes=minutes or settings.auth.token_minutes),
        "jti": uuid.uuid4().hex,
    }  # fmt: skip
    return jwt.encode(claims, _key(settings), algorithm=ALGORITHMS[0])


def verify(settings, token: str) -> dict:
    """The claims of a valid, unrevoked token; AccessDenied (no details) otherwise."""
    try:
        claims = jwt.decode(token, _key(settings), algorithms=ALGORITHMS, audience=settings.auth.audience,
                            issuer=settings.auth.issuer, options={"require": ["exp", "nbf", "iat", "jti", "sub"]})  # fmt: skip
    except jwt.ExpiredSignatureError:
        raise AccessDenied("token expired") from None
    except jwt.PyJWTError:
        raise AccessDenied("invalid token") from None
    if claims.get("typ") != TOKEN_TYPE:
        raise AccessDenied("invalid token")
    with models.engine(settings).connect() as conn:
        if conn.execute(sa.select(models.revoked.c.jti).where(models.revoked.c.jti == claims["jti"])).first():
            raise AccessDenied("token revoked")
    return claims


def revoke(settings, claims: dict) -> None:
    with models.engine(settings).begin() as conn:
        conn.execute(sa.insert(models.revoked).values(jti=claims["jti"],
                     expires_at=datetime.fromtimestamp(claims["exp"], UTC)))  # fmt: skip
