"""Workload per officer and the dispatch units on duty (警队建设), ``/api/force/workload`` and
``/api/force/units``: the wiring that reads force (roster), cases (the procedure's open cases
and time limits) and command (dispatch units and assignments) side by side — force sits
beside both and imports neither (docs/layers.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Query

from zhijing.access.guard import AccessContext, require
from zhijing.access.scope import jurisdiction
from zhijing.cases.procedure import rules
from zhijing.cases.procedure import store as proc
from zhijing.command import store as dispatch
from zhijing.config import get_settings
from zhijing.force import routes as force_routes
from zhijing.force import store, workload
from zhijing.localtime import shown_all

router = APIRouter(prefix="/api/force", tags=["force"])


def procedure_load(settings, officers: list[str], due_within: timedelta) -> tuple[dict[str, list[str]], dict[str, list[dict]]]:
    """(officer → open case ids, officer → running time limits due within ``due_within``) from
    the procedure's store: a case is open until it reaches a final state of its kind's rules."""
    final = [(kind, m.final) for kind, m in rules.load().machines.items()]
    closed = sa.or_(*(sa.and_(proc.cases_t.c.kind == kind, proc.cases_t.c.state.in_(states)) for kind, states in final))
    cases: dict[str, list[str]] = {}
    due: dict[str, list[dict]] = {}
    until = datetime.now(UTC) + due_within
    with proc.engine(settings).connect() as conn:
        for cid, handler in conn.execute(sa.select(proc.cases_t.c.id, proc.cases_t.c.handler)
                                         .where(proc.cases_t.c.handler.in_(officers), sa.not_(closed))):  # fmt: skip
            cases.setdefault(handler, []).append(cid)
        q = (sa.select(proc.limits_t.c.case_id, proc.limits_t.c.name, proc.limits_t.c.person, proc.limits_t.c.due_at, proc.cases_t.c.handler)
             .join(proc.cases_t, proc.cases_t.c.id == proc.limits_t.c.case_id)
             .where(proc.cases_t.c.handler.in_(officers), proc.limits_t.c.stopped_at.is_(None), proc.limits_t.c.due_at <= until))  # fmt: skip
        for r in conn.execute(q):
            due.setdefault(r.handler, []).append({"case_id": r.case_id, "name": r.name, "person": r.person, "due_at": proc.aware(r.due_at)})
    return cases, due


@router.get("/workload")
def get_workload(unit: force_routes.UnitCode = None, days: int = Query(30, ge=1, le=366, description="incidents of the last days"),
                 ctx: AccessContext = Depends(require("force:read", person_data=False, audited=True))) -> dict:  # fmt: skip
    """Per officer of the unit: open cases, time limits due within 7 days, incidents worked in the
    last ``days`` (assignments of the dispatch unit they crewed), on duty now; busiest first."""
    settings = get_settings()
    code = force_routes.unit_of(ctx, unit)
    officers = store.officers_of(settings, code)
    now = datetime.now(UTC)
    since = now - timedelta(days=days)
    incidents = workload.incidents_by_officer(dispatch.dispatched_between(settings, since, now), store.shifts_between(settings, since, now))
    cases, deadlines = procedure_load(settings, [o["username"] for o in officers], timedelta(days=7))
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
