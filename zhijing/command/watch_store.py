"""The watchlist's tables (智能布控): watches, their hits, and how far each model file was matched.

A watch names a person (master id), a plate or a phone, under a purpose, with a reason, an
expiry and a named approver; it hits nothing until that approver — never the officer who
placed it — approves it. Its state is computed when read (an expiry passed is ``expired``
whatever the row says) and written back by ``sweep``. A hit is one record matching one watch,
written once (the same record reaching the matcher by the stream and again by the model build
is one hit).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from zhijing.access import models as acc
from zhijing.config import Settings
from zhijing.errors import AccessDenied, ZhijingError

KINDS = ("person", "plate", "phone")
PURPOSE_KINDS = ("case", "order", "emergency")
CHUNK = 500  # values per IN (...) list
STATE_ZH = {"pending": "待审批", "active": "布控中", "revoked": "已撤控", "expired": "已到期"}

meta = sa.MetaData()
watches = sa.Table(
    "watches", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(8), nullable=False), sa.Column("value", sa.String(64), nullable=False),
    sa.Column("key", sa.String(64), nullable=False, index=True), sa.Column("label", sa.String(64)),
    sa.Column("purpose", sa.String(64), nullable=False), sa.Column("reason", sa.Text, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("unit", sa.String(16), nullable=False),  # the placing officer's unit: it owns the hits
    sa.Column("placed_by", sa.String(64), nullable=False), sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("approver", sa.String(64), nullable=False),  # named by the placer
    sa.Column("approved_by", sa.String(64)), sa.Column("approved_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_by", sa.String(64)), sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("state", sa.String(8), nullable=False),
)  # fmt: skip
hits = sa.Table(
    "watch_hits", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("watch", sa.Integer, nullable=False, index=True), sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("type", sa.String(32), nullable=False), sa.Column("dataset", sa.String(64), nullable=False),
    sa.Column("record", sa.String(128), nullable=False), sa.Column("role", sa.String(32), nullable=False),  # the role it matched in
    sa.Column("match", sa.String(12), nullable=False),  # exact | ocr | citizen_id | phone | master
    sa.Column("time", sa.DateTime(timezone=True)), sa.Column("lon", sa.Float), sa.Column("lat", sa.Float),
    sa.Column("place", sa.String(128)), sa.Column("station", sa.String(8)),
    sa.Column("via", sa.String(8), nullable=False),  # stream | build
    sa.Column("detail", sa.Text), sa.Column("incident", sa.String(24)),
    sa.UniqueConstraint("watch", "type", "dataset", "record", name="uq_watch_hit"),  # one hit per record, by its first role
)  # fmt: skip
marks = sa.Table(
    "watch_marks", meta,  # "type/dataset" -> the model file whose rows were matched last
    sa.Column("key", sa.String(160), primary_key=True), sa.Column("path", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True)),
)  # fmt: skip


def engine(settings: Settings) -> sa.Engine:
    return acc.engine_with(settings, meta)


def now() -> datetime:
    return datetime.now(UTC)


def aware(t: datetime | None) -> datetime | None:
    """A stored time as an aware UTC instant (SQLite gives it back without its zone)."""
    return t if t is None or t.tzinfo else t.replace(tzinfo=UTC)


def state_of(row, at: datetime | None = None) -> str:
    """The watch's state at ``at`` (now): revoked and expired win over what the row says."""
    if row["state"] == "revoked":
        return "revoked"
    if row["state"] == "expired" or aware(row["expires_at"]) <= (at or now()):
        return "expired"
    return "active" if row["approved_by"] else "pending"


def as_dict(row, at: datetime | None = None) -> dict:
    """A watch row (a mapping) as a dict, its times aware and its state as of ``at``."""
    d = {k: aware(v) if isinstance(v, datetime) else v for k, v in row.items()}
    d["state"] = state_of(row, at)
    d["state_zh"] = STATE_ZH[d["state"]]
    return d


