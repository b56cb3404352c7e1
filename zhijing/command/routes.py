"""API of command and dispatch (一体化指挥), ``/api/command``: 110 intake, incidents with
their recommendations, one-click assignment, the unit's phone steps, escalation, closing,
KPIs and the live stream.

Every route opens under a duty purpose (``order:110-<unit>``) or an emergency and is
audited. Need to know by place, as for persons: a station's duty room and phones see the
incidents, units and events of their own jurisdiction, a branch its district, the city all;
what lies outside is answered 404 (audited as a refusal naming it). Commanding an incident
takes the tier it is commanded at or above (escalation moves it up)."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field, field_validator, model_validator

from zhijing.access import scope, sessions
from zhijing.access.guard import AccessContext, require
from zhijing.command import adapters, live, store
from zhijing.config import get_settings
from zhijing.errors import AccessDenied, Conflict, NotFound
from zhijing.localtime import in_zone, shown_all

router = APIRouter(prefix="/api/command", tags=["command"])
INCIDENT_ID = re.compile(r"^JQ\d{14}$")
UNIT_ID = re.compile(r"^\d{8}-[\w\u4e00-\u9fff]{1,8}$")
OUTSIDE = "outside your jurisdiction"
AUDITED_IDS = 500  # a list's audit event names its first incidents (its query says which page it was)
TIER_OF_PREFIX = {8: "station", 6: "branch"}  # a shorter prefix (city, province): the city tier
TIER_ZH = {"station": "派出所", "branch": "分局", "city": "市局"}
PHOTO_TYPES = {b"\xff\xd8\xff": ("jpg", "image/jpeg"), b"\x89PNG\r\n\x1a\n": ("png", "image/png"), b"RIFF": ("webp", "image/webp")}


@dataclass(frozen=True)
class Reach:
    """Where a caller sees (a station-code prefix; None: everywhere) and the tier it commands at."""

    prefix: str | None
    tier: str

    def sees(self, station: str | None) -> bool:
        return self.prefix is None or (station or "").startswith(self.prefix)

    def commands(self, tier: str) -> bool:
        return store.TIERS.index(self.tier) >= store.TIERS.index(tier)


def reach(ctx: AccessContext) -> Reach:
    prefix = scope.jurisdiction(ctx.user.unit)
    if prefix is None:
        raise ctx.refuse([], "your unit commands no jurisdiction")
    tier = TIER_OF_PREFIX.get(len(prefix), "city")
    return Reach(None if tier == "city" else prefix, tier)


def _shown(row: dict) -> dict:
    return shown_all(row)


def _incident(ctx: AccessContext, where: Reach, incident_id: str) -> dict:
    """The incident if it exists and lies in the caller's jurisdiction; else 404 (audited)."""
    if not INCIDENT_ID.match(incident_id):
        raise HTTPException(404, "no such incident")
    try:
        inc = store.incident(get_settings(), incident_id)
    except NotFound:
        raise HTTPException(404, "no such incident") from None
    if not where.sees(inc["station"]):
        raise ctx.refuse([incident_id], OUTSIDE, 404)
    return inc


def _commanded(ctx: AccessContext, where: Reach, inc: dict) -> None:
    if not where.commands(inc["tier"]):
        raise ctx.refuse([inc["id"]], f"警情已上报至{TIER_ZH[inc['tier']]}指挥")


def _unit(ctx: AccessContext, where: Reach, unit_id: str) -> dict:
    if not UNIT_ID.match(unit_id):
        raise HTTPException(404, "no such unit")
    try:
        u = store.unit(get_settings(), unit_id)
    except NotFound:
        raise HTTPException(404, "no such unit") from None
    if not where.sees(u["station"]):
        raise ctx.refuse([unit_id], OUTSIDE, 404)
    return u


def _assignment(ctx: AccessContext, assignment_id: str) -> dict:
    if not assignment_id.isdigit() or not 0 < int(assignment_id) < 2**62:
        raise HTTPException(404, "no such assignment")
    try:
        return store.assignment(get_settings(), int(assignment_id))
    except NotFound:
        raise HTTPException(404, "no such assignment") from None


def _conflict(ctx: AccessContext, records: list[str], exc: Conflict) -> HTTPException:
    """A lost race or a repeated change: 409 with the one line saying what stands (audited as refused)."""
    return ctx.refuse(records, str(exc), 409)


# ---------------------------------------------------------------- incidents


