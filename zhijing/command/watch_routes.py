"""The watchlist API (智能布控), ``/api/watch``: place, approve, revoke, list, hits, and the
one-click intercept of a hit (an incident at the hit's place, with the nearest units).

Every route runs under a purpose (case, order or emergency) and is audited by the guard;
placing and approving are two officers (双人审批: the approver the placer names, holding the
approver role, under the watch's own purpose). An officer sees the watches and hits of their
unit's jurisdiction (and those they placed or must approve); 督察 sees every watch and who
placed and approved it (``/api/watch/oversight``, no purpose of their own needed).
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from zhijing.access import scope
from zhijing.access.guard import AccessContext, require
from zhijing.access.masking import mask_identifiers
from zhijing.command import adapters, store, watch
from zhijing.command import watch_store as ws
from zhijing.command.routes import reach
from zhijing.config import get_settings
from zhijing.errors import AccessDenied, ZhijingError
from zhijing.localtime import in_zone, shown, shown_all, shown_fields
from zhijing.serving.person_file import places_of

router = APIRouter(prefix="/api/watch", tags=["watch"])
RowId = Annotated[int, Path(ge=1, lt=2**62, description="a row number (a hostile integer is a 422, never a 500)")]
TIMES = ("expires_at", "placed_at", "approved_at", "revoked_at")


class Placement(BaseModel):
    kind: Literal["person", "plate", "phone"]
    value: str = Field(..., min_length=1, max_length=64, description="master id, plate (号牌) or mobile number")
    reason: str = Field(..., min_length=2, max_length=500, description="布控事由")
    expires_at: str = Field(..., description="到期时间: ISO time (a wall time without offset is local)")
    approver: str = Field(..., min_length=1, max_length=64, description="审批人 (holds the approver role; not the placer)")


def _covers(ctx: AccessContext, unit: str | None, station: str | None = None) -> bool:
    """Does the caller's unit's jurisdiction hold this unit's (or place's station's)?"""
    mine = scope.jurisdiction(ctx.user.unit)
    return scope.in_jurisdiction(mine, [scope.jurisdiction(unit), station])


def _visible(ctx: AccessContext, w: dict) -> bool:
    return ctx.user.username in (w["placed_by"], w["approver"]) or _covers(ctx, w["unit"])


def _shown(ctx: AccessContext, w: dict) -> dict:
    """A watch as the API gives it: times with their offset, identifiers masked by clearance."""
    return mask_identifiers(shown_fields(w, *TIMES), ctx.user.clearance)


def _hit_shown(ctx: AccessContext, h: dict, w: dict | None) -> dict:
    out = shown_fields(h, "at", "time") | {"watch_label": w["label"] if w else None, "watch_kind": w["kind"] if w else None}
    return mask_identifiers(out, ctx.user.clearance)


def _watch(watch_id: int) -> dict:
    try:
        return ws.get(get_settings(), watch_id)
    except ZhijingError:
        raise HTTPException(404, "no such watch") from None


@router.post("")
def place(body: Placement, ctx: AccessContext = Depends(require("watch:place"))) -> dict:
    """Put a person, plate or phone under watch (pending until the named approver approves)."""
    settings = get_settings()
    value, key, label = watch.normalise(settings, body.kind, body.value)
    if body.kind == "person":
        ctx.require_visible(value, places_of(settings, [value]).get(value, []))
    expires = in_zone(body.expires_at)
    if expires is None:
        raise HTTPException(422, "expires_at: a time is required")
    if body.approver == ctx.user.username:
        raise ctx.refuse([f"watch:{body.kind}"], "separation of duties: the officer who places a watch cannot approve it")
    ctx.audit("alter", [value], query=f"watch place {body.kind}")
    w = ws.place(settings, body.kind, value, key, label, ctx.purpose or "", body.reason, expires, ctx.user.username, ctx.user.unit,
                 body.approver)  # fmt: skip
    ctx.audit("alter", [f"watch:{w['id']}"])
    return _shown(ctx, w)


@router.post("/{watch_id}/approve")
def approve(watch_id: RowId, ctx: AccessContext = Depends(require("watch:approve"))) -> dict:
    """The approver's approval (二人审批), under the watch's own purpose: from now on it hits."""
    w = _watch(watch_id)
    ctx.audit("alter", [f"watch:{watch_id}", w["value"]], query="watch approve")
    if ctx.purpose != w["purpose"]:
        raise ctx.refuse([f"watch:{watch_id}"], "approve under the watch's own purpose")
    try:
        return _shown(ctx, ws.approve(get_settings(), watch_id, ctx.user.username))
    except AccessDenied as exc:
        raise ctx.refuse([f"watch:{watch_id}"], str(exc)) from None
    except ZhijingError as exc:
        raise HTTPException(409, str(exc)) from None