def _dicts(result, at: datetime) -> list[dict]:
    names = list(result.keys())  # once: a Row's own mapping rebuilds its keys per row (10⁴ watches: seconds)
    return [as_dict(dict(zip(names, r, strict=True)), at) for r in result]


def place(settings: Settings, kind: str, value: str, key: str, label: str | None, purpose: str, reason: str,
          expires_at: datetime, placer: str, unit: str, approver: str) -> dict:  # fmt: skip
    """Record a pending watch; the approver must be another officer holding the approver role."""
    if kind not in KINDS:
        raise ZhijingError(f"a watch is on a person, a plate or a phone, not {kind!r}")
    if purpose.split(":", 1)[0] not in PURPOSE_KINDS:
        raise ZhijingError("a watch runs under a case, order or emergency purpose")
    if not reason.strip():
        raise ZhijingError("a watch needs a reason (布控事由)")
    if aware(expires_at) <= now():
        raise ZhijingError("the expiry must lie in the future")
    if approver == placer:
        raise AccessDenied("separation of duties: the officer who places a watch cannot approve it")
    with acc.engine(settings).connect() as conn:
        u = conn.execute(sa.select(acc.users.c.roles, acc.users.c.active).where(acc.users.c.username == approver)).first()
    if u is None or not u.active or "approver" not in u.roles.split(","):
        raise ZhijingError("the approver must be an active officer holding the approver role (审批人)")
    row = {"kind": kind, "value": value, "key": key, "label": label, "purpose": purpose, "reason": reason.strip(),
           "expires_at": aware(expires_at), "unit": unit, "placed_by": placer, "placed_at": now(), "approver": approver,
           "state": "pending"}  # fmt: skip
    with engine(settings).begin() as conn:
        row["id"] = conn.execute(sa.insert(watches).values(**row)).inserted_primary_key[0]
    return get(settings, row["id"])


def get(settings: Settings, watch_id: int) -> dict:
    with engine(settings).connect() as conn:
        row = conn.execute(sa.select(watches).where(watches.c.id == watch_id)).mappings().first()
    if row is None:
        raise ZhijingError(f"no watch {watch_id}")
    return as_dict(row)


def approve(settings: Settings, watch_id: int, approver: str) -> dict:
    """The named approver's approval (once, while pending): from now on the watch hits."""
    w = get(settings, watch_id)
    if approver == w["placed_by"]:
        raise AccessDenied("separation of duties: the officer who placed this watch cannot approve it")
    if approver != w["approver"]:
        raise AccessDenied("only the approver the watch names may approve it")
    if w["state"] != "pending":
        raise ZhijingError(f"the watch is {w['state']}, not pending approval")
    with engine(settings).begin() as conn:
        done = conn.execute(sa.update(watches).where(watches.c.id == watch_id, watches.c.state == "pending", watches.c.approved_by.is_(None))
                            .values(approved_by=approver, approved_at=now(), state="active")).rowcount  # fmt: skip
    if not done:
        raise ZhijingError("the watch was approved or revoked meanwhile")
    return get(settings, watch_id)


def revoke(settings: Settings, watch_id: int, by: str) -> dict:
    w = get(settings, watch_id)
    if w["state"] in ("revoked", "expired"):
        raise ZhijingError(f"the watch is already {w['state']}")
    with engine(settings).begin() as conn:
        conn.execute(sa.update(watches).where(watches.c.id == watch_id).values(state="revoked", revoked_by=by, revoked_at=now()))
    return get(settings, watch_id)


def sweep(settings: Settings, at: datetime | None = None) -> int:
    """Write ``expired`` onto every watch whose expiry has passed; returns how many."""
    with engine(settings).begin() as conn:
        return conn.execute(sa.update(watches).where(watches.c.state.in_(("pending", "active")), watches.c.expires_at <= (at or now()))
                            .values(state="expired")).rowcount  # fmt: skip


