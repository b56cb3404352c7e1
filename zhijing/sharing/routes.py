"""The contracts API (``/api/sharing/contracts``): request, approve on each side, reject,
revoke, list, usage report; and what the catalog lists beside each dataset.

No person data: contracts are terms between the police and a department. Every route is
audited all the same (who approved which contract is the oversight's business). An outside
account sees its own department's contracts only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path
from pydantic import BaseModel, Field

from zhijing.access.guard import AccessContext, require
from zhijing.config import get_settings
from zhijing.errors import AccessDenied
from zhijing.localtime import in_zone, shown_fields
from zhijing.sharing import batch, contracts, subscribe, usage
from zhijing.sharing.contracts import EVENTS, FIELDS, SERVICES

router = APIRouter(prefix="/api/sharing", tags=["sharing"])
RowId = Annotated[int, Path(ge=1, lt=2**62, description="a row number (a hostile integer is a 422, never a 500)")]
TIMES = ("expires_at", "requested_at", "dept_approved_at", "police_approved_at", "throttled_until")
Name = Annotated[str, Field(min_length=1, max_length=64)]


class ContractRequest(BaseModel):
    title: str = Field(..., min_length=2, max_length=200, description="协议名称")
    department: str = Field(..., min_length=1, max_length=32, description="接收部门 (an outside department)")
    purpose: str = Field(..., min_length=2, max_length=1000, description="用途")
    legal_basis: str = Field(..., min_length=2, max_length=1000, description="法律依据")
    datasets: list[Name] = Field(..., min_length=1, max_length=20, description="资源目录中的数据集")
    fields: list[Name] = Field(default_factory=list, max_length=len(FIELDS), description=f"字段: {', '.join(FIELDS)}")
    services: list[Literal["verify", "query", "batch", "subscribe"]] = Field(..., min_length=1, max_length=4)
    events: list[Literal["death", "move_out", "vehicle_transfer"]] = Field(default_factory=list, max_length=3)
    daily_quota: int = Field(..., ge=1, le=10_000_000, description="每日限额 (persons asked about)")
    expires_at: str = Field(..., max_length=40, description="到期时间: ISO time (a wall time without offset is local)")
    dept_approver: Name = Field(..., description="部门审批人 (an approver of the department)")
    police_approver: Name = Field(..., description="公安审批人 (an officer with the approver role)")
    endpoint: str | None = Field(None, max_length=500, description="订阅推送地址 (http/https); none: pulled from the feed")


class Change(BaseModel):
    kind: Literal["death", "move_out", "vehicle_transfer"] = Field(..., description="死亡登记 / 户口迁出 / 机动车转移登记")
    citizen_id: str = Field(..., min_length=15, max_length=20)
    detail: dict[str, str] = Field(default_factory=dict, max_length=10, description="e.g. {to: district} or {plate: ...}")


class Closing(BaseModel):
    reason: str = Field(..., min_length=4, max_length=500)


def shown(c: contracts.Contract) -> dict:
    return shown_fields(c.as_dict(), *TIMES)


def _mine(ctx: AccessContext, contract_id: int) -> contracts.Contract:
    c = contracts.get(get_settings(), contract_id)
    if ctx.user.kind == "external" and c.department != ctx.user.department:
        raise HTTPException(404, "no such contract")  # another department's contract does not exist for this caller
    return c


@router.get("/terms")
def terms(_ctx: AccessContext = Depends(require("catalog:read", person_data=False))) -> dict:
    """What a contract can name: fields (with grade), services, events."""
    return {"fields": {k: {"title": f.title, "grade": f.grade} for k, f in FIELDS.items()}, "services": SERVICES, "events": EVENTS}


@router.get("/contracts")
def listed(ctx: AccessContext = Depends(require("sharing:list", person_data=False, audited=True))) -> dict:
    """Every contract (an outside account: its department's)."""
    dept = ctx.user.department if ctx.user.kind == "external" else None
    return {"contracts": [shown(c) for c in contracts.listed(get_settings(), dept)]}


@router.post("/contracts", status_code=201)
def request_contract(body: ContractRequest, ctx: AccessContext = Depends(require("sharing:request", person_data=False, audited=True))) -> dict:
    """Request a contract; it waits for the approver it names on each side."""
    try:
        expires = in_zone(body.expires_at)
    except ValueError:
        expires = None
    if expires is None:
        raise HTTPException(422, "expires_at: an ISO time is required, such as 2027-01-01T00:00")
    c = contracts.request(get_settings(), ctx.user.username, **body.model_dump(exclude={"expires_at"}), expires_at=expires)
    ctx.audit("alter", query=f"sharing contract {c.id} requested for {c.department}")
    return shown(c)


@router.get("/contracts/{contract_id}")
def one(contract_id: RowId, ctx: AccessContext = Depends(require("sharing:list", person_data=False, audited=True))) -> dict:
    """One contract with its usage report (calls, hits, refusals per day and service)."""
    c = _mine(ctx, contract_id)
    return {**shown(c), "usage": usage.report(get_settings(), c.id)}


@router.post("/contracts/{contract_id}/approve")
def approve(contract_id: RowId, ctx: AccessContext = Depends(require("sharing:approve", person_data=False, audited=True))) -> dict:
    """The named approver of one side approves; both sides approved, the contract is active."""
    _mine(ctx, contract_id)
    c = contracts.approve(get_settings(), contract_id, ctx.user.username)
    ctx.audit("alter", query=f"sharing contract {c.id} approved by {ctx.user.username} -> {c.state()}")
    return shown(c)


@router.post("/contracts/{contract_id}/{action}")
def close(contract_id: RowId, action: Literal["reject", "revoke"], body: Closing,
          ctx: AccessContext = Depends(require("sharing:approve", person_data=False, audited=True))) -> dict:  # fmt: skip
    """Reject a pending contract (a named approver) or revoke an active one (a police approver)."""
    _mine(ctx, contract_id)
    if action == "revoke" and ctx.user.kind == "external":
        raise AccessDenied("the police revoke a contract")
    c = contracts.close(get_settings(), contract_id, ctx.user.username, "rejected" if action == "reject" else "revoked", body.reason)
    ctx.audit("alter", query=f"sharing contract {c.id} {c.status} by {ctx.user.username}")
    return shown(c)


@router.get("/catalog")
def catalog(_ctx: AccessContext = Depends(require("catalog:read", person_data=False))) -> dict:
    """Dataset → the contracts (active or pending) that expose it, for the catalog's listing."""
    return {"datasets": contracts.by_dataset(get_settings())}


def _department(ctx: AccessContext) -> set[int] | None:
    """The contracts whose jobs and deliveries the caller sees (None: every one, for the police)."""
    if ctx.user.kind != "external":
        return None
    return {c.id for c in contracts.listed(get_settings(), ctx.user.department)}


@router.get("/jobs")
def jobs(ctx: AccessContext = Depends(require("sharing:list", person_data=False, audited=True))) -> dict:
    """Batch jobs with their progress (the console's list): no person data, only counts."""
    mine = _department(ctx)
    rows = [j for j in batch.listed(get_settings(), limit=500) if mine is None or j["contract_id"] in mine]
    return {"jobs": [shown_fields(j, "created_at", "finished_at", "purge_after") for j in rows]}


@router.get("/deliveries")
def deliveries(status: Literal["pending", "delivered", "failed"] | None = None,
               ctx: AccessContext = Depends(require("sharing:list", person_data=False, audited=True))) -> dict:  # fmt: skip
    """Subscription deliveries, failures with their last error (no person data: the change's number and kind)."""
    mine = _department(ctx)
    rows = [d for d in subscribe.listed(get_settings(), status=status) if mine is None or d["contract_id"] in mine]
    return {"deliveries": [shown_fields(d, "next_at", "lease_until", "created_at", "delivered_at") for d in rows]}


@router.post("/changes", status_code=201)
def record_change(body: Change, ctx: AccessContext = Depends(require("sharing:record", person_data=False, audited=True))) -> dict:
    """Register a change (户政 / 车管): it fans out to the contracts that subscribe to it."""
    seq, made = subscribe.record_and_fan_out(get_settings(), body.kind, body.citizen_id, body.detail, ctx.user.username)
    ctx.audit("collect", query=f"sharing change {seq} ({body.kind}) registered: {len(made)} deliveries")
    return {"seq": seq, "deliveries": made}


def register(app: FastAPI) -> None:
    app.include_router(router)

