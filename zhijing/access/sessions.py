"""Login sessions (OWASP ASVS V3): every token names its session (``sid``); an officer lists
their own sessions and ends any of them (a lost phone, a shared terminal), logout ends the
current one, and a token of an ended session is refused on its next request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from zhijing.access.account_tables import aware, engine, sessions
from zhijing.localtime import shown


def start(settings, username: str, minutes: int, client: str | None, user_agent: str | None) -> str:
    """A new session of ``username``; returns its id."""
    sid, now = uuid.uuid4().hex, datetime.now(UTC)
    with engine(settings).begin() as conn:  # the user's sessions long expired are forgotten as they log in again
        conn.execute(sa.delete(sessions).where(sessions.c.username == username, sessions.c.expires_at < now - timedelta(days=1)))
        conn.execute(sa.insert(sessions).values(sid=sid, username=username, created_at=now,
                                                expires_at=now + timedelta(minutes=minutes),
                                                client=(client or "")[:64] or None,
                                                user_agent=(user_agent or "")[:200] or None))  # fmt: skip
    return sid


def active(settings, sid: str, username: str) -> bool:
    with engine(settings).connect() as conn:
        row = conn.execute(sa.select(sessions.c.revoked_at).where(sessions.c.sid == sid, sessions.c.username == username)).first()
    return row is not None and row.revoked_at is None


def end(settings, sid: str, username: str) -> bool:
    """End one of ``username``'s own sessions; False when they hold no such open session."""
    with engine(settings).begin() as conn:
        done = conn.execute(sa.update(sessions).where(sessions.c.sid == sid, sessions.c.username == username,
                                                      sessions.c.revoked_at.is_(None))
                            .values(revoked_at=datetime.now(UTC)))  # fmt: skip
    return done.rowcount > 0


def open_sessions(settings, username: str) -> list[dict[str, Any]]:
    """``username``'s sessions that are neither ended nor expired, newest first."""
    now = datetime.now(UTC)
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(sessions).where(sessions.c.username == username, sessions.c.revoked_at.is_(None))
                            .order_by(sessions.c.created_at.desc())).all()  # fmt: skip
    return [{"sid": r.sid, "created_at": shown(r.created_at), "expires_at": shown(r.expires_at),
             "client": r.client, "user_agent": r.user_agent} for r in rows if aware(r.expires_at) > now]  # fmt: skip
