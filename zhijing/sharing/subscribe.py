"""Subscription (订阅): the changes of the persons a department named under its contract, of
the events the contract names — pushed to the contract's endpoint at least once (retried
with backoff, then shown as failed), or pulled from the feed with a cursor.

A change fans out to one delivery per contract that subscribes to it; the clock's
``deliver_due`` (every second) posts what is due, each delivery under a lease so two
processes never post it at once. The receiver deduplicates by the ``X-Zhijing-Delivery``
header: at least once means it may see one twice. Each delivery is audited as a disclosure.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from zhijing.access.audit import AuditEvent, append
from zhijing.access.masking import mask_value
from zhijing.localtime import instant
from zhijing.sharing import changes, contracts
from zhijing.sharing.contracts import engine, metadata
from zhijing.sharing.lookup import by_citizen_id

LEASE_S = 60  # a claimed delivery is someone else's to retry after this
MAX_SUBSCRIBED = 1000  # persons named in one request

subscribed = sa.Table(  # the persons a contract names; ``id`` is the reference deliveries carry (IDs go masked)
    "sh_subscribed", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("contract_id", sa.Integer, nullable=False),
    sa.Column("citizen_id", sa.String(18), nullable=False, index=True),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("contract_id", "citizen_id", name="uq_subscribed"),
)  # fmt: skip

deliveries = sa.Table(
    "sh_deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("contract_id", sa.Integer, nullable=False, index=True),
    sa.Column("change_seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("status", sa.String(12), nullable=False, index=True),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("contract_id", "change_seq", name="uq_delivery"),
)  # fmt: skip

state = sa.Table(  # what was last seen of a subscribed person, to find their changes in the serving store
    "sh_state", metadata,
    sa.Column("citizen_id", sa.String(18), primary_key=True),
    sa.Column("district", sa.Text),
    sa.Column("vehicles", sa.Text),  # JSON list of plates
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)  # fmt: skip


def add_persons(settings, contract_id: int, citizen_ids: list[str]) -> tuple[int, list[int]]:
    """Name persons (valid IDs) whose changes the contract delivers: (how many are new, the
    reference of each person asked, in the order asked — what every delivery about them carries)."""
    asked = [changes.valid_id(c) for c in citizen_ids]
    ids = sorted(set(asked))
    now = datetime.now(UTC)
    with engine(settings).begin() as conn:
        have = set(conn.execute(sa.select(subscribed.c.citizen_id).where(
            subscribed.c.contract_id == contract_id, subscribed.c.citizen_id.in_(ids))).scalars())  # fmt: skip
        new = [{"contract_id": contract_id, "citizen_id": c, "added_at": now} for c in ids if c not in have]
        if new:
            conn.execute(sa.insert(subscribed), new)
        refs = dict(conn.execute(sa.select(subscribed.c.citizen_id, subscribed.c.id).where(
            subscribed.c.contract_id == contract_id, subscribed.c.citizen_id.in_(ids))).all())  # fmt: skip
    return len(new), [refs[c] for c in asked]


def count_persons(settings, contract_id: int) -> int:
    with engine(settings).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(subscribed).where(subscribed.c.contract_id == contract_id)).scalar()


def _subscribers(conn, kind: str, citizen_id: str) -> list[contracts.Contract]:
    ids = conn.execute(sa.select(subscribed.c.contract_id).where(subscribed.c.citizen_id == citizen_id)).scalars().all()
    rows = conn.execute(sa.select(contracts.contracts).where(contracts.contracts.c.id.in_(ids))).all() if ids else []
    found = [contracts.from_row(r) for r in rows]
    return [c for c in found if c.state() == "active" and "subscribe" in c.services and kind in c.events]


def fan_out(settings, seq: int) -> list[int]:
    """One pending delivery per contract with an endpoint that subscribes to change ``seq``."""
    with engine(settings).begin() as conn:
        ch = conn.execute(sa.select(changes.changes).where(changes.changes.c.seq == seq)).first()
        now = datetime.now(UTC)
        made = []
        for c in _subscribers(conn, ch.kind, ch.citizen_id):
            if c.endpoint:
                made.append(conn.execute(sa.insert(deliveries).values(
                    contract_id=c.id, change_seq=seq, kind=ch.kind, status="pending", attempts=0, next_at=now,
                    created_at=now)).inserted_primary_key[0])  # fmt: skip
    return made


def record_and_fan_out(settings, kind: str, citizen_id: str, detail: dict | None, by: str) -> tuple[int, list[int]]:
    seq = changes.record(settings, kind, citizen_id, detail, by)
    return seq, fan_out(settings, seq)


def feed(settings, contract: contracts.Contract, after: int, limit: int) -> list[dict]:
    """The contract's changes after ``after`` (its events, its named persons), oldest first."""
    with engine(settings).connect() as conn:
        q = (sa.select(changes.changes, subscribed.c.id.label("ref"))
             .join(subscribed, sa.and_(subscribed.c.citizen_id == changes.changes.c.citizen_id, subscribed.c.contract_id == contract.id))
             .where(changes.changes.c.seq > after, changes.changes.c.kind.in_(contract.events))
             .order_by(changes.changes.c.seq).limit(limit))  # fmt: skip
        return [{**dict(r._mapping), "detail": json.loads(r.detail)} for r in conn.execute(q)]


