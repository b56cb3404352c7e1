"""The dispatch store (一体化指挥): incidents, units, assignments and the events log.

Tables live on the metadata database beside the purposes (SQLite by default, PostgreSQL in
production). Every change writes a ``cad_events`` row in the same transaction, so the live
bus (``live.py``) is just a reader of that table and works across web worker processes.

Races are settled by the database, not by a lock in one process: a unit is taken by a
conditional UPDATE (``status = 'available'``), a step by one from the step before, a close
by one from any open state; of two dispatchers at the same moment one UPDATE changes the row
and the other finds nothing to change and is told who was first (``Conflict``)."""

from __future__ import annotations

import functools
import importlib
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from zhijing.access import models as acc
from zhijing.config import Settings
from zhijing.errors import AccessDenied, Conflict, NotFound, ZhijingError
from zhijing.force import store as roster

meta = sa.MetaData()
incidents_t = sa.Table(
    "cad_incidents", meta,
    sa.Column("id", sa.String(24), primary_key=True), sa.Column("source", sa.String(12), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, index=True), sa.Column("caller_phone", sa.String(32)),
    sa.Column("narrative", sa.Text), sa.Column("address", sa.String(256)), sa.Column("lon", sa.Float), sa.Column("lat", sa.Float),
    sa.Column("cell", sa.String(16)), sa.Column("station", sa.String(8), index=True), sa.Column("located", sa.String(8)),
    sa.Column("flag", sa.String(128)), sa.Column("category", sa.String(32)), sa.Column("priority", sa.Integer),
    sa.Column("confidence", sa.Float), sa.Column("plan", sa.String(64)), sa.Column("parent", sa.String(24), index=True),
    sa.Column("state", sa.String(12), nullable=False, index=True), sa.Column("tier", sa.String(8), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=1), sa.Column("created_by", sa.String(64)),
    sa.Column("closed_at", sa.DateTime(timezone=True)), sa.Column("updated_at", sa.DateTime(timezone=True)),
)  # fmt: skip
units_t = sa.Table(
    "cad_units", meta,
    sa.Column("id", sa.String(48), primary_key=True), sa.Column("callsign", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False), sa.Column("station", sa.String(8), nullable=False, index=True),
    sa.Column("home_unit", sa.String(16)), sa.Column("username", sa.String(64), index=True),
    sa.Column("status", sa.String(12), nullable=False), sa.Column("lon", sa.Float), sa.Column("lat", sa.Float),
    sa.Column("node", sa.String(32)), sa.Column("last_seen", sa.DateTime(timezone=True)),
    sa.Column("version", sa.Integer, nullable=False, default=1),
)  # fmt: skip
assignments_t = sa.Table(
    "cad_assignments", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), sa.Column("incident", sa.String(24), nullable=False, index=True),
    sa.Column("unit", sa.String(48), nullable=False, index=True), sa.Column("by", sa.String(64)),
    sa.Column("state", sa.String(12), nullable=False), sa.Column("dispatched_at", sa.DateTime(timezone=True)),
    sa.Column("en_route_at", sa.DateTime(timezone=True)), sa.Column("on_scene_at", sa.DateTime(timezone=True)),
    sa.Column("cleared_at", sa.DateTime(timezone=True)), sa.Column("feedback_at", sa.DateTime(timezone=True)),
    sa.Column("cancelled_at", sa.DateTime(timezone=True)), sa.Column("feedback", sa.Text), sa.Column("photo", sa.String(256)),
)  # fmt: skip
events_t = sa.Table(
    "cad_events", meta,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True), sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False), sa.Column("incident", sa.String(24)), sa.Column("unit", sa.String(48)),
    sa.Column("station", sa.String(8)), sa.Column("body", sa.Text),
)  # fmt: skip
counters_t = sa.Table(  # one row per day: the incident number is taken by an UPDATE, never by reading a maximum
    "cad_counters", meta, sa.Column("day", sa.String(8), primary_key=True), sa.Column("n", sa.Integer, nullable=False),
)  # fmt: skip

TIMES = frozenset(c.name for t in meta.tables.values() for c in t.columns if isinstance(c.type, sa.DateTime))
SOURCES = ("api", "replay", "console", "watch")
LOCK_RETRIES = 5  # attempts of a change SQLite found locked
P, R = ParamSpec("P"), TypeVar("R")
TIERS = ("station", "branch", "city")  # who commands an incident; escalation moves it up
# an assignment's steps: the phone's word → (state before, state after, its time column)
STEPS = {"accept": ("dispatched", "en_route", "en_route_at"), "arrive": ("en_route", "on_scene", "on_scene_at"),
         "clear": ("on_scene", "cleared", "cleared_at")}  # fmt: skip
