"""The seized-property API (涉案财物), ``/api/property``.

An item's routes run under its case as the purpose (the ``X-Purpose`` is the case the item
belongs to) and are audited; each custody entry is anchored in the audit trail as it is
written. Approving a return or disposal needs the approver role and is refused to the
requester, the seizing officer and the case's handler. Supervision (法制 / 督察) reads the
flags and the chains' verification without a purpose: they name items and cases, no person.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field

from zhijing.access import scope
from zhijing.access.guard import AccessContext, require
from zhijing.cases import label, seized
from zhijing.cases.procedure import service
from zhijing.cases.procedure import store as procedure_store
from zhijing.config import get_settings
from zhijing.localtime import in_zone, shown_all

router = APIRouter(prefix="/api/property", tags=["property"])
RowId = Annotated[int, Path(ge=1, lt=2**62, description="a row number (a hostile integer is a 422, never a 500)")]
Digest = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the photo's SHA-256")]


class Intake(BaseModel):
    case_id: str | None = Field(None, max_length=64, description="the procedure's case id (default: the purpose's)")
    description: str = Field(..., min_length=1, max_length=256)
    category: Literal["cash", "vehicle", "phone", "drugs", "weapon", "document", "valuables", "other"]
    quantity: str = Field("1件", min_length=1, max_length=32)
    value_yuan: float | None = Field(None, ge=0, le=1e12)
    location: str = Field(..., min_length=1, max_length=48, description="storage location code")
    holder: str | None = Field(None, max_length=64, description="保管人 (default: the caller)")
    disposal_due: date | None = Field(None, description="处置期限 (a date)")
    seized_at: str | None = Field(None, max_length=40, description="扣押时间: ISO time (a wall time is local); default now")


class Move(BaseModel):
    action: Literal["move", "handover", "check_out", "check_in"]
    holder: str | None = Field(None, max_length=64)
    location: str | None = Field(None, max_length=48)
    note: str | None = Field(None, max_length=256)
    at: str | None = Field(None, max_length=40, description="ISO time (a wall time is local); default now")


class RequestIn(BaseModel):
    kind: Literal["return", "dispose"]
    method: str = Field(..., min_length=1, max_length=32)
    reason: str = Field(..., min_length=2, max_length=500)
    recipient: str | None = Field(None, max_length=64)


class Decision(BaseModel):
    approve: bool
    note: str | None = Field(None, max_length=500)


def _time(text: str | None):
    if text is None:
        return None
    try:
        t = in_zone(text)
    except ValueError:
        raise HTTPException(422, "a time must be ISO (2026-03-01T08:00)") from None
    return t


def _item(ctx: AccessContext, pid: int) -> dict:
    """The item, which must belong to the case the request runs under (its own purpose, or the
    专案 its procedure case is linked to)."""
    it = seized.item(get_settings(), pid)
    if ctx.purpose != it["case_ref"] and it["case_id"] not in service.case_of_workspace(get_settings(), ctx.purpose or ""):
        ctx.refusal = "the purpose must be the item's case"
        raise HTTPException(403, ctx.refusal)
    ctx.audit(ctx.operation, [str(pid)])
    return it


def _handler_of(case_id: str) -> str | None:
    """The case's handler (主办人) in the procedure, who may not approve its property's return or disposal."""
    found = procedure_store.case_detail(get_settings(), case_id)
    return found["case"]["handler"] if found else None


@router.get("/locations")
def storage_locations(ctx: AccessContext = Depends(require("property:locations", person_data=False))) -> dict:
    """The storage locations of the caller's unit and the unit above it (保管场所)."""
    return {"locations": seized.unit_locations(get_settings(), ctx.user.unit), "kinds": seized.KINDS_OF_LOCATION,
            "categories": seized.CATEGORIES, "methods": seized.METHODS}  # fmt: skip


@router.get("/supervision/flags")
def supervision_flags(ctx: AccessContext = Depends(require("property:supervise", person_data=False, audited=True))) -> dict:
    """Items without a custody record and items held past their disposal date, with evidence."""
    found = seized.flags(get_settings())
    return shown_all({"flags": found, "count": len(found)})


@router.get("/supervision/verify")
def supervision_verify(ctx: AccessContext = Depends(require("property:supervise", person_data=False, audited=True))) -> dict:
    """Every custody chain checked: bodies, hashes, links, the items' copies, the anchors in the audit trail."""
    v = seized.verify(get_settings())
    return {"ok": v.ok, "items": v.items, "entries": v.entries, "problems": v.problems[:500]}


def _in_reach(ctx: AccessContext, unit_code: str) -> bool:
    mine = scope.jurisdiction(ctx.user.unit)
    return bool(mine) and (scope.jurisdiction(unit_code) or unit_code).startswith(mine)


@router.get("/requests")
def awaiting(ctx: AccessContext = Depends(require("property:approve", person_data=False, audited=True))) -> dict:
    """What awaits an approver (审批 is his duty, no purpose of his own): the pending return and
    disposal requests of items of his unit and the units below it, each with its item."""
    settings = get_settings()
    out = []
    for r in seized.requests_of(settings, state="pending"):
        it = seized.item(settings, r["property_id"])
        if _in_reach(ctx, it["unit_code"]):
            out.append({**r, "item": {k: it[k] for k in ("id", "number", "description", "category_zh", "case_id", "seized_by", "state", "location")}})
    ctx.audit("consult", [str(r["property_id"]) for r in out], query="property requests awaiting approval")
    return shown_all({"requests": out})