def _claim(settings, now: datetime, limit: int) -> list[dict]:
    with engine(settings).begin() as conn:
        due = conn.execute(sa.select(deliveries.c.id).where(
            deliveries.c.status == "pending", deliveries.c.next_at <= now,
            sa.or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now)).order_by(deliveries.c.next_at).limit(limit)).scalars().all()  # fmt: skip
        mine = []
        for d in due:
            if conn.execute(sa.update(deliveries).where(deliveries.c.id == d, sa.or_(
                    deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now))
                    .values(lease_until=now + timedelta(seconds=LEASE_S))).rowcount:  # fmt: skip
                mine.append(d)
        rows = conn.execute(sa.select(deliveries, changes.changes.c.citizen_id, changes.changes.c.detail,
                                      changes.changes.c.recorded_at, subscribed.c.id.label("ref"))
                            .join(changes.changes, changes.changes.c.seq == deliveries.c.change_seq)
                            .join(subscribed, sa.and_(subscribed.c.citizen_id == changes.changes.c.citizen_id,
                                                      subscribed.c.contract_id == deliveries.c.contract_id))
                            .where(deliveries.c.id.in_(mine))).mappings().all() if mine else []  # fmt: skip
    return [dict(r) for r in rows]


def _post(client: httpx.Client, c: contracts.Contract, d: dict) -> str | None:
    """Post one delivery; None when the endpoint took it (2xx), else the one-line failure."""
    body = {"delivery": d["id"], "contract": c.id, "seq": d["change_seq"], "kind": d["kind"], "ref": d["ref"],
            "citizen_id": mask_value(d["citizen_id"], "citizen_id"),
            "detail": json.loads(d["detail"]), "recorded_at": instant(d["recorded_at"]).isoformat()}  # fmt: skip
    try:
        r = client.post(c.endpoint, json=body, headers={"X-Zhijing-Delivery": str(d["id"]), "X-Zhijing-Contract": c.ref})
    except httpx.TimeoutException:
        return "timed out"
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"
    return None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}"


def deliver_due(settings, limit: int = 200) -> dict[str, int]:
    """Post every due delivery once (in parallel); record success, or schedule the retry, or fail it."""
    now = datetime.now(UTC)
    due = _claim(settings, now, limit)
    if not due:
        return {"delivered": 0, "retrying": 0, "failed": 0}
    terms = {c: contracts.get(settings, c) for c in {d["contract_id"] for d in due}}
    s = settings.sharing
    with httpx.Client(timeout=s.delivery_timeout_s, follow_redirects=False) as client, ThreadPoolExecutor(8) as pool:
        errors = list(pool.map(lambda d: _post(client, terms[d["contract_id"]], d), due))
    out = {"delivered": 0, "retrying": 0, "failed": 0}
    masters = by_citizen_id(settings, [d["citizen_id"] for d in due]) if any(e is None for e in errors) else {}
    for d, error in zip(due, errors, strict=True):
        attempts, done = d["attempts"] + 1, datetime.now(UTC)
        if error is None:
            values, out["delivered"] = {"status": "delivered", "delivered_at": done}, out["delivered"] + 1
            c = terms[d["contract_id"]]
            who = masters.get(d["citizen_id"], {}).get("master_id") or d["citizen_id"]
            append(AuditEvent(actor="system:sharing", unit=c.unit_code, operation="disclose", outcome="allowed", purpose=c.ref,
                              records=[who], query=f"sharing push delivery {d['id']} change {d['change_seq']} ({d['kind']}) "
                              f"to {c.department}"), settings)  # fmt: skip
        elif attempts >= s.delivery_attempts:
            values, out["failed"] = {"status": "failed"}, out["failed"] + 1
        else:
            values, out["retrying"] = {"next_at": done + timedelta(seconds=s.delivery_backoff_s * 2 ** (attempts - 1))}, out["retrying"] + 1
        with engine(settings).begin() as conn:
            conn.execute(sa.update(deliveries).where(deliveries.c.id == d["id"]).values(
                attempts=attempts, last_error=error, lease_until=None, **values))  # fmt: skip
    return out


def listed(settings, contract_id: int | None = None, status: str | None = None, limit: int = 500) -> list[dict]:
    q = sa.select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    if contract_id is not None:
        q = q.where(deliveries.c.contract_id == contract_id)
    if status:
        q = q.where(deliveries.c.status == status)
    with engine(settings).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def detect(settings) -> list[int]:
    """Changes of subscribed persons seen in the serving store since last time: a district
    changed (move out), a vehicle no longer theirs (transfer). The first sight of a person is
    only remembered. Returns the new changes' sequence numbers (fanned out)."""
    with engine(settings).connect() as conn:
        ids = sorted(set(conn.execute(sa.select(subscribed.c.citizen_id)).scalars()))
        seen = {r.citizen_id: r for r in conn.execute(sa.select(state))}
    now, made = datetime.now(UTC), []
    found = by_citizen_id(settings, ids, extras=True) if ids else {}
    for cid_, p in found.items():
        before, vehicles = seen.get(cid_), sorted(p.get("vehicles") or [])
        if before is not None:
            if (before.district or None) != (p["district"] or None):
                made.append(changes.record(settings, "move_out", cid_, {"from": before.district, "to": p["district"]}, "system:detect"))
            for plate in sorted(set(json.loads(before.vehicles or "[]")) - set(vehicles)):
                made.append(changes.record(settings, "vehicle_transfer", cid_, {"plate": plate}, "system:detect"))
        with engine(settings).begin() as conn:
            conn.execute(sa.delete(state).where(state.c.citizen_id == cid_))
            conn.execute(sa.insert(state).values(citizen_id=cid_, district=p["district"], vehicles=json.dumps(vehicles), seen_at=now))
    for seq in made:
        fan_out(settings, seq)
    return made
