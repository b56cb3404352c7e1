"""The services behind a contract (``/api/sharing/...``): verification (核查), query (查询),
batch comparison (比对) and subscription (订阅), for outside departments.

Every call names its contract as the purpose (``X-Purpose: contract:<id>``): the guard
refuses a contract expired, revoked or not the caller's department's; the contract's terms
(service, fields, quota, throttle) are applied in ``service``; every answer is audited as a
disclosure naming the persons, the fields and the contract (LED Art. 25), refusals too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, File, HTTPException, Path, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from zhijing.access.audit import AuditEvent, append
from zhijing.access.guard import AccessContext, require
from zhijing.config import get_settings
from zhijing.errors import ZhijingError
from zhijing.localtime import shown_fields
from zhijing.sharing import batch, service, subscribe
from zhijing.sharing.service import MAX_QUERY, Caller, Refused

router = APIRouter(prefix="/api/sharing", tags=["sharing"])


class Verification(BaseModel):
    name: str = Field(..., min_length=1, max_length=64, description="姓名")
    citizen_id: str = Field(..., min_length=1, max_length=40, description="公民身份号码")
    attributes: dict[str, str] = Field(default_factory=dict, max_length=4,
                                       description="optional: sex, birth_date, phone, district (each must be in the contract)")


class VerifyAnswer(BaseModel):
    match: bool = Field(..., description="all stated attributes match a living person")
    differs: list[str] = Field(..., description="the attributes that differ (citizen_id: nobody has this ID; living: a death is registered)")


RowId = Annotated[int, Path(ge=1, lt=2**62, description="a row number (a hostile integer is a 422, never a 500)")]
AUDIT_CHUNK = 10_000  # persons named by one audit event of a batch result's disclosure
JOB_TIMES = ("created_at", "finished_at", "purge_after")


class Persons(BaseModel):
    citizen_ids: list[str] = Field(..., min_length=1, max_length=subscribe.MAX_SUBSCRIBED)


class Lookup(BaseModel):
    citizen_ids: list[str] = Field(..., min_length=1, max_length=MAX_QUERY)
    fields: list[str] | None = Field(None, max_length=20, description="a subset of the contract's fields (default: all of them)")


def caller(ctx: AccessContext) -> Caller:
    return Caller(ctx.user.username, ctx.user.department, ctx.user.clearance)


def refused(ctx: AccessContext, exc: Refused, records: list[str] | None = None):
    return ctx.refuse(records or [], str(exc), exc.status)


@router.post("/verify", response_model=VerifyAnswer)
def verify(body: Verification, ctx: AccessContext = Depends(require("sharing:verify"))) -> VerifyAnswer:
    """核查: do this name and citizen ID (and the attributes stated) match a living person? Yes, or
    no and which attributes differ — nothing else."""
    try:
        result, master = service.verify(get_settings(), caller(ctx), ctx.purpose, body.name, body.citizen_id, body.attributes)
    except Refused as exc:
        raise refused(ctx, exc) from None
    stated = ",".join(["name", "citizen_id", *sorted(body.attributes)])
    ctx.audit("disclose", [master] if master else [],
              f"sharing verify {ctx.purpose} stated {stated} -> {'match' if result.match else 'differs ' + ','.join(result.differs)}")
    return VerifyAnswer(match=result.match, differs=result.differs)


@router.post("/query")
def query(body: Lookup, ctx: AccessContext = Depends(require("sharing:query"))) -> dict:
    """查询: the contract's fields (or the subset asked) of the persons named, masked above the caller's clearance."""
    try:
        rows, masters = service.query(get_settings(), caller(ctx), ctx.purpose, body.citizen_ids, body.fields)
    except Refused as exc:
        raise refused(ctx, exc) from None
    fields = sorted({k for r in rows for k in r} - {"asked", "found", "error"})
    ctx.audit("disclose", masters, f"sharing query {ctx.purpose} fields {','.join(fields)} persons {len(body.citizen_ids)}")
    return {"rows": rows}


def _job(ctx: AccessContext, job_id: int, contract_id: int) -> dict:
    job = batch.get(get_settings(), job_id)
    if job["contract_id"] != contract_id:
        raise ctx.refuse([], "this job belongs to another contract", 404)
    return shown_fields(job, *JOB_TIMES)


def _usable(ctx: AccessContext, service_name: str):
    try:
        return service.usable(get_settings(), caller(ctx), ctx.purpose, service_name)
    except Refused as exc:
        raise refused(ctx, exc) from None


@router.post("/batch", status_code=202)
def batch_upload(file: UploadFile = File(..., description="CSV or Excel (.xlsx): a header row with 姓名 and 公民身份号码"),
                 ctx: AccessContext = Depends(require("sharing:batch"))) -> dict:  # fmt: skip
    """比对: upload a list; a background job compares it (progress at ``GET /api/sharing/batch/{id}``).
    A bad file is refused with one line and nothing of it is kept."""
    settings = get_settings()
    c = _usable(ctx, "batch")

    def chunks():
        while data := file.file.read(1 << 20):
            yield data

    try:
        job = batch.accept(settings, c, caller(ctx), file.filename or "upload.csv", chunks())
    except ZhijingError as exc:
        raise ctx.refuse([], str(exc), 422) from None
    ctx.audit("collect", query=f"sharing batch {job['id']} uploaded under {c.ref}")
    batch.start(settings, job["id"])
    return shown_fields(job, *JOB_TIMES)


@router.get("/batch")
def batch_jobs(ctx: AccessContext = Depends(require("sharing:batch"))) -> dict:
    """The contract's batch jobs with their progress."""
    c = _usable(ctx, "batch")
    return {"jobs": [shown_fields(j, *JOB_TIMES) for j in batch.listed(get_settings(), c.id)]}