class CallIn(BaseModel):
    """A 110 call as a call-taker (or a system) reports it."""

    narrative: str = Field("", max_length=4000)
    address: str | None = Field(None, max_length=256)
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    phone: str | None = Field(None, max_length=32, pattern=r"^[0-9+\-() ]*$")
    received_at: str | None = Field(None, max_length=40)
    source: Literal["api", "console"] = "api"

    @field_validator("address", "phone", "received_at")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v.strip() or None if isinstance(v, str) else v

    @field_validator("received_at")
    @classmethod
    def _wall_time(cls, v: str | None) -> str | None:
        """A time without an offset is a wall time in the deployment's zone (as a call-taker reads the clock)."""
        if v is None:
            return None
        try:
            return in_zone(v, naive="local").isoformat()
        except (ValueError, TypeError):
            raise ValueError("received_at must be an ISO time") from None

    @model_validator(mode="after")
    def _says_something(self) -> CallIn:
        if not self.narrative.strip() and not self.address and not self.phone and self.lon is None:
            raise ValueError("a call needs a narrative, an address, coordinates or the caller's phone")
        if (self.lon is None) != (self.lat is None):
            raise ValueError("coordinates need both lon and lat")
        return self


@router.get("/incidents")
def list_incidents(open: bool = True, limit: int = Query(200, ge=1, le=5000), offset: int = Query(0, ge=0, le=10**7),
                   ctx=Depends(require("dispatch:read"))) -> dict:  # fmt: skip
    """Incidents of the caller's jurisdiction, newest first (open primaries unless ``open=0``)."""
    where = reach(ctx)
    page = store.incidents(get_settings(), where.prefix, open, limit, offset)
    ctx.audit("consult", records=[i["id"] for i in page["items"][:AUDITED_IDS]],
              query=f"command incidents open={int(open)} offset={offset} limit={limit} n={len(page['items'])}")  # fmt: skip
    return {**page, "items": [_shown(i) for i in page["items"]]}


@router.post("/incidents")
def take_call(call: CallIn, request: Request, ctx=Depends(require("dispatch:write"))) -> dict:
    """Intake (接警): triage the call (locate, classify, link its plan) and record it — as a
    new incident, or merged into an open one about the same event."""
    settings = get_settings()
    triaged = adapters.triage(settings, call.model_dump(exclude={"source"}), request.app.state)
    inc = store.create_incident(settings, triaged, call.source, ctx.user.username)
    ctx.audit("collect", records=[inc["id"], *([inc["parent"]] if inc["parent"] else [])], query="command intake")
    return _shown(inc)


@router.get("/incidents/{incident_id}")
def get_incident(incident_id: str, request: Request, k: int = Query(3, ge=1, le=20), ctx=Depends(require("dispatch:read"))) -> dict:
    """One incident with its assignments, merged calls, plan and the recommended units
    (travel time on the street graph, the straight-line rank beside it)."""
    settings = get_settings()
    where = reach(ctx)
    inc = _incident(ctx, where, incident_id)
    recs = []
    if inc["state"] != "closed" and inc["parent"] is None:
        pool = store.units(settings, where.prefix)
        recs = adapters.recommendations(settings, inc, pool, k, holder=request.app.state)
    ctx.audit("consult", records=[incident_id, *(d["id"] for d in inc["duplicates"])], query="command incident")
    return _shown({**inc, "recommendations": recs, "plan_detail": adapters.plan(settings, inc),
                   "commandable": where.commands(inc["tier"])})  # fmt: skip


class AssignIn(BaseModel):
    unit: str = Field(max_length=48)
    replaces: int | None = Field(None, ge=1, lt=2**62)  # reassignment: the assignment this one replaces


@router.post("/incidents/{incident_id}/assign")
def assign(incident_id: str, body: AssignIn, ctx=Depends(require("dispatch:command"))) -> dict:
    """Send a unit (one click). Two dispatchers sending one unit at the same moment: one
    wins, the other is answered 409 with who has it."""
    where = reach(ctx)
    inc = _incident(ctx, where, incident_id)
    _commanded(ctx, where, inc)
    _unit(ctx, where, body.unit)
    try:
        a = store.assign(get_settings(), incident_id, body.unit, ctx.user.username, body.replaces)
    except Conflict as exc:
        raise _conflict(ctx, [incident_id, body.unit], exc) from None
    ctx.audit("alter", records=[incident_id, body.unit, f"assignment:{a['id']}"], query="command assign")
    return _shown(a)


