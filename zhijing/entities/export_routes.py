"""Exports of a person file (DESIGN.md §2.4, §2.8): masked like the API, watermarked, with
a stated reason, and — above the configured size or grade — a second officer's approval
(双人审批) before the one download. Every step is an audit event:

- ``POST /api/exports`` {master_id, reason}: the request (``pending`` or ``ready``);
- ``POST /api/exports/{id}/approve``: another officer who may approve, under the same purpose;
- ``POST /api/exports/{id}/reject`` {reason}: the same officer's refusal, with a stated reason;
- ``GET /api/exports/{id}/download``: the requester, once, under the same purpose;
- ``GET /api/persons/{id}/export?reason=…``: request and download at once, when no
  approval is needed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from zhijing.access import exports
from zhijing.access.guard import AccessContext, require
from zhijing.access.masking import watermarked_csv
from zhijing.access.models import CLEARANCE
from zhijing.config import get_settings
from zhijing.entities.routes import GRADES, masked_file, record_grades
from zhijing.errors import AccessDenied, ZhijingError

router = APIRouter(tags=["exports"])
COLUMNS = ["section", "element", "value", "dataset", "record_id", "summary", "sources", "first_seen", "last_seen"]
GRADE_OF_LEVEL = {v: k for k, v in CLEARANCE.items()}
NEEDS_APPROVAL = "this export needs a second officer's approval (双人审批): request {id} awaits it"


def disclosed_grade(clearance: int, f: dict[str, Any]) -> str:
    """The highest grade of any value the export shows unmasked to this clearance."""
    levels = [CLEARANCE[GRADES.get(k, "internal")] for k, vals in f["facts"].items() if vals]
    for r in f["records"]:
        levels += [CLEARANCE[g] for k, g in record_grades(r["dataset"])[0].items() if r.get(k)]
    return GRADE_OF_LEVEL[max((lvl for lvl in levels if lvl <= clearance), default=0)]


def export_rows(ctx: AccessContext, master_id: str, what: str) -> tuple[list[dict], str]:
    """The export's rows — facts with provenance, then linked records, masked like the API
    (need to know checked, the read audited) — and the grade they disclose."""
    f = masked_file(ctx, master_id, what)
    rows = [{"section": "fact", "element": k, "value": v["value"], "dataset": " ".join(v["datasets"]), "record_id": v["record"],
             "sources": v["sources"], "first_seen": v["first_seen"], "last_seen": v["last_seen"]}
            for k, vals in f["facts"].items() for v in vals]  # fmt: skip
    rows += [{"section": "record", **r} for r in f["records"]]
    return rows, disclosed_grade(ctx.user.clearance, f)


def _request(ctx: AccessContext, master_id: str, reason: str | None) -> tuple[dict, list[dict]]:
    try:
        reason = exports.stated(reason)
    except ZhijingError as exc:
        raise ctx.refuse([master_id], str(exc), 422) from None
    rows, grade = export_rows(ctx, master_id, "export request")
    req = exports.create(get_settings(), ctx.user.username, master_id, ctx.purpose, reason, len(rows), grade)
    state = "awaits approval" if req["needs_approval"] else "ready"
    ctx.audit("consult", query=f"export request {req['id']}: {len(rows)} rows, grade {grade}, {state}; reason {req['reason'][:120]}")
    return req, rows


def _csv(ctx: AccessContext, req: dict, rows: list[dict]) -> Response:
    """The one download of a ready request, audited as a disclosure naming the request and its approval."""
    text, export_id = watermarked_csv(rows, COLUMNS, ctx.user.username, ctx.purpose)
    exports.mark(get_settings(), req["id"], export_id)
    approval = f"approved by {req['approved_by']}" if req.get("approved_by") else (
        "approval required" if req["needs_approval"] else "approval not required")  # fmt: skip
    ctx.audit("disclose", query=f"person file export {export_id} request {req['id']} {approval}")
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{req["master_id"]}.csv"', "X-Export-Id": export_id,
                             "X-Export-Request": req["id"]})  # fmt: skip


def _taken(ctx: AccessContext, request_id: str) -> dict:
    try:
        return exports.take(get_settings(), request_id, ctx.user.username, ctx.purpose)
    except exports.NotFound as exc:
        raise ctx.refuse([], str(exc), 404) from None
    except AccessDenied as exc:
        raise ctx.refuse([], str(exc)) from None


@router.get("/api/persons/{master_id}/export")
def person_export(master_id: str, reason: str | None = Query(None, description="导出事由 (the stated reason)"),
                  ctx: AccessContext = Depends(require("person:export"))) -> Response:  # fmt: skip
    """The person file as a watermarked CSV at once — when the export needs no approval."""
    req, rows = _request(ctx, master_id, reason)
    if req["needs_approval"]:
        raise ctx.refuse([], NEEDS_APPROVAL.format(id=req["id"]))
    return _csv(ctx, _taken(ctx, req["id"]), rows)


class ExportRequest(BaseModel):
    master_id: str
    reason: str


@router.post("/api/exports")
def request_export(body: ExportRequest, ctx: AccessContext = Depends(require("person:export"))) -> dict[str, Any]:
    req, _ = _request(ctx, body.master_id, body.reason)
    return _public(req)


@router.get("/api/exports")
def list_exports(ctx: AccessContext = Depends(require("person:read"))) -> dict[str, Any]:
    """Under the stated purpose: one's own export requests and, for approvers, those awaiting approval."""
    found = exports.listed(get_settings(), ctx.user.username, ctx.purpose, "approver" in ctx.user.roles)
    ctx.audit("consult", [r["master_id"] for r in found], query="export requests")
    return {"requests": [_public(r) for r in found]}


