"""Seized property (涉案财物): intake, storage locations, the custody chain, return and
disposal under a second officer's approval, and the flags supervision reads.

An item belongs to a case (``case_id``: the procedure's case; ``case_ref``: the purpose its
routes run under). Its moves are entries of the custody chain (``custody.py``); its row
holds copies of the last entry. Return (发还) and disposal (处置) happen only by an approved
request, and the approver is neither the requester nor the officer who seized the item nor
the case's handler (separation of duties). After either, no further move is accepted.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from zhijing.access import models
from zhijing.cases import custody
from zhijing.cases.custody import ACTIONS, FINAL
from zhijing.errors import AccessDenied, Conflict, NotFound, ZhijingError

CATEGORIES = {"cash": "现金", "vehicle": "车辆", "phone": "手机/电子设备", "drugs": "毒品", "weapon": "管制刀具/枪支",
              "document": "证件/票据", "valuables": "贵重物品", "other": "其他"}  # fmt: skip
REQUESTS = {"return": "发还", "dispose": "处置"}
METHODS = {"return": ("发还被害人", "发还所有人"), "dispose": ("没收上缴国库", "销毁", "拍卖变卖", "移送随案")}
FUTURE_SLACK = timedelta(minutes=5)  # a step stamped later than now + this is refused (clocks differ a little)
PHOTO_MAX = 900_000  # bytes; the API's body cap is 1 MB
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}

meta = sa.MetaData()
items = sa.Table(
    "property_items", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(64), nullable=False, index=True), sa.Column("case_ref", sa.String(64), nullable=False, index=True),
    sa.Column("description", sa.String(256), nullable=False), sa.Column("category", sa.String(16), nullable=False),
    sa.Column("quantity", sa.String(32), nullable=False), sa.Column("value_yuan", sa.Float),
    sa.Column("seized_at", sa.DateTime(timezone=True), nullable=False), sa.Column("seized_by", sa.String(64), nullable=False),
    sa.Column("unit_code", sa.String(32), nullable=False), sa.Column("disposal_due", sa.Date),
    sa.Column("state", sa.String(16), nullable=False), sa.Column("holder", sa.String(64)), sa.Column("location", sa.String(48)),
    sa.Column("photos", sa.Text, nullable=False, default=""),  # SHA-256 of each photo, comma separated (each also in the chain)
    sa.Column("external_id", sa.String(64), index=True),  # the item's number in the system it was imported from
)  # fmt: skip
locations = sa.Table(
    "property_locations", meta,
    sa.Column("code", sa.String(48), primary_key=True), sa.Column("name", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False), sa.Column("unit_code", sa.String(32), nullable=False, index=True),
)  # fmt: skip
requests = sa.Table(
    "property_requests", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("property_id", sa.Integer, nullable=False, index=True), sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("method", sa.String(32), nullable=False), sa.Column("recipient", sa.String(64)), sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("requested_by", sa.String(64), nullable=False), sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.String(12), nullable=False), sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", sa.DateTime(timezone=True)), sa.Column("decision_note", sa.String(500)),
    sa.Column("done_at", sa.DateTime(timezone=True)),
)  # fmt: skip
KINDS_OF_LOCATION = {"room": "涉案财物保管室", "locker": "办案区临时保管柜", "yard": "涉案车辆停放场", "lab": "鉴定机构"}
TIMES = ("seized_at", "requested_at", "decided_at", "done_at")


def engine(settings) -> sa.Engine:
    eng = models.engine_with(settings, meta)
    models.engine_with(settings, custody.meta)
    return eng


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(row: dict) -> dict:
    for k in TIMES:
        if row.get(k) is not None and row[k].tzinfo is None:
            row[k] = row[k].replace(tzinfo=UTC)
    return row


def number(item_id: int, seized_at: datetime) -> str:
    """The item's printed number: ``SW`` + year + six digits."""
    return f"SW{seized_at.year}{item_id:06d}"


# ---------------------------------------------------------------- locations


def default_locations(unit_code: str, unit_name: str = "") -> list[dict]:
    """A unit's standard places: its property room, the case area's lockers, its vehicle yard."""
    return [{"code": f"{unit_code}-{k.upper()}", "name": f"{unit_name}{label}", "kind": k, "unit_code": unit_code}
            for k, label in KINDS_OF_LOCATION.items()]  # fmt: skip


