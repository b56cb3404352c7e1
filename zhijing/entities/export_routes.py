"""Exports (DESIGN.md §2.4, §2.8) of a person file and of a case report: masked like the
API, watermarked, with a stated reason, and — above the configured size or grade — a second
officer's approval (双人审批) before the one download. Every step is an audit event:

- ``POST /api/exports`` {master_id | case_report, reason}: the request (``pending`` or ``ready``);
- ``POST /api/exports/{id}/approve``: another officer who may approve, under the same purpose;
- ``POST /api/exports/{id}/reject`` {reason}: the same officer's refusal, with a stated reason;
- ``GET /api/exports/{id}/download``: the requester, once, under the same purpose;
- ``GET /api/persons/{id}/export?reason=…`` (and ``GET /api/cases/{ref}/report?reason=…``):
  request and download at once, when no approval is needed.

What is exported is an export's *target*: a master id (the person file as CSV) or
``report:<case ref>`` (the case report); ``TARGETS`` says how each kind is prepared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Response
from pydantic import BaseModel, Field, model_validator

from zhijing.access import exports
from zhijing.access.guard import AccessContext, require
from zhijing.access.masking import watermarked_csv
from zhijing.access.models import CLEARANCE
from zhijing.config import get_settings
from zhijing.entities.routes import GRADES, masked_file, record_grades
from zhijing.errors import AccessDenied, ZhijingError
from zhijing.localtime import shown_fields

router = APIRouter(tags=["exports"])
COLUMNS = ["section", "element", "value", "dataset", "record_id", "summary", "sources", "first_seen", "last_seen"]
GRADE_OF_LEVEL = {v: k for k, v in CLEARANCE.items()}
NEEDS_APPROVAL = "this export needs a second officer's approval (双人审批): request {id} awaits it"


def shown_grade(clearance: int, grades: Iterable[str]) -> str:
    """The highest of ``grades`` a caller of ``clearance`` sees unmasked (masked values disclose nothing)."""
    return GRADE_OF_LEVEL[max((lvl for lvl in (CLEARANCE[g] for g in grades) if lvl <= clearance), default=0)]


def disclosed_grade(clearance: int, f: dict[str, Any]) -> str:
    """The highest grade of any value the export shows unmasked to this clearance."""
    grades = [GRADES.get(k, "internal") for k, vals in f["facts"].items() if vals]
    for r in f["records"]:
        grades += [g for k, g in record_grades(r["dataset"])[0].items() if r.get(k)]
    return shown_grade(clearance, grades)


Format = Literal["html", "pdf"]


@dataclass
class Prepared:
    """What an export discloses, read (need to know checked, the read audited) but not yet
    written: how many rows, the highest grade shown unmasked, the persons in it, and the
    writer of its watermarked file (format → body, export ID, media type, file name)."""

    rows: int
    grade: str
    persons: list[str]
    what: str
    write: Callable[[Format], tuple[str | bytes, str, str, str]]


def person_file(ctx: AccessContext, master_id: str, what: str) -> Prepared:
    """A person file as CSV: facts with provenance, then linked records, masked like the API."""
    f = masked_file(ctx, master_id, what)
    rows = [{"section": "fact", "element": k, "value": v["value"], "dataset": " ".join(v["datasets"]), "record_id": v["record"],
             "sources": v["sources"], "first_seen": v["first_seen"], "last_seen": v["last_seen"]}
            for k, vals in f["facts"].items() for v in vals]  # fmt: skip
    rows += [{"section": "record", **r} for r in f["records"]]

    def write(_: Format) -> tuple[str, str, str, str]:
        text, export_id = watermarked_csv(rows, COLUMNS, ctx.user.username, ctx.purpose)
        return text, export_id, "text/csv; charset=utf-8", f"{master_id}.csv"

    return Prepared(len(rows), disclosed_grade(ctx.user.clearance, f), [master_id], "person file", write)


REPORT = "report:"
TARGETS: dict[str, Callable[[AccessContext, str, str], Prepared]] = {}  # target prefix → its preparer; else a person file
KINDS: dict[str, str] = {REPORT: "case_report"}  # target prefix → the request's kind; else person_file
FTM_CASE, FTM_GRAPH = "ftm-case:", "ftm-graph:"  # FtM entity streams (entities.ftm_export): a case, a graph neighbourhood
KINDS.update({FTM_CASE: "ftm_case", FTM_GRAPH: "ftm_graph"})


def kind_of(target: str) -> str:
    return next((k for prefix, k in KINDS.items() if target.startswith(prefix)), "person_file")


def prepare(ctx: AccessContext, target: str, what: str) -> Prepared:
    for prefix, preparer in TARGETS.items():
        if target.startswith(prefix):
            return preparer(ctx, target.removeprefix(prefix), what)
    return person_file(ctx, target, what)


def _request(ctx: AccessContext, target: str, reason: str | None) -> tuple[dict, Prepared]:
    try:
        reason = exports.stated(reason)
    except ZhijingError as exc:
        raise ctx.refuse([], str(exc), 422) from None
    ready = prepare(ctx, target, "export request")
    req = exports.create(get_settings(), ctx.user.username, target, ctx.purpose, reason, ready.rows, ready.grade)
    state = "awaits approval" if req["needs_approval"] else "ready"
    ctx.audit("consult", query=f"export request {req['id']}: {ready.rows} rows, grade {ready.grade}, {state}; reason {req['reason'][:120]}")
    return req, ready


def _deliver(ctx: AccessContext, req: dict, ready: Prepared, fmt: Format) -> Response:
    """The one download of a ready request, audited as a disclosure of its persons naming the request and its approval."""
    body, export_id, media, filename = ready.write(fmt)
    exports.mark(get_settings(), req["id"], export_id)
    approval = f"approved by {req['approved_by']}" if req.get("approved_by") else (
        "approval required" if req["needs_approval"] else "approval not required")  # fmt: skip
    ctx.audit("disclose", ready.persons, query=f"{ready.what} export {export_id} request {req['id']} {approval}")
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                                     "X-Export-Id": export_id, "X-Export-Request": req["id"]})  # fmt: skip


def _taken(ctx: AccessContext, request_id: str) -> dict:
    try:
        return exports.take(get_settings(), request_id, ctx.user.username, ctx.purpose)
    except exports.NotFound as exc:
        raise ctx.refuse([], str(exc), 404) from None
    except AccessDenied as exc:
        raise ctx.refuse([], str(exc)) from None


def export_at_once(ctx: AccessContext, target: str, reason: str | None, fmt: Format = "html") -> Response:
    """Request and download at once — when the export needs no approval; else the request waits (403 naming it)."""
    req, ready = _request(ctx, target, reason)
    if req["needs_approval"]:
        raise ctx.refuse([], NEEDS_APPROVAL.format(id=req["id"]))
    return _deliver(ctx, _taken(ctx, req["id"]), ready, fmt)


@router.get("/api/persons/{master_id}/export")
def person_export(master_id: str, reason: str | None = Query(None, description="导出事由 (the stated reason)"),
                  ctx: AccessContext = Depends(require("person:export"))) -> Response:  # fmt: skip
    """The person file as a watermarked CSV at once — when the export needs no approval."""
    return export_at_once(ctx, master_id, reason)


class ExportRequest(BaseModel):
    master_id: str | None = None
    case_report: str | None = None  # a case's ref: the case report
    ftm_case: str | None = None  # a case's ref: its subjects and evidence as FtM entities
    ftm_graph: str | None = None  # a graph subject (kind:key): its neighbourhood as FtM entities
    hops: int = Field(2, ge=1, le=3)  # of ftm_graph
    reason: str

    @model_validator(mode="after")
    def _one_target(self) -> ExportRequest:
        if sum(x is not None for x in (self.master_id, self.case_report, self.ftm_case, self.ftm_graph)) != 1:
            raise ValueError("name one thing to export: master_id, case_report, ftm_case or ftm_graph")
        return self

    @property
    def target(self) -> str:
        if self.master_id is not None:
            return self.master_id
        if self.case_report is not None:
            return REPORT + self.case_report
        if self.ftm_case is not None:
            return FTM_CASE + self.ftm_case
        return f"{FTM_GRAPH}{self.hops}:{self.ftm_graph}"


@router.post("/api/exports")
def request_export(body: ExportRequest, ctx: AccessContext = Depends(require("person:export"))) -> dict[str, Any]:
    req, _ = _request(ctx, body.target, body.reason)
    return _public(req)


@router.get("/api/exports")
def list_exports(ctx: AccessContext = Depends(require("person:read"))) -> dict[str, Any]:
    """Under the stated purpose: one's own export requests and, for approvers, those awaiting approval."""
    found = exports.listed(get_settings(), ctx.user.username, ctx.purpose, "approver" in ctx.user.roles)
    ctx.audit("consult", [r["master_id"] for r in found if kind_of(r["master_id"]) == "person_file"], query="export requests")
    return {"requests": [_public(r) for r in found]}


