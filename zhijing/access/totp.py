"""An optional second factor: time-based one-time passwords (RFC 6238, via pyotp) that any
authenticator app reads from an ``otpauth://`` URI. A deployment may require it for
privileged roles or departments (``security.totp_required_for``: admin, auditor, 督察)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import sqlalchemy as sa

from zhijing.access.account_tables import engine, totp

ISSUER = "智警 zhijing"
STEP = 30  # seconds (RFC 6238 default)


def enrol(settings, username: str) -> str:
    """A new secret for ``username`` (replacing any old one); returns its provisioning URI."""
    secret = pyotp.random_base32()
    with engine(settings).begin() as conn:
        conn.execute(sa.delete(totp).where(totp.c.username == username))
        conn.execute(sa.insert(totp).values(username=username, secret=secret, last_step=0))
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def remove(settings, username: str) -> bool:
    with engine(settings).begin() as conn:
        return conn.execute(sa.delete(totp).where(totp.c.username == username)).rowcount > 0


def enrolled(settings, username: str) -> bool:
    with engine(settings).connect() as conn:
        return conn.execute(sa.select(totp.c.username).where(totp.c.username == username)).first() is not None


def required(settings, roles: tuple[str, ...], department: str) -> bool:
    """Must an account of these roles / this department log in with a second factor?"""
    wanted = set(settings.security.totp_required_for)
    return bool(wanted & {*roles, department})


def check(settings, username: str, code: str | None) -> bool:
    """Is ``code`` the user's current one-time password (±1 step of clock drift), not used before?"""
    code = (code or "").strip()
    with engine(settings).begin() as conn:
        row = conn.execute(sa.select(totp).where(totp.c.username == username)).first()
        if row is None or not code.isdigit():
            return False
        otp, now = pyotp.TOTP(row.secret), datetime.now(UTC)
        for drift in (0, -1, 1):
            at = now + timedelta(seconds=drift * STEP)
            step = otp.timecode(at)
            if step > row.last_step and pyotp.utils.strings_equal(otp.at(at), code):
                conn.execute(sa.update(totp).where(totp.c.username == username).values(last_step=step))
                return True
    return False
