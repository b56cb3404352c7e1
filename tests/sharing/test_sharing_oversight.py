"""A sharing contract's disclosures are metered by its quota, not flagged as one officer's bulk
reads or unapproved exports; the same volume under a ticket still is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zhijing.access.oversight import detect


def _events(purpose: str, actor: str = "weijian01", n: int = 60) -> list[dict]:
    at = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    return [{"seq": i + 1, "time": (at + timedelta(seconds=i)).isoformat(), "actor": actor, "unit": "EXT-WJW", "purpose": purpose,
             "operation": "disclose", "outcome": "allowed", "query": "sharing verify", "records": [f"PM{i:06d}"]} for i in range(n)]


def _rules(events: list[dict]) -> set[str]:
    found = detect(events, lambda ref: set(), lambda m: None, lambda u: None, lambda u: set(), lambda ref: {"weijian01"})
    return {f["rule"] for f in found}


def test_contract_disclosures_are_left_to_the_contract():
    assert not _rules(_events("contract:7")) & {"bulk_read", "bulk_export", "supervisor_read"}
    assert not _rules(_events("contract:7", actor="system:sharing")) & {"supervisor_read", "bulk_read"}  # pushes
    assert {"bulk_read", "bulk_export"} <= _rules(_events("ticket:T1"))