@router.get("/batch/{job_id}")
def batch_job(job_id: RowId, ctx: AccessContext = Depends(require("sharing:batch"))) -> dict:
    """One job: status, rows, rows done, matched, the failure's one line."""
    return _job(ctx, job_id, _usable(ctx, "batch").id)


@router.get("/batch/{job_id}/result", response_class=FileResponse)
def batch_result(job_id: RowId, ctx: AccessContext = Depends(require("sharing:batch"))) -> FileResponse:
    """The result file (CSV: match flags and the contract's fields, watermarked); its
    download is the disclosure, audited with every person it names."""
    settings = get_settings()
    c = _usable(ctx, "batch")
    _job(ctx, job_id, c.id)
    try:
        path, masters = batch.result(settings, job_id)
    except ZhijingError as exc:
        raise HTTPException(409 if "job is" in str(exc) else 404, str(exc)) from None
    for i in range(0, len(masters), AUDIT_CHUNK):
        append(AuditEvent(actor=ctx.user.username, unit=ctx.user.unit, operation="disclose", outcome="allowed", purpose=c.ref,
                          records=masters[i:i + AUDIT_CHUNK], client=ctx.client,
                          query=f"sharing batch {job_id} result part {i // AUDIT_CHUNK + 1}"), settings)  # fmt: skip
    ctx.audit("disclose", query=f"sharing batch {job_id} result: {len(masters)} persons fields {','.join(c.fields)}")
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=f"bidui-{job_id}.csv")


@router.post("/subscriptions")
def subscribe_persons(body: Persons, ctx: AccessContext = Depends(require("sharing:subscribe"))) -> dict:
    """订阅: name the persons whose changes (the contract's events) the department receives. ``refs``
    gives each person's reference, in the order asked: every change about them carries it."""
    settings = get_settings()
    c = _usable(ctx, "subscribe")
    try:
        service.spend(settings, c, "subscribe", len(body.citizen_ids))
        added, refs = subscribe.add_persons(settings, c.id, body.citizen_ids)
    except Refused as exc:
        raise refused(ctx, exc) from None
    except ZhijingError as exc:
        raise ctx.refuse([], str(exc), 422) from None
    service.meter(settings).count(settings, c.id, "subscribe", calls=len(body.citizen_ids))
    ctx.audit("collect", query=f"sharing subscribe {c.ref}: {added} persons named")
    return {"added": added, "refs": refs, "persons": subscribe.count_persons(settings, c.id), "events": list(c.events),
            "delivery": "push" if c.endpoint else "feed"}


@router.get("/feed")
def feed(after: int = Query(0, ge=0, lt=2**62, description="the last sequence number received"),
         limit: int = Query(100, ge=1, le=1000), ctx: AccessContext = Depends(require("sharing:subscribe"))) -> dict:  # fmt: skip
    """The contract's changes after ``after`` (pull): its events, its named persons."""
    settings = get_settings()
    c = _usable(ctx, "subscribe")
    rows = subscribe.feed(settings, c, after, limit)
    masters = service.by_citizen_id(settings, [r["citizen_id"] for r in rows]) if rows else {}
    ctx.audit("disclose", [masters.get(r["citizen_id"], {}).get("master_id") or r["citizen_id"] for r in rows],
              f"sharing feed {c.ref} after {after}: {len(rows)} changes")
    service.meter(settings).count(settings, c.id, "subscribe", hits=len(rows))
    return {"changes": [shown_fields(r, "recorded_at") for r in rows], "next": rows[-1]["seq"] if rows else after}


def register(app: FastAPI) -> None:
    app.include_router(router)