@router.post("/{watch_id}/revoke")
def revoke(watch_id: RowId, ctx: AccessContext = Depends(require("watch:place"))) -> dict:
    """Lift a watch (撤控): its placer, its approver, or a unit above the placer's."""
    w = _watch(watch_id)
    ctx.audit("alter", [f"watch:{watch_id}", w["value"]], query="watch revoke")
    if not _visible(ctx, w):
        raise ctx.refuse([f"watch:{watch_id}"], "not your unit's watch")
    try:
        return _shown(ctx, ws.revoke(get_settings(), watch_id, ctx.user.username))
    except ZhijingError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("")
def listed(state: str | None = Query(None, description="pending | active | revoked | expired"),
           ctx: AccessContext = Depends(require("watch:read"))) -> dict:  # fmt: skip
    """The watches of the caller's jurisdiction, and those they placed or must approve."""
    found = [w for w in ws.listed(get_settings()) if _visible(ctx, w) and (state is None or w["state"] == state)]
    ctx.audit("consult", [f"watch:{w['id']}" for w in found], query="watch list")
    return {"watches": [_shown(ctx, w) for w in found]}


@router.get("/hits")
def hits(limit: int = Query(100, ge=1, le=1000), ctx: AccessContext = Depends(require("watch:read"))) -> dict:
    """The hits of the watches the caller sees, and those at places of their jurisdiction; newest first."""
    settings = get_settings()
    by_id = {w["id"]: w for w in ws.listed(settings)}
    rows = [h for h in ws.hit_rows(settings, limit=5000)
            if (w := by_id.get(h["watch"])) is not None and (_visible(ctx, w) or _covers(ctx, None, h["station"]))][:limit]  # fmt: skip
    ctx.audit("consult", [f"{h['dataset']}|{h['record']}" for h in rows], query="watch hits")
    return {"hits": [_hit_shown(ctx, h, by_id.get(h["watch"])) for h in rows]}


@router.get("/oversight")
def oversight(ctx: AccessContext = Depends(require("watch:read", person_data=False, audited=True))) -> dict:
    """督察: every watch, who placed and who approved it, and its hits."""
    settings = get_settings()
    counts = Counter(h["watch"] for h in ws.hit_rows(settings, limit=1_000_000))
    found = ws.listed(settings)
    ctx.audit("consult", [f"watch:{w['id']}" for w in found], query="watch oversight")
    return {"watches": [_shown(ctx, w) | {"hits": counts.get(w["id"], 0)} for w in found], "as_of": shown(ws.now())}


MATCH_ZH = {"exact": "号牌", "ocr": "号牌(识别近似)", "citizen_id": "身份证号", "phone": "手机号"}


@router.post("/hits/{hit_id}/dispatch")
def dispatch(hit_id: RowId, request: Request, ctx: AccessContext = Depends(require("dispatch:write"))) -> dict:
    """One-click intercept (一键布控拦截): an incident (source ``watch``, urgent) at the hit's
    place, and the nearest available units by travel time. A hit dispatched already answers
    its incident again (no second one)."""
    settings = get_settings()
    try:
        h = ws.hit(settings, hit_id)
        w = ws.get(settings, h["watch"])
    except ZhijingError:
        raise HTTPException(404, "no such hit") from None
    where = reach(ctx)
    ctx.audit("collect", [f"watch:{w['id']}", f"{h['dataset']}|{h['record']}"], query="watch dispatch")
    if not (where.sees(h["station"]) or _visible(ctx, w)):
        raise ctx.refuse([f"watch:{w['id']}"], "this hit lies outside your jurisdiction")
    if h["lon"] is None or h["lat"] is None:
        raise HTTPException(422, "this hit has no place to send a unit to")
    if h["incident"]:
        inc = store.incident(settings, h["incident"])
    else:
        narrative = f"布控预警：{w['label']}（{MATCH_ZH.get(h['match'], h['match'])}比中）出现于{h['place'] or '比中地点'}，请就近拦截"
        triaged = adapters.triage(settings, {"narrative": narrative, "lon": h["lon"], "lat": h["lat"]})
        triaged["priority"] = 1  # an intercept does not wait
        inc = store.create_incident(settings, triaged, "watch", ctx.user.username)
        ws.link_incident(settings, hit_id, inc["id"])
    ctx.audit("collect", [inc["id"]])
    recs = adapters.recommendations(settings, inc, store.units(settings, where.prefix), 3, holder=request.app.state)
    return shown_all({"incident": inc, "recommendations": recs, "hit": _hit_shown(ctx, h, w)})


def register(app: FastAPI) -> None:
    app.include_router(router)