def unit_locations(settings, unit_code: str) -> list[dict]:
    """The storage locations of a unit and of the units above it (a station uses its branch's
    room too); a unit without any gets its standard ones."""
    with models.engine(settings).connect() as conn:
        chain, code = [], unit_code
        while code and len(chain) < 6:
            r = conn.execute(sa.select(models.units.c.code, models.units.c.name, models.units.c.parent_code)
                             .where(models.units.c.code == code)).first()  # fmt: skip
            if r is None:
                break
            chain.append((r.code, r.name))
            code = r.parent_code
    eng = engine(settings)
    with eng.begin() as conn:
        have = set(conn.execute(sa.select(locations.c.unit_code).distinct()).scalars())
        fresh = [loc for code, name in chain[:2] if code not in have for loc in default_locations(code, name)]
        if fresh:
            conn.execute(sa.insert(locations), fresh)
        rows = conn.execute(sa.select(locations).where(locations.c.unit_code.in_([c for c, _ in chain]))
                            .order_by(locations.c.code)).mappings().all()  # fmt: skip
    order = list(KINDS_OF_LOCATION)  # the unit's own places first, its property room first of them
    return sorted((dict(r) for r in rows), key=lambda r: (r["unit_code"] != unit_code, order.index(r["kind"]) if r["kind"] in order else 9, r["code"]))


def _location(conn, code: str) -> dict:
    r = conn.execute(sa.select(locations).where(locations.c.code == code)).mappings().first()
    if r is None:
        raise ZhijingError("no such storage location")
    return dict(r)


# ---------------------------------------------------------------- items and their chain


def _stamp(at: datetime | None, after: str | None) -> datetime:
    """The time of a step: now when not given; never in the future, never before the last entry
    (a back-dated step would rewrite the order of custody)."""
    now = _now()
    t = now if at is None else at
    if t.tzinfo is None:
        raise ZhijingError("a step's time must carry its zone")
    if t > now + FUTURE_SLACK:
        raise ZhijingError("a step cannot be dated in the future")
    if after is not None and custody.iso(t) < after:
        raise ZhijingError(f"a step cannot be dated before the last entry ({after}): back-dating is refused")
    return t


def intake(settings, *, case_id: str, case_ref: str, description: str, category: str, quantity: str, seized_by: str,
           unit_code: str, holder: str, location: str, value_yuan: float | None = None, disposal_due: date | None = None,
           seized_at: datetime | None = None, actor: str | None = None, purpose: str | None = None,
           anchor: bool = True) -> dict:  # fmt: skip
    """Register an item (入库登记): its row and the first entry of its chain, in one transaction."""
    if category not in CATEGORIES:
        raise ZhijingError(f"category must be one of {', '.join(CATEGORIES)}")
    if not description.strip():
        raise ZhijingError("an item needs a description")
    at = _stamp(seized_at, None)
    if disposal_due is not None and disposal_due < at.date():
        raise ZhijingError("the disposal date lies before the seizure")
    with engine(settings).begin() as conn:
        _location(conn, location)
        pid = conn.execute(sa.insert(items).values(
            case_id=case_id, case_ref=case_ref, description=description.strip()[:256], category=category, quantity=quantity[:32],
            value_yuan=value_yuan, seized_at=at, seized_by=seized_by, unit_code=unit_code, disposal_due=disposal_due,
            state="in_custody", holder=holder, location=location, photos="")).inserted_primary_key[0]  # fmt: skip
        row = custody.entry(pid, 1, "intake", holder, location, at, actor or seized_by, custody.GENESIS, note=description.strip()[:256])
        conn.execute(sa.insert(custody.entries).values(**row))
    if anchor:
        custody.anchor(settings, [row], actor or seized_by, unit_code, purpose)
    return item(settings, pid)