@router.get("/api/me/exports")
def my_exports(ctx: AccessContext = Depends(require("catalog:read", person_data=False, audited=True))) -> dict[str, Any]:
    """The caller's own export requests under every purpose, with their state (我的导出申请):
    a download or a decision is then taken under the request's own purpose."""
    found = exports.of_requester(get_settings(), ctx.user.username)
    ctx.audit("consult", [r["master_id"] for r in found if kind_of(r["master_id"]) == "person_file"], query="own export requests")
    return {"requests": [_public(r) for r in found]}


@router.get("/api/oversight/exports")
def all_exports(status: Literal["pending", "ready", "downloaded", "rejected"] | None = None,
                ctx: AccessContext = Depends(require("oversight:read", person_data=False, audited=True))) -> dict[str, Any]:  # fmt: skip
    """Every export request under every purpose, read-only, for 督察 (oversight reads, never decides)."""
    found = exports.every(get_settings(), status)
    ctx.audit("consult", [r["master_id"] for r in found if kind_of(r["master_id"]) == "person_file"], query="export requests (oversight)")
    return {"requests": [_public(r) for r in found]}


@router.post("/api/exports/{request_id}/approve")
def approve_export(request_id: str, ctx: AccessContext = Depends(require("person:approve"))) -> dict[str, Any]:
    """The second officer's approval: someone else, allowed to approve, who may see what is exported under the same purpose."""
    s = get_settings()
    req = exports.get(s, request_id)
    if req is None or req["status"] != "pending":
        raise ctx.refuse([], "no pending export request with this id", 404)
    if req["purpose"] != ctx.purpose:
        raise ctx.refuse([req["master_id"]], "approve under the purpose the export was requested for")
    prepare(ctx, req["master_id"], "export approval")  # the approver may see what is exported, and has
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
def download_export(request_id: str, format: Format = Query("html", description="a case report's format (a person file is CSV)"),
                    ctx: AccessContext = Depends(require("person:export"))) -> Response:  # fmt: skip
    req = _taken(ctx, request_id)
    try:
        ready = prepare(ctx, req["master_id"], f"{kind_of(req['master_id']).replace('_', ' ')} export")
        if exports.needs_approval(get_settings(), ready.rows, ready.grade) and not req["approved_by"]:
            raise ctx.refuse([], "the export grew past what needs no approval: request it again")
        return _deliver(ctx, req, ready, format)
    except Exception:
        exports.release(get_settings(), request_id)
        raise


def _public(req: dict) -> dict[str, Any]:
    """A request as the API shows it (its times in the deployment's zone)."""
    return {"kind": kind_of(req["master_id"]), **shown_fields({k: req.get(k) for k in ("id", "master_id", "purpose", "reason", "requested_by",
                                          "requested_at", "rows", "grade", "needs_approval", "status", "approved_by", "approved_at",
                                          "rejected_by", "rejected_at", "reject_reason")}, "requested_at", "approved_at", "rejected_at")}  # fmt: skip


def register(app: FastAPI) -> None:
    app.include_router(router)
