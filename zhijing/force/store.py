"""Duty rosters (勤务排班) and training records (教育训练) of the force.

A shift puts one officer on duty for a unit (a station or any police unit) from a time to a
time, at a post, optionally crewing one dispatch unit (a patrol car, a foot patrol, the
duty team: ``cad_units.id``). Dispatch reads the roster: at a station that keeps one, a
dispatch unit nobody crews now is off duty and never recommended (``duty_of_units``); a
station without any shift near now is left as it was (its units count as on duty), so a
city that has not started rostering keeps dispatching.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from zhijing.access import models as acc
from zhijing.access import scope
from zhijing.errors import Conflict, NotFound, ZhijingError

POSTS = {"lead": "带班领导", "desk": "值班民警", "patrol": "巡逻", "intake": "接处警", "case": "办案", "reserve": "备勤"}
TRAINING = {"law": "法律法规", "firearms": "射击", "fitness": "体能", "first_aid": "急救", "tactics": "警务技战术", "it": "信息化应用"}
RESULTS = ("优秀", "合格", "不合格")
MAX_SHIFT = timedelta(hours=24)
ROSTER_WINDOW = timedelta(hours=24)  # a station keeps a roster when it has a shift within this of now

meta = sa.MetaData()
shifts = sa.Table(
    "force_shifts", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("unit_code", sa.String(32), nullable=False, index=True), sa.Column("officer", sa.String(64), nullable=False, index=True),
    sa.Column("post", sa.String(16), nullable=False), sa.Column("cad_unit", sa.String(48), index=True),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("planned_by", sa.String(64), nullable=False), sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cancelled_at", sa.DateTime(timezone=True)), sa.Column("cancelled_by", sa.String(64)),
)  # fmt: skip
training = sa.Table(
    "force_training", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("officer", sa.String(64), nullable=False, index=True), sa.Column("course", sa.String(128), nullable=False),
    sa.Column("category", sa.String(16), nullable=False), sa.Column("hours", sa.Float, nullable=False),
    sa.Column("completed_on", sa.Date, nullable=False), sa.Column("result", sa.String(8), nullable=False),
    sa.Column("valid_until", sa.Date), sa.Column("recorded_by", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)  # fmt: skip
TIMES = ("starts_at", "ends_at", "planned_at", "cancelled_at", "recorded_at")


def engine(settings) -> sa.Engine:
    return acc.engine_with(settings, meta)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(row) -> dict:
    d = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    for k in TIMES:
        if d.get(k) is not None and d[k].tzinfo is None:
            d[k] = d[k].replace(tzinfo=UTC)
    return d


def _live(at: datetime):
    return sa.and_(shifts.c.cancelled_at.is_(None), shifts.c.starts_at <= at, shifts.c.ends_at > at)


def within(unit_code: str | None, covering: str) -> bool:
    """Does ``covering``'s jurisdiction hold ``unit_code`` (a unit plans and reads its own and those under it)?"""
    prefix = scope.jurisdiction(covering)
    return bool(prefix and unit_code and (scope.jurisdiction(unit_code) or "").startswith(prefix))