def append(settings, property_id: int, action: str, *, holder: str | None = None, location: str | None = None, by: str,
           at: datetime | None = None, note: str | None = None, photo: str | None = None, request: int | None = None,
           unit: str | None = None, purpose: str | None = None, anchor: bool = True) -> dict:  # fmt: skip
    """One move of the item's custody (a new holder or place, out for examination and back, a
    photo, its return or disposal). Refused for an item already returned or disposed, a step
    dated before the last one, and a return or disposal that no approved request names."""
    if action not in ACTIONS:
        raise ZhijingError(f"action must be one of {', '.join(ACTIONS)}")
    if action in FINAL and request is None:
        raise ZhijingError("return and disposal need an approved request (发还/处置审批)")
    for attempt in range(5):
        try:
            row = _append_once(settings, property_id, action, holder, location, by, at, note, photo, request)
            break
        except sa.exc.IntegrityError:  # another move took this n first: chain onto it
            if attempt == 4:
                raise Conflict("the item was moved by someone else at the same moment: try again") from None
    if anchor:
        custody.anchor(settings, [row], by, unit, purpose)
    return row


def _append_once(settings, pid, action, holder, location, by, at, note, photo, request) -> dict:
    with engine(settings).begin() as conn:
        it = conn.execute(sa.select(items).where(items.c.id == pid)).mappings().first()
        if it is None:
            raise NotFound("no such item")
        if it["state"] in FINAL:
            raise Conflict(f"the item was already {'returned' if it['state'] == 'returned' else 'disposed'} (已{'发还' if it['state'] == 'returned' else '处置'}): no further move")
        last = conn.execute(sa.select(custody.entries.c.n, custody.entries.c.hash, custody.entries.c.at)
                            .where(custody.entries.c.property_id == pid).order_by(custody.entries.c.n.desc())).first()  # fmt: skip
        n, prev, after = (last.n + 1, last.hash, last.at) if last else (1, custody.GENESIS, None)
        t = _stamp(at, after)
        holder, location = holder or it["holder"], location or it["location"]
        if location != it["location"]:
            _location(conn, location)
        row = custody.entry(pid, n, action, holder, location, t, by, prev, note=note, photo=photo, request=request)
        conn.execute(sa.insert(custody.entries).values(**row))
        state = ACTIONS[action][0] or it["state"]
        conn.execute(sa.update(items).where(items.c.id == pid).values(state=state, holder=holder, location=location))
        if photo:
            conn.execute(sa.update(items).where(items.c.id == pid).values(photos=",".join(filter(None, [it["photos"], photo]))))
    return row


def item(settings, property_id: int) -> dict:
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(items).where(items.c.id == property_id)).mappings().first()
    if r is None:
        raise NotFound("no such item")
    return _item_view(dict(r))


def _item_view(r: dict) -> dict:
    r = _aware(r)
    return {**r, "number": number(r["id"], r["seized_at"]), "photos": [p for p in (r.get("photos") or "").split(",") if p],
            "category_zh": CATEGORIES.get(r["category"], r["category"])}  # fmt: skip


def items_of_case(settings, case_ref: str, case_ids: list[str] | None = None) -> list[dict]:
    """The items registered under a case's purpose, and those of the procedure cases ``case_ids``
    (a 专案 linked to a procedure case works that case's items under its own purpose)."""
    where = items.c.case_ref == case_ref
    if case_ids:
        where = sa.or_(where, items.c.case_id.in_(case_ids))
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(items).where(where).order_by(items.c.id)).mappings().all()
    return [_item_view(dict(r)) for r in rows]


def chain(settings, property_id: int) -> list[dict]:
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(custody.entries).where(custody.entries.c.property_id == property_id)
                            .order_by(custody.entries.c.n)).mappings().all()  # fmt: skip
    return [{**{k: r[k] for k in ("n", "action", "holder", "location", "at", "by", "note", "hash", "prev_hash")},
             "action_zh": ACTIONS.get(r["action"], (None, r["action"]))[1]} for r in rows]  # fmt: skip


def verify(settings, property_ids: list[int] | None = None) -> custody.Verification:
    """Verify the chains of the given items (None: all)."""
    with engine(settings).connect() as conn:
        q = sa.select(items.c.id, items.c.holder, items.c.location)
        if property_ids is not None:
            q = q.where(items.c.id.in_(property_ids))
        rows = {r.id: dict(r._mapping) for r in conn.execute(q)}
        return custody.verify(settings, conn, rows)