PROGRESS = ("dispatched", "en_route", "on_scene", "cleared")
ACTIVE = ("dispatched", "en_route", "on_scene")
UNIT_STATUS = {"dispatched": "assigned", "en_route": "en_route", "on_scene": "on_scene", "cleared": "available"}
KINDS = {"patrol_car": ("巡", "巡逻车", 2), "foot": ("步", "步巡", 1), "duty_team": ("值", "值班组", 1)}  # per station
PATROL_DEPARTMENT = "巡特警"  # a station's users of this department are its patrol cars' phones
STEP_ZH = {"dispatched": "已派警", "en_route": "出警途中", "on_scene": "已到场", "cleared": "处置完毕"}


def engine(settings: Settings) -> sa.Engine:
    return acc.engine_with(settings, meta)


def retry_locked(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a change again when SQLite says the database is locked (its busy wait ran out while
    other writers held it, as under a burst of calls): each change is one transaction, rolled
    back whole, so running it again is safe."""

    @functools.wraps(fn)
    def again(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(LOCK_RETRIES):
            try:
                return fn(*args, **kwargs)
            except sa.exc.OperationalError as exc:
                if "locked" not in str(exc.orig) or attempt == LOCK_RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    return again


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def _row(r) -> dict:
    """A row as a dict, its times aware (SQLite hands them back without their zone)."""
    d = dict(r._mapping)
    for k in TIMES.intersection(d):
        if d[k] is not None and d[k].tzinfo is None:
            d[k] = d[k].replace(tzinfo=UTC)
    return d


def _rows(result) -> list[dict]:
    """Every row of a result as ``_row`` gives it, the column names read once (lists of a
    thousand units are read on every recommendation)."""
    keys = list(result.keys())
    times = [i for i, k in enumerate(keys) if k in TIMES]
    out = []
    for row in result:
        values = list(row)
        for i in times:
            if values[i] is not None and values[i].tzinfo is None:
                values[i] = values[i].replace(tzinfo=UTC)
        out.append(dict(zip(keys, values, strict=True)))
    return out


def emit(conn, kind: str, incident: str | None = None, unit: str | None = None, station: str | None = None,
         body: dict | None = None) -> None:  # fmt: skip
    """Write one event of the live bus, inside the caller's transaction (so it exists iff the change does)."""
    text = json.dumps(body or {}, ensure_ascii=False, default=str, allow_nan=False)
    conn.execute(sa.insert(events_t).values(at=_now(), kind=kind, incident=incident, unit=unit, station=station, body=text))


def _scoped(column, station: str | None):
    return column.startswith(station, autoescape=True) if station else sa.true()


# ---------------------------------------------------------------- incidents


def _next_id(conn, received: datetime, zone: str) -> str:
    """``JQ`` + the local date of the call + a six-digit number of that day."""
    day = received.astimezone(ZoneInfo(zone)).strftime("%Y%m%d")
    bump = sa.update(counters_t).where(counters_t.c.day == day).values(n=counters_t.c.n + 1)
    if not conn.execute(bump).rowcount:  # the day's first call: make its row (a writer racing here makes it once)
        conn.execute(_insert_ignore(conn, counters_t).values(day=day, n=0))
        conn.execute(bump)
    n = conn.execute(sa.select(counters_t.c.n).where(counters_t.c.day == day)).scalar()
    if n is None or n > 999_999:
        raise ZhijingError(f"no incident number left for {day}")
    return f"JQ{day}{n:06d}"


def _insert_ignore(conn, table: sa.Table):
    """INSERT that leaves an existing row alone (SQLite and PostgreSQL say it alike)."""
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        dialect = importlib.import_module(f"sqlalchemy.dialects.{name}")
        return dialect.insert(table).on_conflict_do_nothing()
    return sa.insert(table)


def _received(value) -> datetime:
    from zhijing.localtime import instant

    if value in (None, ""):
        return _now()
    try:
        t = instant(value, naive="local")
    except (ValueError, TypeError):
        raise ZhijingError("received_at must be an ISO time") from None
    return t.astimezone(UTC)


def _haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def _placeholder_duplicate_of(settings: Settings):
    """Stand-in until intake's ``dedup.duplicate_of`` lands: the same category within
    ``dedup_metres`` (the recent list is already cut to ``dedup_minutes``)."""

    def duplicate_of(triaged: dict, recent: list[dict]) -> str | None:
        if triaged.get("lon") is None or triaged.get("lat") is None or not triaged.get("category"):
            return None  # an unplaced or unclassified call is never merged by guess
        near = [(_haversine_m(triaged["lon"], triaged["lat"], r["lon"], r["lat"]), r["id"]) for r in recent
                if r.get("lon") is not None and r.get("category") == triaged.get("category")]  # fmt: skip
        near = [x for x in near if x[0] <= settings.dispatch.dedup_metres]
        return min(near)[1] if near else None

    return duplicate_of


def _duplicate_finder(settings: Settings):
    """Intake's ``dedup.duplicate_of`` within the settings' distance and time (a stand-in without it)."""
    try:
        found = importlib.import_module("zhijing.command.dedup").duplicate_of
    except ModuleNotFoundError as exc:
        if exc.name != "zhijing.command.dedup":
            raise
        return _placeholder_duplicate_of(settings)
    cfg = settings.dispatch
    return lambda triaged, recent: found(triaged, recent, cfg.dedup_metres, cfg.dedup_minutes)


def _recent(conn, settings: Settings, received: datetime) -> list[dict]:
    """Open primaries received within ``dedup_minutes`` of ``received`` (either side: a replay may come out of order)."""
    span = timedelta(minutes=settings.dispatch.dedup_minutes)
    rows = conn.execute(sa.select(incidents_t).where(
        incidents_t.c.parent.is_(None), incidents_t.c.state != "closed",
        incidents_t.c.received_at >= received - span, incidents_t.c.received_at <= received + span)).all()  # fmt: skip
    return [_row(r) for r in rows]


def _text(value, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]


def _number(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


@retry_locked
def create_incident(settings: Settings, triaged: dict, source: str, actor: str) -> dict:
    """Record a (triaged) call as an incident, or as a duplicate of an open one about the same
    event (``parent`` set, ``incident.merged`` emitted). Bad input is kept and flagged: a
    call that could not be located keeps ``station`` empty and is commanded by the city."""
    if source not in SOURCES:
        raise ZhijingError(f"source must be one of {', '.join(SOURCES)}")
    received = _received(triaged.get("received_at"))
    priority = triaged.get("priority")
    row = {"source": source, "received_at": received, "caller_phone": _text(triaged.get("phone") or triaged.get("caller_phone"), 32),
           "narrative": _text(triaged.get("narrative"), 4000), "address": _text(triaged.get("address"), 256),
           "lon": _number(triaged.get("lon")), "lat": _number(triaged.get("lat")), "cell": _text(triaged.get("cell"), 16),
           "station": _text(triaged.get("station"), 8) or None, "located": _text(triaged.get("located"), 8) or "none",
           "flag": _text(triaged.get("flag"), 128), "category": _text(triaged.get("category"), 32),
           "priority": int(priority) if isinstance(priority, int | float) and 1 <= priority <= 3 else 2,
           "confidence": _number(triaged.get("confidence")), "plan": _text(triaged.get("plan"), 64), "state": "received",
           "version": 1, "created_by": actor, "updated_at": _now()}  # fmt: skip
    row["tier"] = "station" if row["station"] else "city"
    duplicate_of = _duplicate_finder(settings)
    for attempt in range(3):
        try:
            with engine(settings).begin() as conn:
                row["id"] = _next_id(conn, received, settings.timezone)
                row["parent"] = duplicate_of({**triaged, **row}, _recent(conn, settings, received))
                conn.execute(sa.insert(incidents_t).values(**row))
                kind = "incident.merged" if row["parent"] else "incident.new"
                emit(conn, kind, row["id"], station=row["station"], body=_incident_body(row))
            return _incident_view(row)
        except sa.exc.IntegrityError:  # the number was taken by a writer of another process: take the next
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _incident_body(row: dict) -> dict:
    """What the live bus says of an incident: enough to draw it, nothing personal."""
    return {k: row.get(k) for k in ("id", "category", "priority", "state", "tier", "lon", "lat", "station", "parent",
                                      "located", "flag", "address")} | {"received_at": row["received_at"].isoformat()}  # fmt: skip


def _incident_view(row: dict) -> dict:
    return {c.name: row.get(c.name) for c in incidents_t.columns}


def incident(settings: Settings, incident_id: str) -> dict:
    """One incident with its assignments (each with the unit's callsign) and merged duplicates."""
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(incidents_t).where(incidents_t.c.id == incident_id)).first()
        if r is None:
            raise NotFound("no such incident")
        out = _row(r)
        asg = conn.execute(sa.select(assignments_t, units_t.c.callsign, units_t.c.kind)
                           .join(units_t, units_t.c.id == assignments_t.c.unit, isouter=True)
                           .where(assignments_t.c.incident == incident_id).order_by(assignments_t.c.id)).all()  # fmt: skip
        dups = conn.execute(sa.select(incidents_t.c.id, incidents_t.c.received_at, incidents_t.c.narrative, incidents_t.c.caller_phone)
                            .where(incidents_t.c.parent == incident_id).order_by(incidents_t.c.received_at)).all()  # fmt: skip
    return {**out, "assignments": [_row(a) for a in asg], "duplicates": [_row(d) for d in dups]}


def incidents(settings: Settings, station: str | None = None, open_only: bool = True, limit: int = 200, offset: int = 0) -> dict:
    """A page of incidents, newest first, with the total: those whose station code starts with
    ``station`` (a jurisdiction prefix; None: all, unlocated ones too). Open primaries only
    unless ``open_only`` is false."""
    where = [_scoped(incidents_t.c.station, station)]
    if open_only:
        where += [incidents_t.c.state != "closed", incidents_t.c.parent.is_(None)]
    with engine(settings).connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(incidents_t).where(*where)).scalar() or 0
        rows = _rows(conn.execute(sa.select(incidents_t).where(*where).order_by(incidents_t.c.received_at.desc(), incidents_t.c.id.desc())
                                  .limit(limit).offset(offset)))  # fmt: skip
    return {"total": int(total), "limit": limit, "offset": offset, "items": rows}


