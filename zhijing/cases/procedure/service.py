"""Live case handling: open a case (受案), take a step, ask for and give an approval. Every
change is checked by the machine, written in one transaction and audited through the
``audit`` callable the caller hands in (a route's guard context, or the audit log for the
command line), naming the persons the step touches and the purpose stated for it.

A step that needs approval is asked for by the handler (呈请) and takes effect when an
approver of the right rank approves it (审批): the approver is the account that approves,
never a name the handler types, and never the case's handler."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from zhijing.access import models as acc
from zhijing.access.seed import add_purpose
from zhijing.cases.procedure import deadlines, machine, store
from zhijing.cases.procedure.machine import Account, Case, Refused, Step
from zhijing.cases.procedure.rules import load
from zhijing.config import Settings
from zhijing.errors import Conflict, NotFound

Audit = Callable[[str, list[str], str], None]  # (operation, person ids, what was done)
PREFIX = {"criminal": "AJ", "administrative": "XZ"}

pending_t = sa.Table(
    "proc_pending", store.meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), sa.Column("case_id", sa.String(32), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False), sa.Column("person", sa.String(64)), sa.Column("condition", sa.String(64)),
    sa.Column("actor", sa.String(64), nullable=False), sa.Column("purpose", sa.String(200), nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False), sa.Column("status", sa.String(12), nullable=False),
    sa.Column("decided_by", sa.String(64)), sa.Column("decided_at", sa.DateTime(timezone=True)),
)  # fmt: skip


def account(settings: Settings, username: str) -> Account:
    """An account as the rules see it: roles, its unit's tier, department."""
    with acc.engine(settings).connect() as conn:
        r = conn.execute(sa.select(acc.users.c.username, acc.users.c.roles, acc.users.c.department, acc.units.c.tier)
                         .join(acc.units, acc.units.c.code == acc.users.c.unit_code)
                         .where(acc.users.c.username == username, acc.users.c.active.is_(True))).first()  # fmt: skip
    if r is None:
        raise NotFound(f"no active account {username}")
    return Account(r.username, r.tier, tuple(x.strip() for x in r.roles.split(",")), r.department)


def purpose_of(case_id: str) -> str:
    """The access purpose a live procedure case runs under (its own, unless it links a 专案)."""
    return f"case:{case_id}"


def open_case(settings: Settings, *, kind: str, title: str, unit_code: str, handler: str, purpose: str, audit: Audit,
              category: str = "", facts: dict | None = None, persons: list[str] | None = None,
              workspace_ref: str | None = None, at: datetime | None = None) -> str:  # fmt: skip
    """受案: number the case for its unit and year, run 受案 through the machine, open its purpose."""
    rules = load()
    if kind not in rules.machines:
        raise Refused("kind", f"a case is one of {', '.join(rules.machines)}")
    now = datetime.now(UTC)
    at = at or now
    view = Case(kind, handler)
    step = Step("受案", at, handler, recorded_at=now)
    out = machine.check(rules, view, step)
    machine.apply(view, step, out)
    year = at.astimezone(deadlines.zone()).year
    with store.engine(settings).begin() as conn:
        while True:  # a number an imported case already holds is passed over
            n = store.next_number(conn, year, unit_code, PREFIX[kind])
            case_id = f"{PREFIX[kind]}{unit_code[:6]}{year}{n:05d}{unit_code[6:8]}"  # the station's digits keep units apart
            if conn.execute(sa.select(store.cases_t.c.id).where(store.cases_t.c.id == case_id)).first() is None:
                break
        conn.execute(sa.insert(store.cases_t).values(
            id=case_id, kind=kind, title=title[:256], category=category[:32], unit_code=unit_code, handler=handler,
            state=view.state, opened_at=at, last_at=at, facts=json.dumps({**(facts or {}), "persons": persons or []}, ensure_ascii=False),
            workspace_ref=workspace_ref, source="live", version=1))  # fmt: skip
        conn.execute(sa.insert(store.steps_t).values(**store.step_row(case_id, step, out, Case(kind, handler), purpose, "live")))
        conn.execute(sa.insert(store.limits_t), store.limit_rows(case_id, view, _custodial(), view.limits))
    if not workspace_ref:
        add_purpose(settings, purpose_of(case_id), title, unit_code, [handler], subjects=persons, topic=category or None)
    audit("collect", persons or [], f"procedure {case_id} 受案")
    return case_id


def _custodial() -> dict[str, bool]:
    return {n: lim.custodial for n, lim in load().limits.items()}


