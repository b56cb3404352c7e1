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

from zhijing.access import generation, grants, masking, models, policy, scope, sessions, throttle, tokens
from zhijing.access import purpose as purposes
from zhijing.access.audit import AuditEvent, append_async
from zhijing.access.audit.store import AuditLog, log_for
from zhijing.access.boundary import note_clearance
from zhijing.access.client import client_address
from zhijing.config import get_settings
from zhijing.errors import AccessDenied

THROTTLED = "too many refused requests from this address: try again later"
OUTSIDE = "this person is not named by the purpose and outside what it opens"
OPERATION_OF = {"read": "consult", "search": "consult", "list": "consult", "export": "disclose", "judge": "alter", "push": "collect",
                "write": "alter", "close": "alter", "combine": "combine", "erase": "erase", "approve": "alter"}  # fmt: skip


@dataclass(frozen=True)
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
    topic: str = ""  # what the purpose is about: a case's matter, a ticket's service

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


def remembered(app, settings) -> generation.Remembered:
    """The app's memo of access checks (one per app and metadata database, never a module global)."""
    url = settings.sqlalchemy_url("metadata")
    memo = getattr(app.state, "access_memo", None)
    if memo is None or memo[0] != url:
        memo = app.state.access_memo = (url, generation.Remembered())
    return memo[1]


def audit_log(app, settings) -> AuditLog:
    """The app's audit log for these settings (looked up once per app and settings, not per request)."""
    kept = getattr(app.state, "audit_log", None)
    if kept is None or kept[0] is not settings:
        kept = app.state.audit_log = (settings, log_for(settings))
    return kept[1]


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


def bounded(text: str | None, settings) -> str | None:
    """What the audit trail keeps of caller-supplied text: at most ``security.audit_text_max``
    characters, so a request cannot make its audit row as large as it likes."""
    limit = settings.security.audit_text_max
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


async def _refuse(settings, status: int, reason: str, ctx: AccessContext | None, audited: bool,
                  headers: dict[str, str] | None = None) -> HTTPException:  # fmt: skip
    if audited and ctx is not None:  # awaited: the event loop serves others while the event is made durable
        await append_async(AuditEvent(actor=ctx.user.username if ctx.user else "anonymous", unit=ctx.user.unit if ctx.user else None,
                          operation=ctx.operation, outcome="refused", purpose=bounded(ctx.purpose, settings),
                          query=bounded(ctx.query, settings), client=ctx.client, reason=bounded(reason, settings)),
               settings)  # fmt: skip
    headers = {**({"WWW-Authenticate": "Bearer"} if status == 401 else {}), **(headers or {})}
    return HTTPException(status_code=status, detail=reason, headers=headers or None)


async def refuse_unauthenticated(request: Request, settings, status: int, reason: str, ctx: AccessContext, audited: bool,
                                 headers: dict[str, str] | None = None) -> HTTPException:  # fmt: skip
    """A refusal of a caller not (yet) logged in, rate-limited per client: past the limit the
    answer is 429 and only the first refusal over it is audited, so anonymous floods cannot
    fill the audit trail."""
    limiter = throttle.limiter_for(request.app, settings)
    if limiter.allow(ctx.client):
        return await _refuse(settings, status, reason, ctx, audited, headers)
    retry = {"Retry-After": str(limiter.retry_after(ctx.client))}
    return await _refuse(settings, 429, THROTTLED, ctx, limiter.first_over(ctx.client), retry)


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
        client = client_address(request, settings)
        stated = x_purpose or purpose
        ctx = AccessContext(permission, None, stated, client=client, query=request.scope.get("path", ""))
        if resource == "public":
            yield ctx
            return
        if not authorization or not authorization.lower().startswith("bearer "):
            raise await refuse_unauthenticated(request, settings, 401, "login required", ctx, audited)
        memo, gen = remembered(request.app, settings), generation.current(settings)
        try:
            claims = tokens.signed_claims(settings, authorization.split(" ", 1)[1].strip())
            sid, sub = str(claims["sid"]), str(claims["sub"])
            if not memo.get(gen, ("session", sid, sub), lambda: sessions.active(settings, sid, sub)):
                raise AccessDenied("session ended")
            ctx.user = memo.get(gen, ("user", sub), lambda: load_user(settings, sub))
        except AccessDenied as exc:
            raise await refuse_unauthenticated(request, settings, 401, str(exc), ctx, audited) from None
        request.state.claims = claims
        note_clearance(request, ctx.user.clearance)
        check = (memo.get(gen, ("purpose", ctx.user.username, ctx.user.unit, stated),
                          lambda: purposes.check(settings, ctx.user.username, ctx.user.unit, stated), lambda c: c.fresh())
                 if person_data else None)  # fmt: skip
        if check is not None:
            ctx.purpose_kind, ctx.subjects, ctx.assigned, ctx.topic = check.kind, check.subjects, check.assigned, check.topic
            if not check.ok or not check.in_scope:
                raise await _refuse(settings, 403, check.reason or "purpose refused", ctx, audited)
        granted = bool(target) and grants.holds(settings, ctx.user.department, permission, request.path_params.get(target, ""))
        if not permitted(ctx.user, permission, check, granted):
            raise await _refuse(settings, 403, f"not permitted: {permission}", ctx, audited)
        outcome = "allowed"
        try:
            yield ctx
        except Exception:
            outcome = "refused" if ctx.refusal else "error"
            raise
        finally:
            if audited:
                await audit_log(request.app, settings).append_async(AuditEvent(actor=ctx.user.username, unit=ctx.user.unit, operation=ctx.operation, outcome=outcome,
                                  purpose=bounded(stated, settings), records=list(dict.fromkeys(ctx.records)), query=bounded(ctx.query, settings),
                                  client=client, reason=bounded(ctx.refusal, settings)))  # fmt: skip

    dependency.__zhijing_permission__ = permission  # type: ignore[attr-defined]
    dependency.__zhijing_person_data__ = person_data  # type: ignore[attr-defined]
    return dependency


def audit_before_response(routes: list) -> None:
    """Run the exit of every guard dependency of ``routes`` (every route of the app, which
    api/app.py enumerates) before the response is sent.

    FastAPI runs the code after ``yield`` in a dependency once the response has gone, unless
    the dependency is declared ``Depends(..., scope="function")``; the audit event the guard
    writes there must be durable before the caller has the data, and a failed write must fail
    the request (fail closed). Rather than every route spelling the scope out, this sets it on
    each route's ``Depends(require(...))`` declaration (a frozen dataclass FastAPI reads when
    it builds the route's dependencies, also lazily for included routers) and on the
    dependencies already built."""
    import inspect

    from fastapi import params

    def guards(route):
        endpoint = getattr(route, "endpoint", None)
        defaults = [p.default for p in inspect.signature(endpoint).parameters.values()] if endpoint else []
        return [d for d in [*defaults, *getattr(route, "dependencies", [])]
                if isinstance(d, params.Depends) and hasattr(d.dependency, "__zhijing_permission__")]  # fmt: skip

    for route in routes:
        for declaration in guards(route):
            object.__setattr__(declaration, "scope", "function")
        stack = [getattr(route, "dependant", None)]
        while stack:
            d = stack.pop()
            if d is not None:
                if hasattr(d.call, "__zhijing_permission__"):
                    d.scope = "function"
                stack.extend(d.dependencies)


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
