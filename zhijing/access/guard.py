"""The access guard every route declares (DESIGN.md §2): identity → purpose → policy →
audit, in one dependency.

``Depends(require("person:read"))`` on a route means: a valid token, a usable purpose
(``X-Purpose`` header or ``purpose`` query), a policy decision, and an audit event for the
request whatever its outcome (refusals too). ``person_data=False`` routes still need a
token unless the permission is ``public:*`` — public is a declaration, never an absence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi import Header, HTTPException, Query, Request

from zhijing.access import grants, masking, models, policy, scope, tokens
from zhijing.access import purpose as purposes
from zhijing.access.audit import AuditEvent, append
from zhijing.config import get_settings
from zhijing.errors import AccessDenied

OUTSIDE = "this person is outside your jurisdiction and not named by the purpose"
OPERATION_OF = {"read": "consult", "search": "consult", "list": "consult", "export": "disclose", "judge": "alter", "push": "collect",
                "write": "alter", "close": "alter", "combine": "combine", "erase": "erase", "approve": "alter"}  # fmt: skip


@dataclass
class User:
    username: str
    name: str
    unit: str
    department: str
    roles: tuple[str, ...]
    clearance: int
    kind: str
    household_id: str | None = None


@dataclass
class AccessContext:
    permission: str
    user: User | None
    purpose: str | None
    purpose_kind: str = ""
    client: str | None = None
    records: list[str] = field(default_factory=list)
    query: str | None = None
    subjects: tuple[str, ...] = ()  # the persons the purpose names
    refusal: str | None = None  # set when the route refuses a record after the request passed
    assigned: bool = False  # assigned to the purpose (not only supervising the unit that holds it)

    def audit(self, operation: str, records: list[str] | None = None, query: str | None = None, outcome: str = "allowed") -> None:
        """Note what the route touched; the guard writes one event when the request ends."""
        self.records.extend(records or [])
        if query:
            self.query = query
        if operation:
            self._operation = operation

    def mask(self, record: dict, field_grades: dict[str, str], kinds: dict[str, str] | None = None) -> dict:
        return masking.mask(record, field_grades, self.user.clearance if self.user else 0, kinds)

    def may_see(self, master_id: str, places: list[str | None]) -> bool:
        """Need to know for one person: the policy's ``person:record`` rules."""
        return record_visible(self.user, self.purpose_kind, self.subjects, master_id, places, self.assigned)

    def require_visible(self, master_id: str, places: list[str | None]) -> None:
        """Refuse (403, audited as a refusal naming the record) a person outside the caller's need to know."""
        if not self.may_see(master_id, places):
            raise self.refuse([master_id], OUTSIDE)

    def refuse(self, records: list[str], reason: str, status: int = 403) -> HTTPException:
        """The exception refusing ``records`` after the request passed; the guard audits it
        as a refusal naming them."""
        self.records.extend(records)
        self.refusal = reason
        return HTTPException(status_code=status, detail=reason)

    @property
    def operation(self) -> str:
        return getattr(self, "_operation", OPERATION_OF.get(self.permission.split(":")[-1], "consult"))


def load_user(settings, username: str) -> User:
    with models.engine(settings).connect() as conn:
        u = conn.execute(sa.select(models.users).where(models.users.c.username == username)).first()
    if u is None or not u.active:
        raise AccessDenied("unknown or inactive user")
    return User(u.username, u.name, u.unit_code, u.department, tuple(r for r in u.roles.split(",") if r), u.clearance,
                u.kind, u.household_id)  # fmt: skip


def subject(user: User) -> policy.Subject:
    return policy.Subject(user.username, user.unit, user.department, user.clearance, True,
                          "admin" in user.roles, "auditor" in user.roles, user.kind == "external",
                          "approver" in user.roles)  # fmt: skip


def record_visible(user: User, purpose_kind: str, subjects: tuple[str, ...], master_id: str,
                   places: list[str | None], assigned: bool = False) -> bool:  # fmt: skip
    """May ``user``, under a purpose of ``purpose_kind`` naming ``subjects`` (``assigned``
    to it or only supervising it), see this person (placed by ``places``: station or district codes)?"""
    inside = scope.in_jurisdiction(scope.jurisdiction(user.unit), places)
    ctx = policy.Context(True, purpose_kind, True, inside, master_id in subjects, assigned)
    return policy.allowed(subject(user), "person:record", "read", ctx)


