"""The force API (警队建设), ``/api/force``: duty rosters, who is on duty, training records.

Officers' rosters and training are staff records, not citizens' data: no purpose is asked,
every call is audited, and a caller reads and plans only their own unit's jurisdiction and
the units under it. Planning shifts and recording training need a leader (approver), the
command centre or 政工. The workload and the dispatch units on duty are served by the app's
wiring (``api/workload.py``), which reads cases and command beside force.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query
from pydantic import BaseModel, Field

from zhijing.access.guard import AccessContext, require
from zhijing.config import get_settings
from zhijing.force import store
from zhijing.localtime import in_zone, shown_all, zone

router = APIRouter(prefix="/api/force", tags=["force"])
RowId = Annotated[int, Path(ge=1, lt=2**62, description="a row number (a hostile integer is a 422, never a 500)")]
UnitCode = Annotated[str | None, Query(max_length=32, pattern=r"^[0-9A-Za-z-]+$", description="unit code (default: the caller's)")]


class ShiftIn(BaseModel):
    unit_code: str = Field(..., min_length=1, max_length=32)
    officer: str = Field(..., min_length=1, max_length=64)
    post: str = Field(..., min_length=1, max_length=16)
    starts_at: str = Field(..., max_length=40, description="ISO time (a wall time is local)")
    ends_at: str = Field(..., max_length=40, description="ISO time (a wall time is local)")
    cad_unit: str | None = Field(None, max_length=48, description="the dispatch unit crewed (巡逻车 …)")


class TrainingIn(BaseModel):
    officer: str = Field(..., min_length=1, max_length=64)
    course: str = Field(..., min_length=1, max_length=128)
    category: str = Field(..., min_length=1, max_length=16)
    hours: float = Field(..., gt=0, le=200)
    completed_on: date
    result: str = Field(..., min_length=1, max_length=8)
    valid_until: date | None = None


def unit_of(ctx: AccessContext, unit: str | None) -> str:
    """The unit asked for, which must lie in the caller's jurisdiction (default: the caller's own)."""
    code = unit or ctx.user.unit
    if not store.within(code, ctx.user.unit):
        ctx.refusal = "outside your unit's jurisdiction"
        raise HTTPException(403, ctx.refusal)
    return code


def _time(text: str, what: str) -> datetime:
    try:
        t = in_zone(text)
    except ValueError:
        t = None
    if t is None:
        raise HTTPException(422, f"{what}: an ISO time is required")
    return t


def day_bounds(day: date | None) -> tuple[datetime, datetime]:
    d = day or datetime.now(zone()).date()
    start = datetime(d.year, d.month, d.day, tzinfo=zone())
    return start, start + timedelta(days=1)


@router.get("/roster")
def get_roster(unit: UnitCode = None, day: date | None = None, ctx: AccessContext = Depends(require("force:read", person_data=False, audited=True))) -> dict:
    """The shifts of a unit (and those under it) on a local day, its officers and the posts."""
    settings = get_settings()
    code = unit_of(ctx, unit)
    start, end = day_bounds(day)
    return shown_all({"unit": code, "day": start.date().isoformat(), "shifts": store.roster(settings, code, start, end),
                      "officers": store.officers_of(settings, code), "posts": store.POSTS})  # fmt: skip


@router.post("/shifts")
def plan_shift(body: ShiftIn, ctx: AccessContext = Depends(require("force:plan", person_data=False, audited=True))) -> dict:
    """Put an officer on duty (排班), optionally crewing a dispatch unit."""
    unit_of(ctx, body.unit_code)
    s = store.add_shift(get_settings(), unit_code=body.unit_code, officer=body.officer, post=body.post, cad_unit=body.cad_unit,
                        starts_at=_time(body.starts_at, "starts_at"), ends_at=_time(body.ends_at, "ends_at"), by=ctx.user.username)  # fmt: skip
    ctx.audit("alter", [f"shift:{s['id']}"], query=f"force shift {body.officer}")
    return shown_all(s)


@router.delete("/shifts/{shift_id}")
def cancel_shift(shift_id: RowId, ctx: AccessContext = Depends(require("force:plan", person_data=False, audited=True))) -> dict:
    settings = get_settings()
    unit_of(ctx, store.shift(settings, shift_id)["unit_code"])
    ctx.audit("alter", [f"shift:{shift_id}"], query="force shift cancelled")
    return shown_all(store.cancel_shift(settings, shift_id, ctx.user.username))


@router.get("/on-duty")
def on_duty(unit: UnitCode = None, ctx: AccessContext = Depends(require("force:read", person_data=False, audited=True))) -> dict:
    """The officers on duty now in a unit and those under it, with their posts and dispatch units."""
    return shown_all({"on_duty": store.on_duty(get_settings(), unit_of(ctx, unit))})


@router.get("/training")
def get_training(unit: UnitCode = None, ctx: AccessContext = Depends(require("force:read", person_data=False, audited=True))) -> dict:
    """Training records of a unit's officers, with hours this year per officer."""
    settings = get_settings()
    officers = store.officers_of(settings, unit_of(ctx, unit))
    records = store.training_of(settings, [o["username"] for o in officers])
    year = datetime.now(zone()).year
    hours: dict[str, float] = {}
    for r in records:
        if r["completed_on"].year == year:
            hours[r["officer"]] = hours.get(r["officer"], 0.0) + r["hours"]
    return shown_all({"records": records, "hours_this_year": hours, "categories": store.TRAINING, "results": store.RESULTS})


@router.post("/training")
def add_training(body: TrainingIn, ctx: AccessContext = Depends(require("force:train", person_data=False, audited=True))) -> dict:
    """Record a completed training (教育训练记录)."""
    settings = get_settings()
    unit_of(ctx, next((o["unit_code"] for o in store.officers_of(settings, ctx.user.unit) if o["username"] == body.officer), "-"))
    r = store.add_training(settings, officer=body.officer, course=body.course, category=body.category, hours=body.hours,
                           completed_on=body.completed_on, result=body.result, valid_until=body.valid_until, by=ctx.user.username)  # fmt: skip
    ctx.audit("alter", [f"training:{r['id']}"], query=f"force training {body.officer}")
    return shown_all(r)


def register(app: FastAPI) -> None:
    app.include_router(router)