def add_shift(settings, *, unit_code: str, officer: str, post: str, starts_at: datetime, ends_at: datetime, by: str,
              cad_unit: str | None = None) -> dict:  # fmt: skip
    """Put an officer on duty. Refused: an unknown or inactive officer, one of another unit's
    jurisdiction, a shift ending before it starts or longer than a day, one overlapping the
    officer's other shifts, a dispatch unit of another station."""
    if post not in POSTS:
        raise ZhijingError(f"post must be one of {', '.join(POSTS)}")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ZhijingError("a shift's times must carry their zone")
    if not starts_at < ends_at <= starts_at + MAX_SHIFT:
        raise ZhijingError("a shift ends after it starts and lasts at most 24 hours")
    with acc.engine(settings).connect() as conn:
        who = conn.execute(sa.select(acc.users.c.unit_code, acc.users.c.active).where(acc.users.c.username == officer,
                                                                                      acc.users.c.kind == "officer")).first()  # fmt: skip
        unit = conn.execute(sa.select(acc.units.c.code).where(acc.units.c.code == unit_code)).first()
    if unit is None:
        raise ZhijingError("no such unit")
    if who is None or not who.active:
        raise ZhijingError("no such active officer")
    if not within(who.unit_code, unit_code) and not within(unit_code, who.unit_code):
        raise ZhijingError("the officer belongs to another unit's jurisdiction")
    if cad_unit and not cad_unit.startswith(scope.jurisdiction(unit_code) or "\0"):
        raise ZhijingError("the dispatch unit belongs to another station")
    with engine(settings).begin() as conn:
        clash = conn.execute(sa.select(shifts.c.id).where(shifts.c.officer == officer, shifts.c.cancelled_at.is_(None),
                                                          shifts.c.starts_at < ends_at, shifts.c.ends_at > starts_at)).first()  # fmt: skip
        if clash:
            raise Conflict(f"the officer is already on shift {clash.id} at that time")
        sid = conn.execute(sa.insert(shifts).values(unit_code=unit_code, officer=officer, post=post, cad_unit=cad_unit or None,
                                                    starts_at=starts_at.astimezone(UTC), ends_at=ends_at.astimezone(UTC),
                                                    planned_by=by, planned_at=_now())).inserted_primary_key[0]  # fmt: skip
    return shift(settings, sid)


def shift(settings, shift_id: int) -> dict:
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(shifts).where(shifts.c.id == shift_id)).first()
    if r is None:
        raise NotFound("no such shift")
    return _view(_aware(r))


def _view(s: dict) -> dict:
    return {**s, "post_zh": POSTS.get(s["post"], s["post"])}


def cancel_shift(settings, shift_id: int, by: str) -> dict:
    with engine(settings).begin() as conn:
        done = conn.execute(sa.update(shifts).where(shifts.c.id == shift_id, shifts.c.cancelled_at.is_(None))
                            .values(cancelled_at=_now(), cancelled_by=by)).rowcount  # fmt: skip
    if not done:
        shift(settings, shift_id)  # NotFound when there is none
        raise Conflict("the shift was already cancelled")
    return shift(settings, shift_id)


def roster(settings, unit_code: str, day_start: datetime, day_end: datetime) -> list[dict]:
    """The shifts of a unit and the units under it overlapping [day_start, day_end)."""
    prefix = scope.jurisdiction(unit_code) or unit_code
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(shifts).where(shifts.c.cancelled_at.is_(None), shifts.c.unit_code.startswith(prefix, autoescape=True),
                                                    shifts.c.starts_at < day_end, shifts.c.ends_at > day_start)
                            .order_by(shifts.c.starts_at, shifts.c.unit_code, shifts.c.officer)).all()  # fmt: skip
    return [_view(_aware(r)) for r in rows]


def on_duty(settings, unit_code: str | None = None, at: datetime | None = None) -> list[dict]:
    """The officers on duty at ``at`` (now) in a unit and those under it (None: everywhere)."""
    q = sa.select(shifts).where(_live(at or _now())).order_by(shifts.c.unit_code, shifts.c.officer)
    if unit_code:
        q = q.where(shifts.c.unit_code.startswith(scope.jurisdiction(unit_code) or unit_code, autoescape=True))
    with engine(settings).connect() as conn:
        return [_view(_aware(r)) for r in conn.execute(q)]