def _incident_state(conn, incident_id: str) -> str:
    """An incident's state from its assignments: the furthest step of an active one, else
    cleared when one was cleared, else received."""
    states = set(conn.execute(sa.select(assignments_t.c.state).where(assignments_t.c.incident == incident_id)).scalars())
    active = [s for s in ACTIVE if s in states]
    return active[-1] if active else "cleared" if "cleared" in states else "received"


def _sync_incident(conn, incident_id: str) -> dict:
    """Bring an open incident's state in line with its assignments; emits when it changed."""
    r = _row(conn.execute(sa.select(incidents_t).where(incidents_t.c.id == incident_id)).first())
    state = _incident_state(conn, incident_id)
    if r["state"] != "closed" and state != r["state"]:
        conn.execute(sa.update(incidents_t).where(incidents_t.c.id == incident_id)
                     .values(state=state, version=incidents_t.c.version + 1, updated_at=_now()))  # fmt: skip
        r["state"] = state
        emit(conn, "incident.updated", incident_id, station=r["station"], body=_incident_body(r))
    return r


def _open_incident(conn, incident_id: str) -> dict:
    r = conn.execute(sa.select(incidents_t).where(incidents_t.c.id == incident_id)).first()
    if r is None:
        raise NotFound("no such incident")
    r = _row(r)
    if r["state"] == "closed":
        raise Conflict(f"警情{incident_id}已结案")
    return r