def listed(settings: Settings, where=None) -> list[dict]:
    """Every watch (matching ``where``, a SQLAlchemy condition), newest first, state as of now."""
    q = sa.select(watches).order_by(watches.c.id.desc())
    if where is not None:
        q = q.where(where)
    at = now()
    with engine(settings).connect() as conn:
        return _dicts(conn.execute(q), at)


def active(settings: Settings, at: datetime | None = None) -> list[dict]:
    """The watches that hit now: approved, not revoked, not expired."""
    at = at or now()
    cond = sa.and_(watches.c.state == "active", watches.c.approved_by.is_not(None), watches.c.expires_at > at)
    with engine(settings).connect() as conn:
        return _dicts(conn.execute(sa.select(watches).where(cond)), at)


def generation(settings: Settings) -> tuple:
    """What changes whenever the set of hitting watches may change (the matcher's cache key)."""
    with engine(settings).connect() as conn:
        return tuple(conn.execute(sa.select(sa.func.count(), sa.func.max(watches.c.id), sa.func.max(watches.c.approved_at),
                                            sa.func.max(watches.c.revoked_at))).first())  # fmt: skip


def add_hits(settings: Settings, rows: list[dict], emit=None) -> list[dict]:
    """Insert the hits not yet recorded (one transaction); ``emit(conn, hit)`` runs in it for
    each new one (the ``watch.hit`` event on the live bus). Returns the new hits, with ids."""
    def key(h) -> tuple:
        return h["watch"], h["type"], h["dataset"], h["record"]

    cols = (hits.c.watch, hits.c.type, hits.c.dataset, hits.c.record)
    records = sorted({h["record"] for h in rows})
    with engine(settings).begin() as conn:
        have = {tuple(r) for i in range(0, len(records), CHUNK)
                for r in conn.execute(sa.select(*cols).where(hits.c.record.in_(records[i : i + CHUNK])))}  # fmt: skip
        fresh = list({key(h): h for h in rows if key(h) not in have}.values())
        if not fresh:
            return []
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(hits), fresh)
        except sa.exc.IntegrityError:  # another matcher wrote some of them meanwhile: one by one
            kept = []
            for h in fresh:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(hits).values(**h))
                    kept.append(h)
                except sa.exc.IntegrityError:
                    continue
            fresh = kept
        ids = {tuple(r[1:]): r[0] for i in range(0, len(records), CHUNK)
               for r in conn.execute(sa.select(hits.c.id, *cols).where(hits.c.record.in_(records[i : i + CHUNK])))}  # fmt: skip
        new = [{**h, "id": ids[key(h)]} for h in fresh]
        for h in new if emit is not None else ():
            emit(conn, h)
    return new


def hit_rows(settings: Settings, watch_ids: list[int] | None = None, limit: int = 200) -> list[dict]:
    q = sa.select(hits).order_by(hits.c.id.desc()).limit(limit)
    if watch_ids is not None:
        q = q.where(hits.c.watch.in_(watch_ids))
    with engine(settings).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def hit(settings: Settings, hit_id: int) -> dict:
    with engine(settings).connect() as conn:
        row = conn.execute(sa.select(hits).where(hits.c.id == hit_id)).first()
    if row is None:
        raise ZhijingError(f"no watch hit {hit_id}")
    return dict(row._mapping)


def link_incident(settings: Settings, hit_id: int, incident: str) -> None:
    with engine(settings).begin() as conn:
        conn.execute(sa.update(hits).where(hits.c.id == hit_id).values(incident=incident))


def mark(settings: Settings, key: str) -> str | None:
    with engine(settings).connect() as conn:
        return conn.execute(sa.select(marks.c.path).where(marks.c.key == key)).scalar()


def set_mark(settings: Settings, key: str, path: str) -> None:
    with engine(settings).begin() as conn:
        conn.execute(sa.delete(marks).where(marks.c.key == key))
        conn.execute(sa.insert(marks).values(key=key, path=path, at=now()))