def duty_of_units(settings, at: datetime | None = None) -> tuple[set[str], dict[str, list[str]]]:
    """(stations that keep a roster near ``at``, dispatch unit → officers crewing it at ``at``)
    — what dispatch needs to tell an on-duty unit from an idle one, in two indexed queries."""
    at = at or _now()
    with engine(settings).connect() as conn:
        kept = conn.execute(sa.select(shifts.c.unit_code).distinct().where(
            shifts.c.cancelled_at.is_(None), shifts.c.starts_at < at + ROSTER_WINDOW, shifts.c.ends_at > at - ROSTER_WINDOW)).scalars().all()  # fmt: skip
        crews: dict[str, list[str]] = {}
        for unit, officer in conn.execute(sa.select(shifts.c.cad_unit, shifts.c.officer).where(_live(at), shifts.c.cad_unit.is_not(None))):
            crews.setdefault(unit, []).append(officer)
    return {scope.jurisdiction(u) or u for u in kept}, crews


def mark_on_duty(settings, units: list[dict], at: datetime | None = None) -> list[dict]:
    """Each dispatch unit with ``on_duty`` (True / False at a station keeping a roster; None
    where its station keeps none) and ``crew`` (the officers on it now)."""
    stations, crews = duty_of_units(settings, at)
    for u in units:
        crew = crews.get(u["id"], [])
        u["crew"] = crew
        u["on_duty"] = bool(crew) if any(str(u.get("station") or "").startswith(s) for s in stations) else None
    return units


def shifts_between(settings, start: datetime, end: datetime) -> list[dict]:
    """Every live shift overlapping [start, end) (the workload's incidents are matched against them)."""
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(shifts.c.officer, shifts.c.cad_unit, shifts.c.starts_at, shifts.c.ends_at, shifts.c.unit_code)
                            .where(shifts.c.cancelled_at.is_(None), shifts.c.starts_at < end, shifts.c.ends_at > start)).all()  # fmt: skip
    return [_aware(r) for r in rows]


# ---------------------------------------------------------------- training


def add_training(settings, *, officer: str, course: str, category: str, hours: float, completed_on: date, result: str, by: str,
                 valid_until: date | None = None) -> dict:  # fmt: skip
    if category not in TRAINING:
        raise ZhijingError(f"category must be one of {', '.join(TRAINING)}")
    if result not in RESULTS:
        raise ZhijingError(f"result must be one of {', '.join(RESULTS)}")
    if not 0 < hours <= 200:
        raise ZhijingError("hours lie between 0 and 200")
    if completed_on > _now().date():
        raise ZhijingError("a training cannot be completed in the future")
    if valid_until is not None and valid_until < completed_on:
        raise ZhijingError("a certificate cannot expire before the training")
    with acc.engine(settings).connect() as conn:
        if conn.execute(sa.select(acc.users.c.username).where(acc.users.c.username == officer)).first() is None:
            raise ZhijingError("no such officer")
    with engine(settings).begin() as conn:
        tid = conn.execute(sa.insert(training).values(officer=officer, course=course.strip()[:128], category=category, hours=hours,
                                                      completed_on=completed_on, result=result, valid_until=valid_until,
                                                      recorded_by=by, recorded_at=_now())).inserted_primary_key[0]  # fmt: skip
        r = conn.execute(sa.select(training).where(training.c.id == tid)).first()
    return _aware(r)


def training_of(settings, officers: list[str] | None = None) -> list[dict]:
    q = sa.select(training).order_by(training.c.completed_on.desc(), training.c.id.desc()).limit(1000)
    if officers is not None:
        q = q.where(training.c.officer.in_(officers))
    with engine(settings).connect() as conn:
        return [{**_aware(r), "category_zh": TRAINING.get(r.category, r.category)} for r in conn.execute(q)]


def officers_of(settings, unit_code: str) -> list[dict]:
    """The active officers of a unit and the units under it."""
    prefix = scope.jurisdiction(unit_code) or unit_code
    with acc.engine(settings).connect() as conn:
        rows = conn.execute(sa.select(acc.users.c.username, acc.users.c.name, acc.users.c.unit_code, acc.users.c.department)
                            .where(acc.users.c.active, acc.users.c.kind == "officer").order_by(acc.users.c.username)).all()  # fmt: skip
    return [dict(r._mapping) for r in rows if (scope.jurisdiction(r.unit_code) or "").startswith(prefix)]