@retry_locked
def escalate(settings: Settings, incident_id: str, actor: str) -> dict:
    """Move the command of an incident one tier up (station → branch → city)."""
    with engine(settings).begin() as conn:
        r = _open_incident(conn, incident_id)
        if r["tier"] == TIERS[-1]:
            raise Conflict(f"警情{incident_id}已由市局指挥，无法再上报")
        up = TIERS[TIERS.index(r["tier"]) + 1]
        changed = conn.execute(sa.update(incidents_t).where(incidents_t.c.id == incident_id, incidents_t.c.tier == r["tier"],
                                                            incidents_t.c.state != "closed")
                               .values(tier=up, version=incidents_t.c.version + 1, updated_at=_now())).rowcount  # fmt: skip
        if not changed:
            raise Conflict(f"警情{incident_id}刚被他人上报或结案")
        r["tier"] = up
        emit(conn, "incident.updated", incident_id, station=r["station"], body=_incident_body(r) | {"escalated_by": actor})
    return r


@retry_locked
def close(settings: Settings, incident_id: str, actor: str) -> dict:
    """Close an incident (and the duplicates merged into it); active assignments are
    withdrawn and their units are free again. Closing a closed incident is a ``Conflict``."""
    now = _now()
    with engine(settings).begin() as conn:
        done = conn.execute(sa.update(incidents_t).where(incidents_t.c.id == incident_id, incidents_t.c.state != "closed")
                            .values(state="closed", closed_at=now, version=incidents_t.c.version + 1, updated_at=now)).rowcount  # fmt: skip
        if not done:
            if conn.execute(sa.select(incidents_t.c.id).where(incidents_t.c.id == incident_id)).first() is None:
                raise NotFound("no such incident")
            raise Conflict(f"警情{incident_id}已结案")
        for a in conn.execute(sa.select(assignments_t).where(assignments_t.c.incident == incident_id,
                                                              assignments_t.c.state.in_(ACTIVE))).all():  # fmt: skip
            _withdraw(conn, _row(a), "cancelled", now)
        conn.execute(sa.update(incidents_t).where(incidents_t.c.parent == incident_id, incidents_t.c.state != "closed")
                     .values(state="closed", closed_at=now, updated_at=now))  # fmt: skip
        r = _row(conn.execute(sa.select(incidents_t).where(incidents_t.c.id == incident_id)).first())
        emit(conn, "incident.updated", incident_id, station=r["station"], body=_incident_body(r) | {"closed_by": actor})
    return r


