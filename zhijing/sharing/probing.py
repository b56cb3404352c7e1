"""Enumeration watch (批量枚举): a contract is for the persons a department has in hand, not
for finding out who exists. Two patterns over a contract's last calls betray probing:

- sequential: many IDs of one division and birth date within ±20 sequence numbers of each
  other (walking the sequence code of GB 11643);
- random: in a full window, half or more of the IDs name nobody or are malformed.

Either throttles the contract (every call refused until ``throttled_until``) and raises a
flag ``enumeration`` for 督察 beside the audit trail's own misuse rules.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa

from zhijing.access import models
from zhijing.access.oversight import flags
from zhijing.sharing import contracts

NEAR = 20  # sequence numbers apart that count as walking the sequence


class Watch:
    """One process's window of recent calls per contract."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[int, deque[tuple[str | None, bool]]] = {}

    def note(self, settings, contract_id: int, citizen_id: str | None, hit: bool) -> str | None:
        """Record one call (``citizen_id`` None: malformed); the pattern seen, if any."""
        s = settings.sharing
        with self.lock:
            window = self.calls.setdefault(contract_id, deque(maxlen=s.probe_window))
            window.append((citizen_id, hit))
            seen = _sequential(window, citizen_id, s.probe_sequential) or _random(window, s.probe_window, s.probe_misses)
            if seen:
                window.clear()
        return seen

    def forget(self, contract_id: int) -> None:
        with self.lock:
            self.calls.pop(contract_id, None)


def _sequential(window, citizen_id: str | None, threshold: int) -> str | None:
    if citizen_id is None:
        return None
    prefix, seq = citizen_id[:14], int(citizen_id[14:17])
    near = sum(1 for c, _ in window if c and c[:14] == prefix and c != citizen_id and abs(int(c[14:17]) - seq) <= NEAR)
    return "sequential ID probing" if near + 1 >= threshold else None


def _random(window, size: int, share: float) -> str | None:
    if len(window) < size:
        return None
    misses = sum(1 for _, hit in window if not hit)
    return "random ID probing" if misses >= share * len(window) else None


@lru_cache(maxsize=8)
def _watch(url: str) -> Watch:
    return Watch()


def watch(settings) -> Watch:
    return _watch(settings.sqlalchemy_url("metadata"))


def caught(settings, contract: contracts.Contract, actor: str, pattern: str) -> datetime:
    """Throttle the contract and flag it for 督察; returns until when it is refused."""
    until = datetime.now(UTC) + timedelta(minutes=settings.sharing.throttle_minutes)
    contracts.throttle(settings, contract.id, until)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    summary = f"{actor} under {contract.ref} ({contract.department}): {pattern}; contract throttled until {until:%H:%M} UTC"
    with models.engine(settings).begin() as conn:
        flags.create(conn, checkfirst=True)
        where = (flags.c.rule == "enumeration", flags.c.actor == actor, flags.c.subject == contract.ref)
        if conn.execute(sa.select(flags.c.id).where(*where)).first() is None:
            conn.execute(sa.insert(flags).values(rule="enumeration", actor=actor, subject=contract.ref, summary=summary,
                                                 evidence=json.dumps([]), status="open", created_at=now))  # fmt: skip
        else:
            conn.execute(sa.update(flags).where(*where).values(summary=summary, status="open", created_at=now))
    return until
