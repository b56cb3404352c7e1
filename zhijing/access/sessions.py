"""Login sessions (OWASP ASVS V3): every token names its session (``sid``); an officer lists
their own sessions and ends any of them (a lost phone, a shared terminal), logout ends the
current one, and a token of an ended session is refused on its next request.

A session lasts a shift (``auth.session_hours``) through short access tokens renewed with a
refresh token bound to it: each refresh token is good once (rotated on use), and one
presented again — a copy stolen and raced against its owner — ends the session (RFC 9700
§4.14.2). A session not renewed for ``auth.idle_minutes`` ends, so an unattended console
logs out; an account disabled or a session ended refuses its refresh tokens too.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from zhijing.access import models
from zhijing.access.account_tables import aware, engine, refresh, sessions
from zhijing.errors import AccessDenied
from zhijing.localtime import shown

REUSED = "refresh token used twice: the session is ended, log in again"


def now() -> datetime:
    """The sessions' clock (tests move it to make a session old)."""
    return datetime.now(UTC)


def start(settings, username: str, client: str | None, user_agent: str | None) -> str:
    """A new session of ``username``, lasting at most a shift; returns its id."""
    sid, t = uuid.uuid4().hex, now()
    with engine(settings).begin() as conn:  # the user's sessions long expired are forgotten as they log in again
        old = sa.select(sessions.c.sid).where(sessions.c.username == username, sessions.c.expires_at < t - timedelta(days=1))
        conn.execute(sa.delete(refresh).where(refresh.c.sid.in_(old)))
        conn.execute(sa.delete(sessions).where(sessions.c.sid.in_(old)))
        conn.execute(sa.insert(sessions).values(sid=sid, username=username, created_at=t,
                                                expires_at=t + timedelta(hours=settings.auth.session_hours),
                                                client=(client or "")[:64] or None,
                                                user_agent=(user_agent or "")[:200] or None))  # fmt: skip
    return sid


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh(settings, sid: str) -> str:
    """A refresh token of session ``sid`` (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    with engine(settings).begin() as conn:
        conn.execute(sa.insert(refresh).values(digest=_digest(token), sid=sid, issued_at=now()))
    return token


def _end(conn, sid: str) -> None:
    conn.execute(sa.update(sessions).where(sessions.c.sid == sid, sessions.c.revoked_at.is_(None)).values(revoked_at=now()))


def renew(settings, token: str) -> tuple[str, str]:
    """Spend a refresh token: (sid, username) of its session, still open, recently renewed and
    of an active account; AccessDenied otherwise. A token spent before ends its session."""
    t, failure = now(), None
    with engine(settings).begin() as conn:
        r = conn.execute(sa.select(refresh).where(refresh.c.digest == _digest(token or ""))).first()
        if r is None:
            raise AccessDenied("invalid refresh token")
        s = conn.execute(sa.select(sessions).where(sessions.c.sid == r.sid)).first()
        user = conn.execute(sa.select(models.users.c.active).where(models.users.c.username == s.username)).first() if s else None
        if s is None or s.revoked_at is not None or aware(s.expires_at) <= t:
            raise AccessDenied("session ended")
        if r.used_at is not None:
            failure = REUSED
        elif aware(r.issued_at) + timedelta(minutes=settings.auth.idle_minutes) <= t:
            failure = "session idle too long: log in again"
        elif user is None or not user.active:
            failure = "unknown or inactive user"
        elif conn.execute(sa.update(refresh).where(refresh.c.digest == r.digest, refresh.c.used_at.is_(None))
                          .values(used_at=t)).rowcount != 1:  # fmt: skip
            failure = REUSED  # another request spent it in between
        if failure:
            _end(conn, r.sid)
    if failure:  # raised after the commit: the session stays ended
        raise AccessDenied(failure)
    return r.sid, s.username


def end_with_refresh(settings, token: str) -> bool:
    """End the session a refresh token belongs to (logout when the access token has expired)."""
    with engine(settings).begin() as conn:
        sid = conn.execute(sa.select(refresh.c.sid).where(refresh.c.digest == _digest(token or ""))).scalar()
        if sid is not None:
            _end(conn, sid)
    return sid is not None


def active(settings, sid: str, username: str) -> bool:
    with engine(settings).connect() as conn:
        row = conn.execute(sa.select(sessions.c.revoked_at, sessions.c.expires_at)
                           .where(sessions.c.sid == sid, sessions.c.username == username)).first()  # fmt: skip
    return row is not None and row.revoked_at is None and aware(row.expires_at) > now()


def end(settings, sid: str, username: str) -> bool:
    """End one of ``username``'s own sessions; False when they hold no such open session."""
    with engine(settings).begin() as conn:
        done = conn.execute(sa.update(sessions).where(sessions.c.sid == sid, sessions.c.username == username,
                                                      sessions.c.revoked_at.is_(None))
                            .values(revoked_at=now()))  # fmt: skip
    return done.rowcount > 0


def end_all(settings, username: str) -> int:
    """End every open session of ``username`` (an account disabled): their refresh tokens die with them."""
    with engine(settings).begin() as conn:
        return conn.execute(sa.update(sessions).where(sessions.c.username == username, sessions.c.revoked_at.is_(None))
                            .values(revoked_at=now())).rowcount  # fmt: skip


def open_sessions(settings, username: str) -> list[dict[str, Any]]:
    """``username``'s sessions that are neither ended nor expired, newest first."""
    t = now()
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(sessions).where(sessions.c.username == username, sessions.c.revoked_at.is_(None))
                            .order_by(sessions.c.created_at.desc())).all()  # fmt: skip
    return [{"sid": r.sid, "created_at": shown(r.created_at), "expires_at": shown(r.expires_at),
             "client": r.client, "user_agent": r.user_agent} for r in rows if aware(r.expires_at) > t]  # fmt: skip