# ---------------------------------------------------------------- assignments


def _unit_station(conn, unit_id: str) -> str | None:
    return conn.execute(sa.select(units_t.c.station).where(units_t.c.id == unit_id)).scalar()


def _free_unit(conn, unit_id: str) -> None:
    conn.execute(sa.update(units_t).where(units_t.c.id == unit_id, units_t.c.status != "off")
                 .values(status="available", version=units_t.c.version + 1))  # fmt: skip
    emit(conn, "unit.status", unit=unit_id, station=_unit_station(conn, unit_id), body={"status": "available"})


def _withdraw(conn, a: dict, state: str, now: datetime) -> None:
    """End an active assignment (cancelled / reassigned): its unit is available again."""
    conn.execute(sa.update(assignments_t).where(assignments_t.c.id == a["id"]).values(state=state, cancelled_at=now))
    emit(conn, "assignment.state", a["incident"], a["unit"], _unit_station(conn, a["unit"]),
         {"assignment": a["id"], "state": state})  # fmt: skip
    _free_unit(conn, a["unit"])


def _taken(conn, unit_id: str) -> Conflict | NotFound:
    """Why a unit could not be taken: it does not exist, is off duty, or who has it."""
    u = conn.execute(sa.select(units_t.c.callsign, units_t.c.status).where(units_t.c.id == unit_id)).first()
    if u is None:
        return NotFound("no such unit")
    a = conn.execute(sa.select(assignments_t.c.incident, assignments_t.c.by).where(
        assignments_t.c.unit == unit_id, assignments_t.c.state.in_(ACTIVE)).order_by(assignments_t.c.id.desc())).first()  # fmt: skip
    if a is not None:
        return Conflict(f"{u.callsign}已被{a.by}派往警情{a.incident}")
    return Conflict(f"{u.callsign}不可派（{'离线' if u.status == 'off' else u.status}）")


@retry_locked
def assign(settings: Settings, incident_id: str, unit_id: str, actor: str, replaces: int | None = None) -> dict:
    """Send a unit to an incident. The unit is taken by a conditional UPDATE (available →
    assigned) before anything else, so of two dispatchers sending it at the same moment
    exactly one succeeds; the other gets a ``Conflict`` naming who was first. ``replaces``:
    the assignment this one replaces (reassignment: that unit is free again)."""
    now = _now()
    with engine(settings).begin() as conn:
        took = conn.execute(sa.update(units_t).where(units_t.c.id == unit_id, units_t.c.status == "available")
                            .values(status="assigned", version=units_t.c.version + 1)).rowcount  # fmt: skip
        if not took:
            raise _taken(conn, unit_id)
        inc = _open_incident(conn, incident_id)
        if inc["parent"]:
            raise Conflict(f"警情{incident_id}已并入{inc['parent']}：请向主警情派警")
        if replaces is not None:
            old = conn.execute(sa.select(assignments_t).where(assignments_t.c.id == replaces, assignments_t.c.incident == incident_id,
                                                              assignments_t.c.state.in_(ACTIVE))).first()  # fmt: skip
            if old is None:
                raise Conflict(f"派警{replaces}不是该警情正在执行的派警")
            _withdraw(conn, _row(old), "reassigned", now)
        aid = conn.execute(sa.insert(assignments_t).values(incident=incident_id, unit=unit_id, by=actor, state="dispatched",
                                                           dispatched_at=now)).inserted_primary_key[0]  # fmt: skip
        station = _unit_station(conn, unit_id)
        emit(conn, "assignment.new", incident_id, unit_id, inc["station"], {"assignment": aid, "by": actor, "unit_station": station})
        emit(conn, "unit.status", incident_id, unit_id, station, {"status": "assigned"})
        _sync_incident(conn, incident_id)
        a = _row(conn.execute(sa.select(assignments_t).where(assignments_t.c.id == aid)).first())
    return a


def assignment(settings: Settings, assignment_id: int) -> dict:
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(assignments_t).where(assignments_t.c.id == assignment_id)).first()
    if r is None:
        raise NotFound("no such assignment")
    return _row(r)


