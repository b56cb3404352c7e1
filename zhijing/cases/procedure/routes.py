"""The case procedure's API (/api/procedure). A handler works a case under the case itself as
purpose (``case:<case id>``, or the 专案 it is linked to); an approver approves what is asked
of him without being assigned (审批 is his duty, and the guard audits it); 法制 and 督察 read
the procedure and the supervision flags without a purpose — never persons' files, which stay
behind the person routes' purpose check unless they are assigned. A step the rules refuse
answers 422 with the rule it breaks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime, BaseModel, Field

from zhijing.access.guard import AccessContext, require
from zhijing.cases import seized
from zhijing.cases.procedure import deadlines, documents, service, store, supervision
from zhijing.cases.procedure.rules import load
from zhijing.config import get_settings
from zhijing.localtime import shown_all

router = APIRouter(prefix="/api/procedure", tags=["procedure"])
CaseId = Annotated[str, Path(min_length=10, max_length=32, pattern=r"^[A-Z]{2}\d{8,30}$")]
RowId = Annotated[int, Path(ge=1, lt=2**62)]
Text = Annotated[str, Field(max_length=64)]


class NewCase(BaseModel):
    kind: Literal["criminal", "administrative"]
    title: str = Field(..., min_length=1, max_length=256)
    category: str = Field("", max_length=32)
    summary: str = Field("", max_length=2000)
    persons: list[Text] = Field(default_factory=list, max_length=50)
    reason: str = Field(..., min_length=1, max_length=200)  # the purpose of the step, kept on it and in the audit trail
    workspace_ref: str | None = Field(None, max_length=64, pattern=r"^case:[\w-]+$")


class Ask(BaseModel):
    action: str = Field(..., min_length=1, max_length=16)
    person: Text = ""
    condition: Text = ""
    reason: str = Field(..., min_length=1, max_length=200)
    at: AwareDatetime | None = None  # when a step needing no approval happened (within the rules' grace); default now


class Approval(BaseModel):
    decision_ref: Text = ""  # the procuratorate's decision number, where it decides


class Issue(BaseModel):
    kind: str = Field(..., min_length=1, max_length=16)
    person: Text = ""


def _auditor(ctx: AccessContext):
    def audit(operation: str, records: list[str], query: str) -> None:
        ctx.audit(operation, records, query)

    return audit


def _the_case(ctx: AccessContext, case_id: str) -> dict:
    """The case, which must be the purpose the request runs under (its own or its 专案's)."""
    detail = store.case_detail(get_settings(), case_id)
    if detail is None:
        raise HTTPException(404, "no such case")
    if ctx.purpose not in (service.purpose_of(case_id), detail["case"]["workspace_ref"]):
        ctx.refusal = "the purpose must be this case"
        raise HTTPException(403, ctx.refusal)
    return detail


def _with_countdowns(detail: dict) -> dict:
    rules, now = load(), datetime.now(UTC)
    for lim in detail["limits"]:
        cd = deadlines.countdown(lim["due_at"], rules.limits[lim["name"]].warn_hours, now, lim["stopped_at"])
        lim |= {"countdown": cd.state, "seconds_left": cd.seconds_left, "articles": rules.limits[lim["name"]].articles}
    kind = rules.machines[detail["case"]["kind"]]
    detail["labels"] = {"states": kind.states, "measures": kind.measures.states}
    detail["next"] = {"case": [a for a, x in kind.case.items() if detail["case"]["state"] in x.from_],
                      "measures": {m["person"]: [a for a, x in kind.measures.actions.items() if m["state"] in x.from_]
                                   for m in detail["measures"]},
                      "measure_start": [a for a, x in kind.measures.actions.items() if kind.measures.initial in x.from_]
                      if detail["case"]["state"] in kind.measures.while_ else []}  # fmt: skip
    return detail


@router.get("/rules")
def rules_file(ctx: AccessContext = Depends(require("procedure:rules", person_data=False))) -> dict:
    """The rules as data (states, transitions, approvers, documents, limits with their articles)."""
    return load().model_dump(by_alias=True)


@router.post("/cases")
def open_case(body: NewCase, ctx: AccessContext = Depends(require("procedure:open", person_data=False, audited=True))) -> dict:
    case_id = service.open_case(get_settings(), kind=body.kind, title=body.title, unit_code=ctx.user.unit, handler=ctx.user.username,
                                purpose=body.reason, audit=_auditor(ctx), category=body.category, persons=body.persons,
                                facts={"summary": body.summary}, workspace_ref=body.workspace_ref)  # fmt: skip
    return {"id": case_id, "purpose": body.workspace_ref or service.purpose_of(case_id)}


@router.get("/cases")
def my_cases(limit: int = Query(100, ge=1, le=500),
             ctx: AccessContext = Depends(require("procedure:list", person_data=False))) -> dict:  # fmt: skip
    """The caller's cases (as handler), newest first; no person is named."""
    rows = store.case_rows(get_settings(), store.cases_t.c.handler == ctx.user.username, limit)
    return shown_all({"cases": [{k: r[k] for k in ("id", "kind", "title", "category", "state", "opened_at", "last_at", "closed_at",
                                                    "workspace_ref")} for r in rows]})  # fmt: skip


@router.get("/cases/{case_id}")
def case(case_id: CaseId, ctx: AccessContext = Depends(require("procedure:read"))) -> dict:
    detail = _with_countdowns(_the_case(ctx, case_id))
    ctx.audit("consult", [m["person"] for m in detail["measures"]], f"procedure {case_id}")
    detail["pending"] = service.pending_for(get_settings(), case_id)
    return detail


@router.post("/cases/{case_id}/requests")
def ask(case_id: CaseId, body: Ask, ctx: AccessContext = Depends(require("procedure:write"))) -> dict:
    """呈请 a step (taken at once when it needs no approval)."""
    _the_case(ctx, case_id)
    return service.request(get_settings(), case_id, body.action, actor=ctx.user.username, purpose=body.reason,
                           audit=_auditor(ctx), person=body.person, condition=body.condition, at=body.at)  # fmt: skip


@router.get("/deadlines")
def my_deadlines(ctx: AccessContext = Depends(require("procedure:list", person_data=False))) -> dict:
    """The caller's running time limits, soonest first, with their countdown (warning before the
    lapse, lapsed after it); persons are not named here."""
    mine = store.deadlines_by_officer(get_settings()).get(ctx.user.username, [])
    return shown_all({"deadlines": [{k: d[k] for k in ("case_id", "limit", "due_at", "state", "seconds_left")} for d in mine]})


@router.get("/requests")
def awaiting(limit: int = Query(100, ge=1, le=500),
             ctx: AccessContext = Depends(require("procedure:approve", person_data=False, audited=True))) -> dict:  # fmt: skip
    """What awaits an approver: the requests of cases of his unit and the units below it."""
    prefix = ctx.user.unit
    while prefix.endswith("00") and len(prefix) > 2:  # 330212000000 → 330212: the branch and its stations
        prefix = prefix[:-2]
    return {"requests": service.pending_for(get_settings(), unit_prefix=prefix, limit=limit)}


@router.post("/requests/{request_id}/approve")
def approve(request_id: RowId, body: Approval,
            ctx: AccessContext = Depends(require("procedure:approve", person_data=False, audited=True))) -> dict:  # fmt: skip
    """审批: the caller approves; the rules check his rank and that he is not the case's handler."""
    return service.approve(get_settings(), request_id, approver=ctx.user.username, audit=_auditor(ctx), decision_ref=body.decision_ref)


@router.post("/cases/{case_id}/documents")
def issue(case_id: CaseId, body: Issue, ctx: AccessContext = Depends(require("procedure:write"))) -> dict:
    _the_case(ctx, case_id)
    doc = documents.issue(get_settings(), case_id, body.kind, by=ctx.user.username, person=body.person)
    ctx.audit("alter", [body.person] if body.person else [], f"procedure {case_id} document {doc['number']} v{doc['version']}")
    return doc


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document(doc_id: RowId, ctx: AccessContext = Depends(require("procedure:read"))) -> HTMLResponse:
    """The document, watermarked with the viewer and the time."""
    settings = get_settings()
    meta, html = documents.view(settings, doc_id, ctx.user.username, ctx.purpose)
    _the_case(ctx, meta["case_id"])
    ctx.audit("consult", [meta["person"]] if meta["person"] else [], f"procedure document {meta['number']} v{meta['version']}")
    return HTMLResponse(html, headers={"X-Document-Verified": str(documents.verify(settings, doc_id)).lower()})


@router.get("/supervision/flags")
def flags(department: Literal["法制", "督察"] | None = None, limit: int = Query(500, ge=1, le=5000),
          ctx: AccessContext = Depends(require("supervision:read", person_data=False, audited=True))) -> dict:  # fmt: skip
    """The last supervision run's findings, each with its evidence."""
    return {"flags": supervision.latest_flags(get_settings(), department, limit=limit)}


@router.post("/supervision/run")
def run(ctx: AccessContext = Depends(require("supervision:run", person_data=False, audited=True))) -> dict:
    return supervision.run(get_settings(), property_flags=seized.flags)


@router.get("/supervision/cases/{case_id}")
def supervised(case_id: CaseId, ctx: AccessContext = Depends(require("supervision:read", person_data=False, audited=True))) -> dict:
    """The procedure of a case as a supervisor reads it: steps, limits, documents' index, flags."""
    detail = store.case_detail(get_settings(), case_id)
    if detail is None:
        raise HTTPException(404, "no such case")
    ctx.audit("consult", [], f"supervision reads procedure {case_id}")
    return {**_with_countdowns(detail), "flags": supervision.latest_flags(get_settings(), case_id=case_id)}


def register(app: FastAPI) -> None:
    app.include_router(router)