# ---------------------------------------------------------------- photos


def add_photo(settings, property_id: int, data: bytes, by: str, unit: str | None = None, purpose: str | None = None) -> dict:
    """Keep a photo of the item (JPEG/PNG/WebP, checked by decoding it) under its SHA-256, and
    fix it in the chain (拍照固定): a photo swapped on disk no longer matches its entry."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > PHOTO_MAX:
        raise ZhijingError(f"a photo is limited to {PHOTO_MAX // 1000} kB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ZhijingError("the photo is not a readable JPEG, PNG or WebP image") from None
    if fmt not in PHOTO_FORMATS:
        raise ZhijingError("the photo is not a readable JPEG, PNG or WebP image")
    digest = hashlib.sha256(data).hexdigest()
    folder = settings.state_dir / "property_photos"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.{PHOTO_FORMATS[fmt]}"
    if not path.exists():
        path.write_bytes(data)
    return append(settings, property_id, "photo", by=by, photo=digest, note=f"{fmt.lower()} {len(data)} bytes", unit=unit, purpose=purpose)


def photo(settings, property_id: int, digest: str) -> tuple[bytes, str]:
    """A photo of the item, checked against its digest (a file changed on disk is refused)."""
    if digest not in item(settings, property_id)["photos"]:
        raise NotFound("no such photo of this item")
    for ext, mime in (("jpg", "image/jpeg"), ("png", "image/png"), ("webp", "image/webp")):
        path = settings.state_dir / "property_photos" / f"{digest}.{ext}"
        if path.exists():
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != digest:
                raise Conflict("the photo on disk no longer matches its digest in the custody chain")
            return data, mime
    raise NotFound("the photo's file is missing")


# ---------------------------------------------------------------- return and disposal


def request(settings, property_id: int, kind: str, method: str, reason: str, by: str, recipient: str | None = None) -> dict:
    """Ask for the item's return or disposal; it waits for a second officer's approval."""
    if kind not in REQUESTS:
        raise ZhijingError("kind must be return or dispose")
    if method not in METHODS[kind]:
        raise ZhijingError(f"method must be one of {', '.join(METHODS[kind])}")
    if not reason.strip():
        raise ZhijingError("a request states its reason")
    if kind == "return" and not (recipient or "").strip():
        raise ZhijingError("a return names its recipient")
    with engine(settings).begin() as conn:
        it = conn.execute(sa.select(items.c.state).where(items.c.id == property_id)).first()
        if it is None:
            raise NotFound("no such item")
        if it.state in FINAL:
            raise Conflict("the item was already returned or disposed")
        if conn.execute(sa.select(requests.c.id).where(requests.c.property_id == property_id,
                                                       requests.c.state.in_(("pending", "approved")))).first():  # fmt: skip
            raise Conflict("a request for this item is already open")
        rid = conn.execute(sa.insert(requests).values(property_id=property_id, kind=kind, method=method, recipient=recipient,
                                                      reason=reason.strip()[:500], requested_by=by, requested_at=_now(),
                                                      state="pending")).inserted_primary_key[0]  # fmt: skip
    return request_row(settings, rid)


def request_row(settings, request_id: int) -> dict:
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(requests).where(requests.c.id == request_id)).mappings().first()
    if r is None:
        raise NotFound("no such request")
    return {**_aware(dict(r)), "kind_zh": REQUESTS[r["kind"]]}


def requests_of(settings, property_ids: list[int] | None = None, state: str | None = None) -> list[dict]:
    q = sa.select(requests).order_by(requests.c.id.desc()).limit(500)
    if property_ids is not None:
        q = q.where(requests.c.property_id.in_(property_ids))
    if state:
        q = q.where(requests.c.state == state)
    with engine(settings).connect() as conn:
        return [{**_aware(dict(r)), "kind_zh": REQUESTS[r["kind"]]} for r in conn.execute(q).mappings()]


def decide(settings, request_id: int, approve: bool, by: str, note: str | None = None,
           handler_of: Callable[[str], str | None] | None = None) -> dict:  # fmt: skip
    """Approve or reject a request. Separation of duties: the approver is not the requester,
    not the officer who seized the item and not the case's handler (``handler_of(case_id)``)."""
    r = request_row(settings, request_id)
    it = item(settings, r["property_id"])
    conflicted = {r["requested_by"]: "the requester", it["seized_by"]: "the officer who seized the item"}
    handler = handler_of(it["case_id"]) if handler_of else None
    if handler:
        conflicted.setdefault(handler, "the case's handler")
    if by in conflicted:
        raise AccessDenied(f"separation of duties: {conflicted[by]} cannot approve (审批人不能是{_ZH[conflicted[by]]})")
    with engine(settings).begin() as conn:
        done = conn.execute(sa.update(requests).where(requests.c.id == request_id, requests.c.state == "pending")
                            .values(state="approved" if approve else "rejected", decided_by=by, decided_at=_now(),
                                    decision_note=(note or "")[:500] or None)).rowcount  # fmt: skip
    if not done:
        raise Conflict(f"the request is already {r['state']}")
    return request_row(settings, request_id)