@router.post("/incidents/{incident_id}/escalate")
def escalate(incident_id: str, ctx=Depends(require("dispatch:command"))) -> dict:
    """Move the command one tier up (派出所 → 分局 → 市局)."""
    where = reach(ctx)
    inc = _incident(ctx, where, incident_id)
    _commanded(ctx, where, inc)
    try:
        out = store.escalate(get_settings(), incident_id, ctx.user.username)
    except Conflict as exc:
        raise _conflict(ctx, [incident_id], exc) from None
    ctx.audit("alter", records=[incident_id], query="command escalate")
    return _shown(out)


@router.post("/incidents/{incident_id}/close")
def close(incident_id: str, ctx=Depends(require("dispatch:command"))) -> dict:
    """Close the incident (结案); closing it again is answered 409."""
    where = reach(ctx)
    inc = _incident(ctx, where, incident_id)
    _commanded(ctx, where, inc)
    try:
        out = store.close(get_settings(), incident_id, ctx.user.username)
    except Conflict as exc:
        raise _conflict(ctx, [incident_id], exc) from None
    ctx.audit("alter", records=[incident_id], query="command close")
    return _shown(out)


# ---------------------------------------------------------------- units and assignments


@router.get("/units")
def list_units(ctx=Depends(require("dispatch:read"))) -> dict:
    """Units of the caller's jurisdiction with status, position and staleness."""
    settings = get_settings()
    where = reach(ctx)
    if where.prefix is None and not store.units(settings):  # a city's first look: its units from the geography roles
        store.seed_units(settings)
    items = store.units(settings, where.prefix)
    ctx.audit("consult", records=[], query=f"command units {len(items)}")
    return {"total": len(items), "items": [_shown(u) for u in items]}


@router.post("/assignments/{assignment_id}/cancel")
def cancel(assignment_id: str, ctx=Depends(require("dispatch:command"))) -> dict:
    """Withdraw an assignment (the dispatcher's call): the unit is free again."""
    where = reach(ctx)
    a = _assignment(ctx, assignment_id)
    inc = _incident(ctx, where, a["incident"])
    _commanded(ctx, where, inc)
    try:
        out = store.cancel(get_settings(), a["id"], ctx.user.username)
    except Conflict as exc:
        raise _conflict(ctx, [a["incident"], f"assignment:{a['id']}"], exc) from None
    ctx.audit("alter", records=[a["incident"], a["unit"], f"assignment:{a['id']}"], query="command cancel")
    return _shown(out)


class StepIn(BaseModel):
    note: str | None = Field(None, max_length=2000)
    photo: str | None = Field(None, max_length=1_400_000)  # a data URL (JPEG, PNG or WebP), within the body limit


@router.post("/assignments/{assignment_id}/{step}")
def step(assignment_id: str, step: Literal["accept", "arrive", "clear", "feedback"], body: StepIn | None = None,
         ctx=Depends(require("dispatch:unit"))) -> dict:  # fmt: skip
    """A step from the unit's phone: accept (en route), arrive (on scene), clear, feedback
    (a note and a photo). Only the assignment's own unit may; a step repeated (a retried
    request from a flaky connection) is answered as done, marked ``repeat``."""
    settings = get_settings()
    mine = store.unit_of_user(settings, ctx.user.username)
    a = _assignment(ctx, assignment_id)
    if mine is None or mine["id"] != a["unit"]:
        raise ctx.refuse([f"assignment:{a['id']}"], "该派警不属于本单元")
    body = body or StepIn()
    photo = _save_photo(settings, a["id"], body.photo) if step == "feedback" and body.photo else None
    try:
        out = store.advance(settings, a["id"], step, ctx.user.username, body.note, photo, as_unit=mine["id"])
    except AccessDenied as exc:
        raise ctx.refuse([f"assignment:{a['id']}"], str(exc)) from None
    except Conflict as exc:
        raise _conflict(ctx, [a["incident"], f"assignment:{a['id']}"], exc) from None
    ctx.audit("alter", records=[a["incident"], a["unit"], f"assignment:{a['id']}"], query=f"command {step}")
    return _shown(out)


def _save_photo(settings, assignment_id: int, data_url: str) -> str:
    """A feedback photo (data URL) written under the home; its path relative to the home."""
    head, _, data = data_url.partition(",")
    if not head.startswith("data:image/") or not head.endswith(";base64"):
        raise HTTPException(422, "photo must be a data URL of a JPEG, PNG or WebP image")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(422, "photo is not valid base64") from None
    kind = next((v for magic, v in PHOTO_TYPES.items() if raw.startswith(magic)), None)
    if kind is None or (kind[0] == "webp" and raw[8:12] != b"WEBP"):
        raise HTTPException(422, "photo must be a JPEG, PNG or WebP image")
    folder = settings.home / "dispatch" / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{assignment_id}-{uuid.uuid4().hex[:12]}.{kind[0]}"
    (folder / name).write_bytes(raw)
    return f"dispatch/photos/{name}"