def permitted(user: User, permission: str, check: purposes.PurposeCheck | None, granted: bool = False) -> bool:
    """The request-level decision for ``permission`` (``check`` is None for routes without
    person data; ``granted``: the caller's department holds a grant on the request's target)."""
    resource, _, action = permission.partition(":")
    ctx = (policy.Context(check.ok, check.kind, check.in_scope, assigned=check.assigned, granted=granted) if check
           else policy.Context(True, "", True, granted=granted))  # fmt: skip
    return policy.allowed(subject(user), f"{resource}:api", action, ctx)


def _refuse(settings, status: int, reason: str, ctx: AccessContext | None, audited: bool) -> HTTPException:
    if audited and ctx is not None:
        append(AuditEvent(actor=ctx.user.username if ctx.user else "anonymous", unit=ctx.user.unit if ctx.user else None,
                          operation=ctx.operation, outcome="refused", purpose=ctx.purpose, query=ctx.query,
                          client=ctx.client, reason=reason), settings)  # fmt: skip
    return HTTPException(status_code=status, detail=reason, headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)


def require(permission: str, person_data: bool = True, audited: bool = False, target: str | None = None):
    """A FastAPI dependency declaring the permission (and, for person data, the purpose) a
    route needs. Person-data routes are always audited; ``audited=True`` audits a route that
    needs no purpose too — the audit trail's own readers are watched like everyone else.
    ``target`` names the path parameter the permission is granted on (``zhijing.access.grants``)."""
    audited = audited or person_data
    resource, _, action = permission.partition(":")

    async def dependency(
        request: Request,
        authorization: str | None = Header(default=None),
        x_purpose: str | None = Header(default=None),
        purpose: str | None = Query(default=None, description="用途: case:… / ticket:… / order:… / emergency:…"),
    ):
        settings = get_settings()
        client = request.client.host if request.client else None
        stated = x_purpose or purpose
        ctx = AccessContext(permission, None, stated, client=client, query=str(request.url.path))
        if resource == "public":
            yield ctx
            return
        if not authorization or not authorization.lower().startswith("bearer "):
            raise _refuse(settings, 401, "login required", ctx, audited)
        try:
            claims = tokens.verify(settings, authorization.split(" ", 1)[1].strip())
            ctx.user = load_user(settings, claims["sub"])
        except AccessDenied as exc:
            raise _refuse(settings, 401, str(exc), ctx, audited) from None
        request.state.claims = claims
        check = purposes.check(settings, ctx.user.username, ctx.user.unit, stated) if person_data else None
        if check is not None:
            ctx.purpose_kind, ctx.subjects, ctx.assigned = check.kind, check.subjects, check.assigned
            if not check.ok or not check.in_scope:
                raise _refuse(settings, 403, check.reason or "purpose refused", ctx, audited)
        granted = bool(target) and grants.holds(settings, ctx.user.department, permission, request.path_params.get(target, ""))
        if not permitted(ctx.user, permission, check, granted):
            raise _refuse(settings, 403, f"not permitted: {permission}", ctx, audited)
        outcome = "allowed"
        try:
            yield ctx
        except Exception:
            outcome = "refused" if ctx.refusal else "error"
            raise
        finally:
            if audited:
                append(AuditEvent(actor=ctx.user.username, unit=ctx.user.unit, operation=ctx.operation, outcome=outcome,
                                  purpose=stated, records=ctx.records, query=ctx.query, client=client,
                                  reason=ctx.refusal), settings)  # fmt: skip

    dependency.__zhijing_permission__ = permission  # type: ignore[attr-defined]
    dependency.__zhijing_person_data__ = person_data  # type: ignore[attr-defined]
    return dependency


def declared(dependant: Any) -> list[tuple[str, bool]]:
    """Every access declaration in a route's dependency tree (for the policy matrix)."""
    found = []
    stack = [dependant]
    while stack:
        d = stack.pop()
        call = getattr(d, "call", None)
        if call is not None and hasattr(call, "__zhijing_permission__"):
            found.append((call.__zhijing_permission__, call.__zhijing_person_data__))
        stack.extend(getattr(d, "dependencies", []))
    return found
