"""Throttling (OWASP ASVS V2.2.1): temporary lockout after repeated failed logins, per
account and per client address, and a rate limit on refused unauthenticated requests.

Failed logins are counted in the metadata database, so every worker process of a
deployment sees the same lockouts. The refusal rate limit is per process (``limits``'
moving window in memory): it only bounds how fast anonymous noise can fill the audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from zhijing.access.account_tables import aware, engine, failures


def _keys(username: str | None, client: str | None) -> list[tuple[str, str]]:
    """(key, which limit) for this attempt; a username need not exist to be counted."""
    keys = [(f"user:{(username or '').strip().lower()[:128]}", "user")] if username else []
    return keys + ([(f"client:{client[:64]}", "client")] if client else [])


def locked_for(settings, username: str | None, client: str | None) -> int:
    """Seconds until the account and the client may try again (0: not locked)."""
    keys = [k for k, _ in _keys(username, client)]
    now = datetime.now(UTC)
    with engine(settings).connect() as conn:
        until = [aware(r.locked_until) for r in conn.execute(sa.select(failures).where(failures.c.key.in_(keys)))]
    return max([int((u - now).total_seconds()) + 1 for u in until if u and u > now], default=0)


def record_failure(settings, username: str | None, client: str | None) -> None:
    """Count one failed login against the account and the client; lock either at its limit."""
    sec, now = settings.security, datetime.now(UTC)
    window, limit = timedelta(minutes=sec.login_window_minutes), {"user": sec.login_max_failures,
                                                                   "client": sec.login_client_max_failures}  # fmt: skip
    with engine(settings).begin() as conn:
        for key, which in _keys(username, client):
            row = conn.execute(sa.select(failures).where(failures.c.key == key)).first()
            fresh = row is None or aware(row.first_at) < now - window
            count = 1 if fresh else row.failures + 1
            locked = now + timedelta(minutes=sec.lockout_minutes) if count >= limit[which] else None
            conn.execute(sa.delete(failures).where(failures.c.key == key))
            conn.execute(sa.insert(failures).values(key=key, failures=0 if locked else count,
                                                    first_at=now if fresh or locked else aware(row.first_at),
                                                    locked_until=locked))  # fmt: skip


def record_success(settings, username: str) -> None:
    """A correct login clears the account's count (never the client's: one good account
    must not reset the count of guesses against others)."""
    with engine(settings).begin() as conn:
        conn.execute(sa.delete(failures).where(failures.c.key == _keys(username, None)[0][0]))


class RefusalLimiter:
    """Refused unauthenticated requests per client: ``allow`` says whether this one may still
    be answered (and audited) normally; ``first_over`` is true once per window when the
    client goes over, so the audit trail notes that a client was throttled, once."""

    def __init__(self, rate: str):
        self.rate = rate
        self.item: RateLimitItem = parse(rate)
        self.notice: RateLimitItem = type(self.item)(1, self.item.multiples)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def allow(self, client: str | None) -> bool:
        return self.limiter.hit(self.item, "refusal", client or "-")

    def first_over(self, client: str | None) -> bool:
        return self.limiter.hit(self.notice, "notice", client or "-")

    def retry_after(self, client: str | None) -> int:
        reset, _ = self.limiter.get_window_stats(self.item, "refusal", client or "-")
        return max(1, int(reset - datetime.now(UTC).timestamp()) + 1)


def limiter_for(app, settings) -> RefusalLimiter:
    """The app's refusal limiter (one per app and rate, so a fresh app starts afresh)."""
    rate = settings.security.anonymous_refusals
    limiter = getattr(app.state, "refusal_limiter", None)
    if limiter is None or limiter.rate != rate:
        limiter = app.state.refusal_limiter = RefusalLimiter(rate)
    return limiter