@router.post("/api/exports/{request_id}/approve")
def approve_export(request_id: str, ctx: AccessContext = Depends(require("person:approve"))) -> dict[str, Any]:
    """The second officer's approval: someone else, allowed to approve, who may see the person under the same purpose."""
    s = get_settings()
    req = exports.get(s, request_id)
    if req is None or req["status"] != "pending":
        raise ctx.refuse([], "no pending export request with this id", 404)
    if req["purpose"] != ctx.purpose:
        raise ctx.refuse([req["master_id"]], "approve under the purpose the export was requested for")
    masked_file(ctx, req["master_id"], "export approval")  # the approver may see the person, and has
    try:
        req = exports.approve(s, request_id, ctx.user.username)
    except AccessDenied as exc:
        raise ctx.refuse([], str(exc)) from None
    except exports.NotFound as exc:
        raise ctx.refuse([], str(exc), 404) from None
    ctx.audit("alter", query=f"export approve {request_id} requested by {req['requested_by']}")
    return _public(req)


class Rejection(BaseModel):
    reason: str


@router.post("/api/exports/{request_id}/reject")
def reject_export(request_id: str, body: Rejection, ctx: AccessContext = Depends(require("person:approve"))) -> dict[str, Any]:
    """The second officer's refusal, with a stated reason: someone else, allowed to approve, under the same purpose."""
    req = exports.get(get_settings(), request_id)
    if req is None or req["status"] != "pending":
        raise ctx.refuse([], "no pending export request with this id", 404)
    if req["purpose"] != ctx.purpose:
        raise ctx.refuse([req["master_id"]], "decide under the purpose the export was requested for")
    try:
        req = exports.reject(get_settings(), request_id, ctx.user.username, body.reason)
    except AccessDenied as exc:
        raise ctx.refuse([], str(exc)) from None
    except exports.NotFound as exc:
        raise ctx.refuse([], str(exc), 404) from None
    except ZhijingError as exc:
        raise ctx.refuse([], str(exc), 422) from None
    ctx.audit("alter", query=f"export reject {request_id} requested by {req['requested_by']}; reason {req['reject_reason'][:120]}")
    return _public(req)


@router.get("/api/exports/{request_id}/download")
def download_export(request_id: str, ctx: AccessContext = Depends(require("person:export"))) -> Response:
    req = _taken(ctx, request_id)
    try:
        rows, grade = export_rows(ctx, req["master_id"], "person file export")
    except Exception:
        exports.release(get_settings(), request_id)
        raise
    if exports.needs_approval(get_settings(), len(rows), grade) and not req["approved_by"]:
        raise ctx.refuse([], "the file grew past what needs no approval: request the export again")
    return _csv(ctx, req, rows)


def _public(req: dict) -> dict[str, Any]:
    return {k: req.get(k) for k in ("id", "master_id", "purpose", "reason", "requested_by", "requested_at", "rows", "grade",
                                "needs_approval", "status", "approved_by", "approved_at", "rejected_by", "rejected_at", "reject_reason")}  # fmt: skip