def take_step(settings: Settings, case_id: str, action: str, *, actor: str, purpose: str, audit: Audit, person: str = "",
              approver: str | None = None, decision_ref: str = "", condition: str = "", at: datetime | None = None) -> dict:  # fmt: skip
    """Check and write one step; ``approver`` is the approving account (the caller of ``approve``)."""
    rules = load()
    now = datetime.now(UTC)
    who = account(settings, approver) if approver else None
    with store.engine(settings).begin() as conn:
        found = store.load_case(conn, case_id)
        if found is None:
            raise NotFound(f"no case {case_id}")
        row, view = found
        before = Case(view.kind, view.handler, view.state, view.last_at, dict(view.measures))
        step = Step(action, at or now, actor, person, who, decision_ref, condition, recorded_at=now)
        out = machine.check(rules, view, step)
        machine.apply(view, step, out)
        values = store.step_row(case_id, step, out, before, purpose, "live")
        final = view.state in rules.machines[view.kind].final
        store.save_step(conn, case_id, row["version"], before.state, view, step, out, values, _custodial(), final)
    audit("alter", [person] if person else [], f"procedure {case_id} {action}")
    return {**values, "documents": list(out.documents)}


def request(settings: Settings, case_id: str, action: str, *, actor: str, purpose: str, audit: Audit, person: str = "",
            condition: str = "", at: datetime | None = None) -> dict:  # fmt: skip
    """呈请: the handler asks for a step that needs approval; one that needs none is taken at once.
    What the rules forbid whoever approves (wrong state, no condition stated) is refused now."""
    rules = load()
    with store.engine(settings).connect() as conn:
        found = store.load_case(conn, case_id)
    if found is None:
        raise NotFound(f"no case {case_id}")
    kind, now = found[1].kind, datetime.now(UTC)
    act = rules.action(kind, action, rules.is_measure(kind, action))
    if act is None:
        raise Refused("action", f"{rules.machines[kind].label} has no action {action}")
    if not act.approver and not act.extends:
        return {"step": take_step(settings, case_id, action, actor=actor, purpose=purpose, audit=audit, person=person,
                                  condition=condition, at=at)}  # fmt: skip
    # checked as if approved now: only the approval itself is left to the approver
    machine.check(rules, found[1], Step(action, now, actor, person, condition=condition, recorded_at=now), live=False)
    with store.engine(settings).begin() as conn:
        pid = conn.execute(sa.insert(pending_t).values(case_id=case_id, action=action, person=person or None, condition=condition or None,
                                                       actor=actor, purpose=purpose[:200], requested_at=datetime.now(UTC),
                                                       status="pending")).inserted_primary_key[0]  # fmt: skip
    audit("alter", [person] if person else [], f"procedure {case_id} 呈请 {action} #{pid}")
    return {"pending": pid}


def approve(settings: Settings, pending_id: int, *, approver: str, audit: Audit, decision_ref: str = "") -> dict:
    """审批: the approving account takes the asked-for step (the machine refuses its own handler)."""
    with store.engine(settings).begin() as conn:
        p = conn.execute(sa.select(pending_t).where(pending_t.c.id == pending_id)).first()
        if p is None or p.status != "pending":
            raise NotFound(f"no pending request {pending_id}")
        if conn.execute(_decide(pending_id, "pending", "approving", approver)).rowcount != 1:
            raise Conflict(f"request {pending_id} is being decided by another approver")
    try:
        done = take_step(settings, p.case_id, p.action, actor=p.actor, purpose=p.purpose, audit=audit, person=p.person or "",
                         approver=approver, decision_ref=decision_ref, condition=p.condition or "")  # fmt: skip
    except Exception:
        with store.engine(settings).begin() as conn:
            conn.execute(_decide(pending_id, "approving", "pending", None))
        raise
    with store.engine(settings).begin() as conn:
        conn.execute(_decide(pending_id, "approving", "approved", approver))
    return {"step": done}


def _decide(pending_id: int, was: str, now: str, who: str | None):
    return (sa.update(pending_t).where(pending_t.c.id == pending_id, pending_t.c.status == was)
            .values(status=now, decided_by=who, decided_at=datetime.now(UTC) if who else None))  # fmt: skip


def pending_for(settings: Settings, case_id: str | None = None, unit_prefix: str | None = None, limit: int = 500) -> list[dict]:
    """Requests awaiting approval: of one case, or of the cases of a unit and the units below it."""
    c = store.cases_t
    q = (sa.select(pending_t, c.c.title.label("case_title")).join(c, c.c.id == pending_t.c.case_id)
         .where(pending_t.c.status == "pending").order_by(pending_t.c.id).limit(limit))  # fmt: skip
    q = q.where(pending_t.c.case_id == case_id) if case_id else q
    q = q.where(c.c.unit_code.startswith(unit_prefix, autoescape=True)) if unit_prefix else q
    with store.engine(settings).connect() as conn:
        return [store.row(r) for r in conn.execute(q)]


def link_workspace(settings: Settings, case_id: str, ref: str) -> None:
    """Link the investigation workspace (专案, a case purpose) to the procedure case."""
    with store.engine(settings).begin() as conn:
        if not conn.execute(sa.update(store.cases_t).where(store.cases_t.c.id == case_id).values(workspace_ref=ref)).rowcount:
            raise NotFound(f"no case {case_id}")


def case_of_workspace(settings: Settings, ref: str) -> list[str]:
    """The procedure cases a workspace is linked to."""
    with store.engine(settings).connect() as conn:
        return list(conn.execute(sa.select(store.cases_t.c.id).where(store.cases_t.c.workspace_ref == ref)).scalars())