def _refuse_step(conn, assignment_id: int, step: str, as_unit: str | None) -> dict:
    """Why a step changed nothing. A repeat of a step already done (a phone retrying after a
    lost answer) is no error: the assignment is returned as it is, marked ``repeat``."""
    r = conn.execute(sa.select(assignments_t).where(assignments_t.c.id == assignment_id)).first()
    if r is None:
        raise NotFound("no such assignment")
    a = _row(r)
    if as_unit is not None and a["unit"] != as_unit:
        raise AccessDenied("该派警不属于本单元")
    if a["state"] not in PROGRESS:
        raise Conflict(f"派警{assignment_id}已撤回（{a['state']}）")
    if step == "feedback":  # a feedback is refused only before arrival
        raise Conflict(f"派警{assignment_id}到场后才能反馈（当前：{STEP_ZH[a['state']]}）")
    before, after, _ = STEPS[step]
    if PROGRESS.index(a["state"]) >= PROGRESS.index(after):
        return {**a, "repeat": True}
    raise Conflict(f"派警{assignment_id}尚未{STEP_ZH[before]}（当前：{STEP_ZH[a['state']]}）")


@retry_locked
def advance(settings: Settings, assignment_id: int, step: str, actor: str, note: str | None = None,
            photo: str | None = None, as_unit: str | None = None) -> dict:  # fmt: skip
    """One step of an assignment: accept (en route), arrive (on scene), clear (done, the unit
    free again) or feedback (a note and a photo, on scene or after). ``as_unit``: the unit
    whose phone asks — another unit's assignment is refused (the simulator passes None)."""
    if step not in (*STEPS, "feedback"):
        raise ZhijingError("step must be accept, arrive, clear or feedback")
    now = _now()
    mine = [assignments_t.c.unit == as_unit] if as_unit is not None else []
    with engine(settings).begin() as conn:
        if step == "feedback":
            done = conn.execute(sa.update(assignments_t).where(assignments_t.c.id == assignment_id, *mine,
                                                               assignments_t.c.state.in_(("on_scene", "cleared")))
                                .values(feedback=_text(note, 2000), photo=_text(photo, 256), feedback_at=now)).rowcount  # fmt: skip
        else:
            before, after, column = STEPS[step]
            done = conn.execute(sa.update(assignments_t).where(assignments_t.c.id == assignment_id, *mine,
                                                               assignments_t.c.state == before)
                                .values(state=after, **{column: now})).rowcount  # fmt: skip
        if not done:
            return _refuse_step(conn, assignment_id, step, as_unit)
        a = _row(conn.execute(sa.select(assignments_t).where(assignments_t.c.id == assignment_id)).first())
        station = _unit_station(conn, a["unit"])
        inc = conn.execute(sa.select(incidents_t.c.station).where(incidents_t.c.id == a["incident"])).scalar()
        emit(conn, "assignment.state", a["incident"], a["unit"], inc,
             {"assignment": a["id"], "state": a["state"], "step": step, "by": actor, "unit_station": station})  # fmt: skip
        if step != "feedback":
            status = UNIT_STATUS[a["state"]]
            conn.execute(sa.update(units_t).where(units_t.c.id == a["unit"], units_t.c.status != "off")
                         .values(status=status, last_seen=now, version=units_t.c.version + 1))  # fmt: skip
            emit(conn, "unit.status", a["incident"], a["unit"], station, {"status": status})
            _sync_incident(conn, a["incident"])
    return a


@retry_locked
def cancel(settings: Settings, assignment_id: int, actor: str) -> dict:
    """Withdraw an active assignment (the dispatcher's call): the unit is available again."""
    with engine(settings).begin() as conn:
        done = conn.execute(sa.update(assignments_t).where(assignments_t.c.id == assignment_id, assignments_t.c.state.in_(ACTIVE))
                            .values(state="cancelled", cancelled_at=_now())).rowcount  # fmt: skip
        r = conn.execute(sa.select(assignments_t).where(assignments_t.c.id == assignment_id)).first()
        if r is None:
            raise NotFound("no such assignment")
        a = _row(r)
        if not done:
            raise Conflict(f"派警{assignment_id}已结束（{a['state']}），无法撤回")
        emit(conn, "assignment.state", a["incident"], a["unit"], _unit_station(conn, a["unit"]),
             {"assignment": a["id"], "state": "cancelled", "by": actor})  # fmt: skip
        _free_unit(conn, a["unit"])
        _sync_incident(conn, a["incident"])
    return a


# ---------------------------------------------------------------- units


def _unit_view(r, stale_before: datetime) -> dict:
    u = r if isinstance(r, dict) else _row(r)
    u["stale"] = u["last_seen"] is None or u["last_seen"] < stale_before
    return u


