"""The custody chain of seized property (涉案财物流转记录): append-only, hash-chained, anchored.

Every move of an item is one entry: canonical JSON (``body``) with ``hash = SHA-256(prev ||
body)`` as the audit trail computes it (``access.audit.store.chain_hash``), one chain per
item starting at GENESIS. The other columns (holder, location, time, action …) are copies for
queries that ``verify`` checks against the body, and the item's current holder, location and
state are copies of its last entry. Each entry is also anchored in the audit trail (an event
naming ``custody:<item>:<n>:<hash>`` among its records), whose signed heads live outside this
database: editing a column is found by the body, editing a body by its hash, re-chaining an
item's whole tail by its anchors, deleting entries by the anchors left over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from zhijing.access.audit import AuditEvent
from zhijing.access.audit.schema import GENESIS
from zhijing.access.audit.schema import events as audit_events
from zhijing.access.audit.store import chain_hash, log_for

ACTIONS = {  # action → (state after it, 中文)
    "intake": ("in_custody", "入库登记"), "move": ("in_custody", "移库"), "handover": ("in_custody", "移交保管"),
    "check_out": ("out", "出库（鉴定/辨认/庭审）"), "check_in": ("in_custody", "归还入库"), "photo": (None, "拍照固定"),
    "returned": ("returned", "发还"), "disposed": ("disposed", "处置"),
}  # fmt: skip
FINAL = ("returned", "disposed")
BODY_FIELDS = ("property", "n", "action", "holder", "location", "at", "by", "note", "photo", "request")
ANCHOR = "custody:"
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode

meta = sa.MetaData()
entries = sa.Table(
    "property_custody", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("property_id", sa.Integer, nullable=False, index=True), sa.Column("n", sa.Integer, nullable=False),
    sa.Column("action", sa.String(16), nullable=False), sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("location", sa.String(48), nullable=False), sa.Column("at", sa.String(32), nullable=False),
    sa.Column("by", sa.String(64), nullable=False), sa.Column("note", sa.String(256)),
    sa.Column("body", sa.Text, nullable=False), sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("property_id", "n"),  # two moves at once: one takes n, the other retries after it
)  # fmt: skip


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry(property_id: int, n: int, action: str, holder: str, location: str, at: datetime, by: str, prev: str,
          note: str | None = None, photo: str | None = None, request: int | None = None) -> dict:  # fmt: skip
    """One entry's row: its body, the copies and the hash chained onto ``prev``."""
    body = {"property": property_id, "n": n, "action": action, "holder": holder, "location": location, "at": iso(at), "by": by,
            "note": note, "photo": photo, "request": request}  # fmt: skip
    text = _CANONICAL(body)
    return {"property_id": property_id, "n": n, "action": action, "holder": holder, "location": location, "at": body["at"],
            "by": by, "note": note, "body": text, "prev_hash": prev, "hash": chain_hash(prev, text)}  # fmt: skip


def anchor_of(row: dict) -> str:
    return f"{ANCHOR}{row['property_id']}:{row['n']}:{row['hash']}"


def anchor(settings, rows: list[dict], actor: str, unit: str | None, purpose: str | None) -> None:
    """Write the entries' anchors into the audit trail (one event each; durable before return)."""
    log = log_for(settings)
    log.append_many([AuditEvent(actor=actor, operation="alter", outcome="allowed", unit=unit, purpose=purpose,
                                records=[str(r["property_id"]), anchor_of(r)], query=f"property custody {r['action']}")
                     for r in rows])  # fmt: skip


def _anchors(settings, property_ids: list[int] | None = None) -> dict[tuple[int, int], set[str]]:
    """(item, n) → the hashes the audit trail anchored for that entry (of the given items: one
    item's page reads its own anchors, not every anchor of the trail)."""
    out: dict[tuple[int, int], set[str]] = {}
    if property_ids is not None and not property_ids:
        return out
    which = (sa.or_(*(audit_events.c.records.contains(f'"{ANCHOR}{pid}:', autoescape=True) for pid in property_ids))
             if property_ids is not None and len(property_ids) <= 50 else audit_events.c.records.contains(f'"{ANCHOR}'))  # fmt: skip
    with log_for(settings).engine.connect() as conn:
        found = conn.execute(sa.select(audit_events.c.records).where(which)).scalars()
        for text in found:
            for r in json.loads(text or "[]"):
                if r.startswith(ANCHOR):
                    pid, n, digest = r[len(ANCHOR):].split(":")[:3]
                    out.setdefault((int(pid), int(n)), set()).add(digest)
    return out


@dataclass
class Verification:
    ok: bool
    items: int
    entries: int
    problems: list[dict] = field(default_factory=list)  # {property_id, n, problem}


def verify(settings, conn, items: dict[int, dict]) -> Verification:
    """Check every chain of ``items`` (id → item row with its state/holder/location copies):
    copies against bodies, each hash, each link, n without gaps, the item's copies against its
    last entry, and every entry's anchor in the audit trail (and no anchor left without its entry)."""
    problems: list[dict] = []
    anchors = _anchors(settings, list(items))
    rows = conn.execute(sa.select(entries).where(entries.c.property_id.in_(list(items))) if len(items) < 500
                        else sa.select(entries)).mappings().all()  # fmt: skip
    by_item: dict[int, list] = {}
    for r in rows:
        if r["property_id"] in items:
            by_item.setdefault(r["property_id"], []).append(r)
    seen: set[tuple[int, int]] = set()
    for pid, chain in by_item.items():
        prev = GENESIS
        for i, r in enumerate(sorted(chain, key=lambda r: r["n"]), 1):
            problem = _problem(r, i, prev)
            seen.add((pid, r["n"]))
            anchored = anchors.get((pid, r["n"]))
            if problem is None and not anchored:
                problem = "no anchor in the audit trail: written outside the platform"
            elif problem is None and r["hash"] not in anchored:
                problem = "its hash differs from the one anchored in the audit trail: rewritten and re-chained"
            if problem:
                problems.append({"property_id": pid, "n": r["n"], "problem": problem})
            prev = r["hash"]
        last = json.loads(chain[-1]["body"]) if chain else None
        item = items[pid]
        if last and (item.get("holder"), item.get("location")) != (last["holder"], last["location"]):
            problems.append({"property_id": pid, "n": last["n"], "problem": "the item's holder or location differs from its last entry"})
    for pid, n in anchors.keys() - seen:
        if pid in items:
            problems.append({"property_id": pid, "n": n, "problem": "an anchored entry is missing (deleted)"})
    return Verification(not problems, len(items), len(rows), sorted(problems, key=lambda p: (p["property_id"], p["n"])))


def _problem(r, i: int, prev: str) -> str | None:
    try:
        body = json.loads(r["body"])
    except ValueError:
        return "the entry's body is not JSON"
    if r["n"] != i:
        return f"entry {i} is missing (next is {r['n']})"
    if r["prev_hash"] != prev:
        return "the link to the previous entry is broken"
    if chain_hash(prev, r["body"]) != r["hash"]:
        return "the entry's hash does not match its body"
    if body.get("property") != r["property_id"] or any(body.get(k) != r[k] for k in ("n", "action", "holder", "location", "at", "by", "note")):
        return "a column differs from the hashed body"
    return None