_ZH = {"the requester": "申请人", "the officer who seized the item": "扣押人", "the case's handler": "本案主办人"}


def execute(settings, request_id: int, by: str, holder: str | None = None, unit: str | None = None, purpose: str | None = None) -> dict:
    """Carry out an approved request: the chain's final entry (returned / disposed)."""
    r = request_row(settings, request_id)
    if r["state"] != "approved":
        raise Conflict("only an approved request is carried out" if r["state"] == "pending" else f"the request is {r['state']}")
    action = "returned" if r["kind"] == "return" else "disposed"
    note = f"{r['method']}" + (f" → {r['recipient']}" if r.get("recipient") else "")
    row = append(settings, r["property_id"], action, holder=holder or r.get("recipient") or by, by=by, note=note, request=request_id,
                 unit=unit, purpose=purpose)  # fmt: skip
    with engine(settings).begin() as conn:
        conn.execute(sa.update(requests).where(requests.c.id == request_id).values(state="done", done_at=_now()))
    return row


# ---------------------------------------------------------------- supervision


def flags(settings, now: datetime | None = None, case_ids: list[str] | None = None) -> list[dict]:
    """What supervision (执法监督) flags about property, with its evidence: an item without any
    custody entry, and an item still held past its disposal date. Plain SQL over the tables,
    so a year of a county's items is answered at once."""
    today = (now or _now()).date()
    n = sa.select(custody.entries.c.property_id, sa.func.count().label("entries")).group_by(custody.entries.c.property_id).subquery()
    q = (sa.select(items.c.id, items.c.external_id, items.c.case_id, items.c.description, items.c.seized_at, items.c.seized_by, items.c.state,
                   items.c.location, items.c.holder, items.c.disposal_due, n.c.entries)
         .join(n, n.c.property_id == items.c.id, isouter=True)
         .where(sa.or_(n.c.entries.is_(None), sa.and_(items.c.disposal_due < today, items.c.state.in_(("in_custody", "out"))))))  # fmt: skip
    if case_ids is not None:
        q = q.where(items.c.case_id.in_(case_ids))
    out = []
    with engine(settings).connect() as conn:
        for r in conn.execute(q.order_by(items.c.id)).mappings():
            seized = _aware(dict(r))["seized_at"]
            base = {"property_id": r["id"], "number": number(r["id"], seized), "case_id": r["case_id"], "item_id": r["external_id"]}
            if r["entries"] is None:
                out.append({**base, "rule": "property_without_custody", "title": "涉案财物无保管记录", "since": seized,
                            "evidence": {"description": r["description"], "seized_at": seized, "seized_by": r["seized_by"], "custody_entries": 0}})  # fmt: skip
            elif r["disposal_due"] is not None and r["disposal_due"] < today and r["state"] in ("in_custody", "out"):
                out.append({**base, "rule": "property_past_disposal", "title": "涉案财物超期未处置", "since": r["disposal_due"],
                            "evidence": {"description": r["description"], "disposal_due": r["disposal_due"].isoformat(),
                                         "days_over": (today - r["disposal_due"]).days, "state": r["state"], "location": r["location"],
                                         "holder": r["holder"]}})  # fmt: skip
    return out


# ---------------------------------------------------------------- import