def units(settings: Settings, station: str | None = None) -> list[dict]:
    """Units (of stations whose code starts with ``station``; None: all), each marked
    ``stale`` when silent longer than ``dispatch.stale_minutes`` and ``on_duty`` by the
    roster (``force.store.mark_on_duty``: False at a station that keeps a roster and has
    nobody on the unit now) — neither is ever recommended."""
    stale_before = _now() - timedelta(minutes=settings.dispatch.stale_minutes)
    with engine(settings).connect() as conn:
        rows = _rows(conn.execute(sa.select(units_t).where(_scoped(units_t.c.station, station)).order_by(units_t.c.id)))
    return roster.mark_on_duty(settings, [_unit_view(r, stale_before) for r in rows])


def unit(settings: Settings, unit_id: str) -> dict:
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(units_t).where(units_t.c.id == unit_id)).first()
    if r is None:
        raise NotFound("no such unit")
    return _unit_view(r, _now() - timedelta(minutes=settings.dispatch.stale_minutes))


def unit_of_user(settings: Settings, username: str) -> dict | None:
    """The unit whose phone ``username`` is (None: not a unit's phone)."""
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(units_t).where(units_t.c.username == username).order_by(units_t.c.id)).first()
    return None if r is None else _unit_view(r, _now() - timedelta(minutes=settings.dispatch.stale_minutes))


def current_assignment(settings: Settings, unit_id: str) -> dict | None:
    """The unit's active assignment, else its latest cleared one still waiting for feedback."""
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(assignments_t).where(assignments_t.c.unit == unit_id, assignments_t.c.state.in_(ACTIVE))
                         .order_by(assignments_t.c.id.desc())).first()  # fmt: skip
        if r is None:
            r = conn.execute(sa.select(assignments_t).where(assignments_t.c.unit == unit_id, assignments_t.c.state == "cleared",
                                                            assignments_t.c.feedback_at.is_(None))
                             .order_by(assignments_t.c.id.desc())).first()  # fmt: skip
    return None if r is None else _row(r)


def open_assignments(settings: Settings) -> list[dict]:
    """Active assignments, each with its incident's id and place (what the simulator drives to)."""
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(assignments_t, incidents_t.c.lon.label("incident_lon"), incidents_t.c.lat.label("incident_lat"))
                            .join(incidents_t, incidents_t.c.id == assignments_t.c.incident)
                            .where(assignments_t.c.state.in_(ACTIVE)).order_by(assignments_t.c.id)).all()  # fmt: skip
    out = []
    for r in rows:
        a = _row(r)
        lon, lat = a.pop("incident_lon"), a.pop("incident_lat")
        out.append({**a, "incident": {"id": a["incident"], "lon": lon, "lat": lat}})
    return out


@retry_locked
def seen(settings: Settings, unit_id: str) -> dict:
    """The unit was heard from now (its phone asked): no longer stale; no move, no event."""
    with engine(settings).begin() as conn:
        conn.execute(sa.update(units_t).where(units_t.c.id == unit_id).values(last_seen=_now()))
    return unit(settings, unit_id)


def dispatched_between(settings: Settings, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    """(unit, dispatched at) of every assignment made in [start, end) (an officer's workload)."""
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(assignments_t.c.unit, assignments_t.c.dispatched_at)
                            .where(assignments_t.c.dispatched_at >= start, assignments_t.c.dispatched_at < end)).all()  # fmt: skip
    return [(u, _aware(t)) for u, t in rows]


def kpi_rows(settings: Settings, station: str | None = None) -> list[dict]:
    """One row per assignment (an incident with none: one row, its assignment fields empty)
    of the primaries of ``station`` (a code prefix): what the response metrics are made of."""
    q = (sa.select(incidents_t.c.id.label("incident"), incidents_t.c.priority, incidents_t.c.station, incidents_t.c.state,
                   incidents_t.c.received_at, assignments_t.c.id.label("assignment"), assignments_t.c.unit,
                   assignments_t.c.dispatched_at, assignments_t.c.en_route_at, assignments_t.c.on_scene_at)
         .join(assignments_t, assignments_t.c.incident == incidents_t.c.id, isouter=True)
         .where(incidents_t.c.parent.is_(None), _scoped(incidents_t.c.station, station)))  # fmt: skip
    with engine(settings).connect() as conn:
        return _rows(conn.execute(q))