@router.get("")
def case_items(ctx: AccessContext = Depends(require("property:read"))) -> dict:
    """The items of the case the request runs under, with their open requests."""
    settings = get_settings()
    found = seized.items_of_case(settings, ctx.purpose or "", service.case_of_workspace(settings, ctx.purpose or ""))
    ctx.audit("consult", [str(i["id"]) for i in found], query="property of the case")
    reqs = seized.requests_of(settings, [i["id"] for i in found]) if found else []
    return shown_all({"items": found, "requests": reqs})


@router.post("")
def intake(body: Intake, ctx: AccessContext = Depends(require("property:write"))) -> dict:
    """Register a seized item (入库登记): the first entry of its custody chain."""
    settings = get_settings()
    case_ref = ctx.purpose or ""
    it = seized.intake(settings, case_id=body.case_id or case_ref.removeprefix("case:"), case_ref=case_ref,
                         description=body.description, category=body.category, quantity=body.quantity, value_yuan=body.value_yuan,
                         seized_by=ctx.user.username, unit_code=ctx.user.unit, holder=body.holder or ctx.user.username,
                         location=body.location, disposal_due=body.disposal_due, seized_at=_time(body.seized_at),
                         actor=ctx.user.username, purpose=ctx.purpose)  # fmt: skip
    ctx.audit("collect", [str(it["id"])], query="property intake")
    return shown_all(it)


@router.get("/{pid}")
def one_item(pid: RowId, ctx: AccessContext = Depends(require("property:read"))) -> dict:
    """The item, its custody chain (verified), its photos and its requests."""
    settings = get_settings()
    it = _item(ctx, pid)
    v = seized.verify(settings, [pid])
    return shown_all({"item": it, "chain": seized.chain(settings, pid), "requests": seized.requests_of(settings, [pid]),
                      "verification": {"ok": v.ok, "problems": v.problems}})  # fmt: skip


@router.post("/{pid}/moves")
def move(pid: RowId, body: Move, ctx: AccessContext = Depends(require("property:write"))) -> dict:
    """One custody move: a new holder or place, out for examination and back in."""
    _item(ctx, pid)
    row = seized.append(get_settings(), pid, body.action, holder=body.holder, location=body.location, by=ctx.user.username,
                          at=_time(body.at), note=body.note, unit=ctx.user.unit, purpose=ctx.purpose)  # fmt: skip
    return {"n": row["n"], "hash": row["hash"], "at": row["at"]}


@router.post("/{pid}/photos")
async def add_photo(pid: RowId, request: Request, ctx: AccessContext = Depends(require("property:write"))) -> dict:
    """A photo of the item (the request body: a JPEG, PNG or WebP image), fixed in its chain."""
    _item(ctx, pid)
    row = seized.add_photo(get_settings(), pid, await request.body(), ctx.user.username, ctx.user.unit, ctx.purpose)
    return {"n": row["n"], "hash": row["hash"]}


@router.get("/{pid}/photos/{digest}")
def get_photo(pid: RowId, digest: Digest, ctx: AccessContext = Depends(require("property:read"))) -> Response:
    _item(ctx, pid)
    data, mime = seized.photo(get_settings(), pid, digest)
    return Response(data, media_type=mime, headers={"Cache-Control": "private, no-store"})


@router.get("/{pid}/label")
def print_label(pid: RowId, format: Literal["png", "pdf"] = "png", ctx: AccessContext = Depends(require("property:read"))) -> Response:
    """The item's label with its QR code (标签), to print as PNG or PDF."""
    settings = get_settings()
    it = _item(ctx, pid)
    first = seized.chain(settings, pid)
    data = label.render(it, first[0]["hash"] if first else "0" * 16, format)
    mime = "application/pdf" if format == "pdf" else "image/png"
    return Response(data, media_type=mime, headers={"Content-Disposition": f'inline; filename="{it["number"]}.{format}"'})


@router.post("/{pid}/requests")
def ask(pid: RowId, body: RequestIn, ctx: AccessContext = Depends(require("property:write"))) -> dict:
    """Ask for the item's return (发还) or disposal (处置): it waits for a second officer's approval."""
    _item(ctx, pid)
    return shown_all(seized.request(get_settings(), pid, body.kind, body.method, body.reason, ctx.user.username, body.recipient))


def _request_item(ctx: AccessContext, rid: int) -> dict:
    r = seized.request_row(get_settings(), rid)
    _item(ctx, r["property_id"])
    return r


@router.post("/requests/{rid}/decide")
def decide(rid: RowId, body: Decision, ctx: AccessContext = Depends(require("property:approve", person_data=False, audited=True))) -> dict:
    """Approve or reject (审批) an item of the approver's unit or those below it: never by the
    requester, the seizing officer or the case's handler."""
    settings = get_settings()
    r = seized.request_row(settings, rid)
    if not _in_reach(ctx, seized.item(settings, r["property_id"])["unit_code"]):
        ctx.refusal = "the item lies outside your unit's jurisdiction"
        raise HTTPException(403, ctx.refusal)
    ctx.audit("alter", [str(r["property_id"])], query=f"property request {rid} {'approved' if body.approve else 'rejected'}")
    return shown_all(seized.decide(settings, rid, body.approve, ctx.user.username, body.note, _handler_of))


@router.post("/requests/{rid}/execute")
def execute(rid: RowId, ctx: AccessContext = Depends(require("property:write"))) -> dict:
    """Carry out an approved request: the chain's final entry (发还 / 处置)."""
    _request_item(ctx, rid)
    row = seized.execute(get_settings(), rid, ctx.user.username, unit=ctx.user.unit, purpose=ctx.purpose)
    return {"n": row["n"], "hash": row["hash"], "action": row["action"]}


def register(app: FastAPI) -> None:
    app.include_router(router)
