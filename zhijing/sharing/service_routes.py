"""The services behind a contract (``/api/sharing/...``): verification (核查), query (查询),
batch comparison (比对) and subscription (订阅), for outside departments.

Every call names its contract as the purpose (``X-Purpose: contract:<id>``): the guard
refuses a contract expired, revoked or not the caller's department's; the contract's terms
(service, fields, quota, throttle) are applied in ``service``; every answer is audited as a
disclosure naming the persons, the fields and the contract (LED Art. 25), refusals too.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, Field

from zhijing.access.guard import AccessContext, require
from zhijing.config import get_settings
from zhijing.sharing import service
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


class Query(BaseModel):
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
def query(body: Query, ctx: AccessContext = Depends(require("sharing:query"))) -> dict:
    """查询: the contract's fields (or the subset asked) of the persons named, masked above the caller's clearance."""
    try:
        rows, masters = service.query(get_settings(), caller(ctx), ctx.purpose, body.citizen_ids, body.fields)
    except Refused as exc:
        raise refused(ctx, exc) from None
    fields = sorted({k for r in rows for k in r} - {"asked", "found", "error"})
    ctx.audit("disclose", masters, f"sharing query {ctx.purpose} fields {','.join(fields)} persons {len(body.citizen_ids)}")
    return {"rows": rows}


def register(app: FastAPI) -> None:
    app.include_router(router)