@retry_locked
def move_unit(settings: Settings, unit_id: str, lon: float, lat: float, node: str | None = None) -> None:
    """A unit's new position (its phone, or the simulator); it is seen now (no longer stale)."""
    with engine(settings).begin() as conn:
        done = conn.execute(sa.update(units_t).where(units_t.c.id == unit_id)
                            .values(lon=lon, lat=lat, node=node, last_seen=_now())).rowcount  # fmt: skip
        if not done:
            raise NotFound("no such unit")
        emit(conn, "unit.moved", unit=unit_id, station=_unit_station(conn, unit_id), body={"lon": lon, "lat": lat, "node": node})


@retry_locked
def set_unit_status(settings: Settings, unit_id: str, status: str) -> None:
    """On or off duty (an available unit only goes off; an off one comes back available)."""
    if status not in ("available", "off"):
        raise ZhijingError("status must be available or off")
    with engine(settings).begin() as conn:
        done = conn.execute(sa.update(units_t).where(units_t.c.id == unit_id, units_t.c.status == ("off" if status == "available" else "available"))
                            .values(status=status, last_seen=_now(), version=units_t.c.version + 1)).rowcount  # fmt: skip
        if not done:
            raise _taken(conn, unit_id) if status == "off" else Conflict("该单元未离线")
        emit(conn, "unit.status", unit=unit_id, station=_unit_station(conn, unit_id), body={"status": status})


@retry_locked
def seed_units(settings: Settings) -> int:
    """Units from the geography roles: per station (role ``station``) two patrol cars, a foot
    patrol and the duty team, at the road node (role ``road_node``) nearest the station,
    their home the station's unit (role ``unit``). Idempotent: existing units keep their
    state; a station's 巡特警 users are tied to its patrol cars as their phones. Returns the
    number of units added."""
    from zhijing.command import geography

    stations = geography.stations_at_nodes(settings)
    homes = geography.unit_codes(settings)
    now = _now()
    with engine(settings).begin() as conn:
        have = set(conn.execute(sa.select(units_t.c.id)).scalars())
        fresh = []
        for s in stations:
            home = next((c for c in homes if c.startswith(s["code"])), f"{s['code']}0000")
            for kind, (short, label, count) in KINDS.items():
                for i in range(1, count + 1):
                    uid = f"{s['code']}-{short}{i}"
                    if uid not in have:
                        fresh.append({"id": uid, "callsign": f"{s['name']}{label}{i if count > 1 else ''}", "kind": kind,
                                      "station": s["code"], "home_unit": home, "status": "available", "lon": s["lon"],
                                      "lat": s["lat"], "node": s["node"], "last_seen": now, "version": 1})  # fmt: skip
        if fresh:
            conn.execute(sa.insert(units_t), fresh)
        _tie_phones(conn)
    return len(fresh)


def _tie_phones(conn) -> None:
    """Each station's patrol users (department 巡特警), in username order, are the phones of
    its patrol cars in id order."""
    patrol = conn.execute(sa.select(acc.users.c.username, acc.users.c.unit_code).where(
        acc.users.c.department == PATROL_DEPARTMENT, acc.users.c.active).order_by(acc.users.c.username)).all()  # fmt: skip
    by_station: dict[str, list[str]] = {}
    for username, unit_code in patrol:
        by_station.setdefault((unit_code or "")[:8], []).append(username)
    for station, users in by_station.items():
        cars = conn.execute(sa.select(units_t.c.id).where(units_t.c.station == station, units_t.c.kind == "patrol_car")
                            .order_by(units_t.c.id)).scalars().all()  # fmt: skip
        for car, username in zip(cars, users, strict=False):
            conn.execute(sa.update(units_t).where(units_t.c.username == username, units_t.c.id != car).values(username=None))
            conn.execute(sa.update(units_t).where(units_t.c.id == car).values(username=username))


# ---------------------------------------------------------------- events


def events_since(settings: Settings, seq: int, station: str | None = None, limit: int = 500) -> list[dict]:
    """Events after ``seq``, oldest first: those of ``station`` (a code prefix) — an event is
    its incident's station's, or its unit's (a unit id starts with its station code)."""
    where = [events_t.c.seq > seq]
    if station:
        where.append(sa.or_(_scoped(events_t.c.station, station), _scoped(events_t.c.unit, station)))
    with engine(settings).connect() as conn:
        rows = _rows(conn.execute(sa.select(events_t).where(*where).order_by(events_t.c.seq).limit(limit)))
    return [event_view(r) for r in rows]


def event_view(e: dict) -> dict:
    try:
        body = json.loads(e.get("body") or "{}")
    except ValueError:
        body = {"text": e.get("body")}
    return {**e, "body": body}


def last_seq(settings: Settings) -> int:
    with engine(settings).connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(events_t.c.seq))).scalar() or 0)
