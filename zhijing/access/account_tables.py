"""Tables of login security (lockouts, sessions and their refresh tokens, second factors) in the metadata database,
created on first use beside the organisation tables of ``models``."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from zhijing.access import models

metadata = sa.MetaData()

failures = sa.Table(
    "acc_login_failures", metadata,
    sa.Column("key", sa.String(160), primary_key=True),  # user:<name> | client:<address>
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
)  # fmt: skip

sessions = sa.Table(
    "acc_sessions", metadata,
    sa.Column("sid", sa.String(32), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("client", sa.String(64)),
    sa.Column("user_agent", sa.String(200)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)  # fmt: skip

refresh = sa.Table(
    "acc_refresh_tokens", metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # SHA-256 of the token: the token itself is kept nowhere
    sa.Column("sid", sa.String(32), nullable=False, index=True),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),  # rotated: presenting it again ends the session
)  # fmt: skip

totp = sa.Table(
    "acc_totp", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("secret", sa.String(64), nullable=False),  # base32 (RFC 4648), in the 0600 metadata database
    sa.Column("last_step", sa.BigInteger, nullable=False, default=0),  # a code is good once (RFC 6238 §5.2)
)  # fmt: skip


def engine(settings) -> sa.Engine:
    return models.engine_with(settings, metadata)


def aware(t: datetime | None) -> datetime | None:
    """A stored time with its zone (SQLite gives times back without one)."""
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t