IMPORTED_ACTIONS = {"入库": "intake", "移交": "handover", "出库": "check_out", "归还": "check_in", "移库": "move", "发还": "returned", "处置": "disposed"}


def load_generated(settings, seizures, custody_rows, actor: str = "import", anchor: bool = True) -> dict:
    """Import another system's seized items and their custody records (补录; the generated year's
    ``seizures`` and ``custody`` tables, rows as dicts or DataFrames): one item per seizure, its
    records chained in time order and anchored in one audit append; an item without any record
    is imported as it is — supervision flags it. Returns counts."""
    seizures = seizures.to_dict("records") if hasattr(seizures, "to_dict") else list(seizures)
    custody_rows = custody_rows.to_dict("records") if hasattr(custody_rows, "to_dict") else list(custody_rows)
    by_item: dict[str, list[dict]] = {}
    for r in custody_rows:
        by_item.setdefault(str(r["item_id"]), []).append(r)
    def when(v) -> datetime:
        t = v.to_pydatetime() if hasattr(v, "to_pydatetime") else v
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t  # the import's times are UTC instants

    eng = engine(settings)
    entries: list[dict] = []
    with eng.begin() as conn:
        places = {loc for rows in by_item.values() for loc in (r["location"] for r in rows)}
        have = set(conn.execute(sa.select(locations.c.code).where(locations.c.code.in_(places))).scalars()) if places else set()
        if places - have:
            conn.execute(sa.insert(locations), [{"code": p, "name": p, "kind": "room", "unit_code": p[:6]} for p in sorted(places - have)])
        rows = []
        for sz in seizures:
            recs = sorted(by_item.get(str(sz["item_id"]), []), key=lambda r: when(r["at"]))
            last = recs[-1] if recs else None
            state = ACTIONS.get(IMPORTED_ACTIONS.get(last["action"], "move"), ("in_custody",))[0] if last else "in_custody"
            rows.append({"case_id": sz["case_id"], "case_ref": f"case:{sz['case_id']}", "description": str(sz.get("description") or "")[:256] or "涉案物品",
                         "category": "other", "quantity": "1件", "seized_at": when(sz["at"]), "seized_by": sz.get("by") or actor,
                         "unit_code": str(sz["case_id"])[2:8], "state": state or "in_custody", "holder": last["holder"] if last else None,
                         "location": last["location"] if last else None, "photos": "", "external_id": str(sz["item_id"])})  # fmt: skip
        if rows:
            conn.execute(sa.insert(items), rows)
        ids = dict(conn.execute(sa.select(items.c.external_id, items.c.id).where(items.c.external_id.in_([r["external_id"] for r in rows]))).all()) if rows else {}
        for ext, recs in by_item.items():
            pid, prev = ids.get(ext), custody.GENESIS
            if pid is None:
                continue
            for n, r in enumerate(sorted(recs, key=lambda r: when(r["at"])), 1):
                e = custody.entry(pid, n, IMPORTED_ACTIONS.get(r["action"], "move"), r["holder"], r["location"], when(r["at"]), actor, prev,
                                  note=f"补录 {r['action']}")  # fmt: skip
                entries.append(e)
                prev = e["hash"]
        for i in range(0, len(entries), 5_000):
            conn.execute(sa.insert(custody.entries), entries[i : i + 5_000])
    if anchor and entries:
        custody.anchor(settings, entries, actor, None, None)
    return {"items": len(rows), "entries": len(entries), "without_custody": len(rows) - len({e["property_id"] for e in entries})}


def load_seizures(settings, seizures, without_custody: set[str], actor: str = "import") -> dict:
    """Import seizures whose custody records the source does not send: each gets its intake
    (入库 by the seizing officer at its unit's property room), except the items named in
    ``without_custody``, which stay without any record (what supervision must flag)."""
    rows = seizures.to_dict("records") if hasattr(seizures, "to_dict") else list(seizures)
    booked = [{"item_id": s["item_id"], "case_id": s["case_id"], "at": s["at"], "action": "入库", "holder": s.get("by") or actor,
               "location": f"{str(s['case_id'])[2:8]}-ROOM"} for s in rows if str(s["item_id"]) not in without_custody]  # fmt: skip
    return load_generated(settings, rows, booked, actor)
