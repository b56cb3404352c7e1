"""Quotas and usage per contract and day, metered without a database write per call.

Each process leases a slice of a contract's daily quota at a time (one atomic UPDATE of
``sh_quota``: the sum of all leases never passes the quota, whatever the number of
processes) and spends it in memory; calls, hits and refusals are counted in memory and
written to ``sh_usage`` at most a second late (and before a report is read). A process
that stops loses at most its unspent lease — quota is never exceeded, only under-used.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa

from zhijing.localtime import zone
from zhijing.sharing.contracts import engine, metadata

quota = sa.Table(
    "sh_quota", metadata,
    sa.Column("contract_id", sa.Integer, primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),  # local date, YYYY-MM-DD
    sa.Column("leased", sa.BigInteger, nullable=False),
)  # fmt: skip

usage = sa.Table(
    "sh_usage", metadata,
    sa.Column("contract_id", sa.Integer, primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("service", sa.String(16), primary_key=True),
    sa.Column("calls", sa.BigInteger, nullable=False, default=0),  # persons asked about (a batch row is one)
    sa.Column("hits", sa.BigInteger, nullable=False, default=0),  # of them answered with a match / a person
    sa.Column("refusals", sa.BigInteger, nullable=False, default=0),  # refused: quota, fields, throttle, bad input
)  # fmt: skip

OUTCOMES = ("calls", "hits", "refusals")
FLUSH_SECONDS = 1.0


def today() -> str:
    return datetime.now(zone()).date().isoformat()


class Meter:
    """One process's leases and unwritten counts (one per metadata database: ``meter``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.left: dict[tuple[int, str], int] = {}
        self.counts: Counter[tuple[int, str, str, str]] = Counter()
        self.flushed = time.monotonic()

    def take(self, settings, contract_id: int, daily_quota: int, n: int = 1) -> bool:
        """Spend ``n`` of today's quota; False (nothing spent) when the quota cannot cover them."""
        key = (contract_id, today())
        with self.lock:
            left = self.left.get(key, 0)
            if left >= n:
                self.left[key] = left - n
                return True
            lease = max(n - left, min(200, daily_quota // 50))
            got = _lease(settings, contract_id, key[1], daily_quota, lease, n - left)
            if left + got < n:
                self.left[key] = left + got
                return False
            self.left[key] = left + got - n
            return True

    def count(self, settings, contract_id: int, service: str, calls: int = 0, hits: int = 0, refusals: int = 0) -> None:
        day = today()
        with self.lock:
            for outcome, n in zip(OUTCOMES, (calls, hits, refusals), strict=True):
                if n:
                    self.counts[(contract_id, day, service, outcome)] += n
            due = time.monotonic() - self.flushed >= FLUSH_SECONDS
        if due:
            self.flush(settings)

    def flush(self, settings) -> None:
        with self.lock:
            counts, self.counts, self.flushed = self.counts, Counter(), time.monotonic()
        if not counts:
            return
        rows: dict[tuple[int, str, str], dict[str, int]] = {}
        for (cid, day, service, outcome), n in counts.items():
            rows.setdefault((cid, day, service), dict.fromkeys(OUTCOMES, 0))[outcome] += n
        with engine(settings).begin() as conn:
            for (cid, day, service), add in rows.items():
                where = (usage.c.contract_id == cid, usage.c.day == day, usage.c.service == service)
                done = conn.execute(sa.update(usage).where(*where).values(
                    **{k: usage.c[k] + v for k, v in add.items()})).rowcount  # fmt: skip
                if not done:
                    conn.execute(sa.insert(usage).values(contract_id=cid, day=day, service=service, **add))


def _lease(settings, contract_id: int, day: str, daily_quota: int, want: int, need: int) -> int:
    """Lease ``want`` calls of the day's quota (at least ``need``, else whatever is left); returns how many."""
    with engine(settings).begin() as conn:
        row = conn.execute(sa.select(quota.c.leased).where(quota.c.contract_id == contract_id, quota.c.day == day)).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(quota).values(contract_id=contract_id, day=day, leased=0))
            except sa.exc.IntegrityError:
                pass
        for k in (want, need):
            if k > 0 and conn.execute(sa.update(quota).where(
                    quota.c.contract_id == contract_id, quota.c.day == day, quota.c.leased + k <= daily_quota)
                    .values(leased=quota.c.leased + k)).rowcount:  # fmt: skip
                return k
        left = daily_quota - (conn.execute(sa.select(quota.c.leased).where(
            quota.c.contract_id == contract_id, quota.c.day == day)).scalar() or 0)  # fmt: skip
        if left > 0 and conn.execute(sa.update(quota).where(
                quota.c.contract_id == contract_id, quota.c.day == day, quota.c.leased + left <= daily_quota)
                .values(leased=quota.c.leased + left)).rowcount:  # fmt: skip
            return left
    return 0


@lru_cache(maxsize=8)
def _meter(url: str) -> Meter:
    return Meter()


def meter(settings) -> Meter:
    """This process's meter of the deployment's metadata database (like its engine pool)."""
    return _meter(settings.sqlalchemy_url("metadata"))


def report(settings, contract_id: int, days: int = 30) -> dict:
    """Calls, hits and refusals per day and service (the last ``days`` days), and today's quota left."""
    meter(settings).flush(settings)
    with engine(settings).connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(usage).where(usage.c.contract_id == contract_id)
                                                        .order_by(usage.c.day.desc(), usage.c.service))]  # fmt: skip
        leased = conn.execute(sa.select(quota.c.leased).where(quota.c.contract_id == contract_id, quota.c.day == today())).scalar()
    days_seen = sorted({r["day"] for r in rows})[-days:]
    rows = [r for r in rows if r["day"] in days_seen]
    totals = {k: sum(r[k] for r in rows) for k in OUTCOMES}
    return {"contract_id": contract_id, "days": days_seen, "rows": rows, "totals": totals, "leased_today": leased or 0}