@router.get("/assignments/{assignment_id}/photo")
def photo(assignment_id: str, ctx=Depends(require("dispatch:read"))):
    """The feedback photo of an assignment of the caller's jurisdiction."""
    settings = get_settings()
    a = _assignment(ctx, assignment_id)
    _incident(ctx, reach(ctx), a["incident"])
    path = settings.home / a["photo"] if a.get("photo") else None
    if path is None or not path.is_file():
        raise HTTPException(404, "no photo")
    ctx.audit("consult", records=[a["incident"], f"assignment:{a['id']}"], query="command photo")
    media = next((m for ext, m in PHOTO_TYPES.values() if path.suffix == f".{ext}"), "application/octet-stream")
    return FileResponse(path, media_type=media)


# ---------------------------------------------------------------- the unit's phone


@router.get("/me")
def me(ctx=Depends(require("dispatch:read"))) -> dict:
    """The phone login's unit, its current assignment and that incident (None: not a unit's
    phone). The phone asks every few seconds: the unit counts as seen (not stale)."""
    settings = get_settings()
    mine = store.unit_of_user(settings, ctx.user.username)
    if mine is None:
        return {"unit": None, "assignment": None, "incident": None}
    mine = store.seen(settings, mine["id"])  # a phone that is open and online is a unit that has not gone silent
    a = store.current_assignment(settings, mine["id"])
    inc = store.incident(settings, a["incident"]) if a else None
    if inc is not None:
        inc = {k: v for k, v in inc.items() if k not in ("duplicates",)}
    ctx.audit("consult", records=[mine["id"], *([a["incident"]] if a else [])], query="command me")
    return _shown({"unit": mine, "assignment": a, "incident": inc})


class PositionIn(BaseModel):
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)


@router.post("/me/position")
def my_position(body: PositionIn, ctx=Depends(require("dispatch:unit"))) -> dict:
    """The phone reports where its unit is (it is seen now: no longer stale)."""
    settings = get_settings()
    mine = store.unit_of_user(settings, ctx.user.username)
    if mine is None:
        raise ctx.refuse([], "not a unit's phone")
    store.move_unit(settings, mine["id"], body.lon, body.lat)
    ctx.audit("alter", records=[mine["id"]], query="command position")
    return {"unit": mine["id"], "lon": body.lon, "lat": body.lat}


# ---------------------------------------------------------------- KPIs and the live stream


@router.get("/kpi")
def kpi(ctx=Depends(require("dispatch:read"))) -> dict:
    """Response times (NENA / NFPA: call processing, turnout, travel, total) of the caller's jurisdiction."""
    where = reach(ctx)
    ctx.audit("consult", records=[], query="command kpi")
    return shown_all(adapters.kpi(get_settings(), where.prefix))


@router.get("/stream", response_class=StreamingResponse)
async def stream(request: Request, last_event_id: str | None = Header(default=None, max_length=20),
                 after: int | None = Query(None, ge=0, lt=2**62), ctx=Depends(require("dispatch:read"))):  # fmt: skip
    """Server-sent events of the caller's jurisdiction: ``id`` the event's sequence number
    (send it back as ``Last-Event-ID``, or ``?after=``, to resume), ``event`` its kind,
    ``data`` the event as JSON; a comment every 15 s when idle. It ends with the caller's
    session or token."""
    where = reach(ctx)
    if last_event_id and last_event_id.isdigit() and len(last_event_id) < 19:
        after = int(last_event_id)
    settings = get_settings()
    claims = getattr(request.state, "claims", {}) or {}
    sid, sub, exp = str(claims.get("sid", "")), str(claims.get("sub", "")), claims.get("exp")

    def alive() -> bool:
        if exp is not None and datetime.now(UTC).timestamp() >= float(exp):
            return False
        return sessions.active(settings, sid, sub)

    ctx.audit("consult", records=[], query=f"command stream after={after}")
    bus = live.bus_for(request.app, settings)
    return StreamingResponse(live.stream(bus, where.prefix, after, alive), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})  # fmt: skip


def register(app: FastAPI) -> None:
    app.include_router(router)
    settings = get_settings()
    if settings.dispatch.simulate:
        adapters.start_simulator(settings, app.state)

