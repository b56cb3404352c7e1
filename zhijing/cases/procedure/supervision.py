"""执法监督: rules over the procedure, each a query over the store built from ``rules.yaml``
(which limits hold a person, which documents each step needs, which states close a case), each
finding sent to 法制 or 督察 with its evidence:

- ``deadline_breach`` — a time limit stopped after it lapsed, or lapsed and still running;
- ``held_past_limit`` — the same for a limit during which the person is held (传唤, 拘留, 逮捕);
- ``missing_document`` — a step whose required document was not issued within the grace;
- ``closed_without_approval`` / ``step_without_approval`` — an imported step whose approval is
  missing or of the wrong rank (a live step without it is refused, never stored);
- ``property_without_custody`` / ``property_past_disposal`` — seized property with no custody
  record or kept past its disposal date: the custody module's flags (``seized.flags``), handed
  in as ``property_flags`` by the wiring (that module lives beside this one, not below it).

Supervisors read these and the procedure; persons' files stay closed to them unless they are
assigned to the case (the access policy)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from zhijing.cases.procedure import store
from zhijing.cases.procedure.rules import Rules, load
from zhijing.config import Settings

PropertyFlags = Callable[..., list[dict]]  # seized.flags(settings, now=…) → [{rule, case_id, item_id | number, evidence…}]


def _limits(conn, rules: Rules, as_of: datetime, custodial: bool) -> list[dict]:
    lim = store.limits_t
    late = sa.or_(lim.c.stopped_at > lim.c.due_at, sa.and_(lim.c.stopped_at.is_(None), lim.c.due_at < as_of))
    rows = conn.execute(sa.select(lim).where(lim.c.custodial.is_(custodial), late))
    out = []
    for r in rows:
        d = store.row(r)
        end = d["stopped_at"] or as_of
        out.append({"case_id": d["case_id"], "person": d["person"] or None, "subject": d["name"],
                    "evidence": {"limit": d["name"], "started_at": d["started_at"], "due_at": d["due_at"], "stopped_at": d["stopped_at"],
                                 "extended_by": d["extended_by"], "over_hours": round((end - d["due_at"]).total_seconds() / 3600, 1),
                                 "articles": rules.limits[d["name"]].articles}})  # fmt: skip
    return out


def _required(rules: Rules) -> list[tuple[str, str, str]]:
    """(case kind, action, document) for every document an action requires."""
    return [(kind, name, doc) for kind, m in rules.machines.items() for acts in (m.case, m.measures.actions)
            for name, a in acts.items() for doc in a.documents]  # fmt: skip


def _missing_documents(conn, rules: Rules, as_of: datetime) -> list[dict]:
    s, c, d = store.steps_t, store.cases_t, store.documents_t
    grace = timedelta(hours=rules.supervision.document_grace_hours)
    need = sa.union_all(*(sa.select(sa.literal(k).label("kind"), sa.literal(a).label("action"), sa.literal(doc).label("document"))
                          for k, a, doc in _required(rules))).subquery("need")  # fmt: skip
    if conn.dialect.name == "sqlite":  # times are stored as text: compare them as Julian days
        within = [sa.func.julianday(d.c.issued_at) >= sa.func.julianday(s.c.at),
                  sa.func.julianday(d.c.issued_at) <= sa.func.julianday(s.c.at, f"+{int(grace.total_seconds() // 60)} minutes")]  # fmt: skip
    else:
        within = [d.c.issued_at >= s.c.at, d.c.issued_at <= s.c.at + grace]
    issued = (sa.select(d.c.id).where(d.c.case_id == s.c.case_id, d.c.kind == need.c.document,
                                      sa.func.coalesce(d.c.person, "") == sa.func.coalesce(s.c.person, ""), *within)
              .correlate(s, need).exists())  # fmt: skip
    q = (sa.select(s.c.case_id, s.c.person, s.c.action, s.c.at, need.c.document)
         .join(c, c.c.id == s.c.case_id).join(need, sa.and_(need.c.kind == c.c.kind, need.c.action == s.c.action))
         .where(s.c.at <= as_of - grace, ~issued))  # fmt: skip
    return [{"case_id": r.case_id, "person": r.person, "subject": r.document,
             "evidence": {"step": r.action, "step_at": store.aware(r.at), "document": r.document, "grace_hours": grace.total_seconds() / 3600,
                          "articles": rules.documents[r.document].articles}} for r in conn.execute(q)]  # fmt: skip


def _unapproved(conn, rules: Rules) -> tuple[list[dict], list[dict]]:
    s = store.steps_t
    final = {st for m in rules.machines.values() for st in m.final}
    closed, other = [], []
    for r in conn.execute(sa.select(s).where(s.c.approval_ok.is_(False))):
        d = store.row(r)
        flag = {"case_id": d["case_id"], "person": d["person"], "subject": d["action"],
                "evidence": {"step": d["action"], "at": d["at"], "approver": d["approver"], "why": d["approval_note"],
                             "source": d["source"]}}  # fmt: skip
        (closed if d["to_state"] in final else other).append(flag)
    return closed, other


def findings(settings: Settings, as_of: datetime | None = None, property_flags: PropertyFlags | None = None) -> dict[str, list[dict]]:
    """Every finding of every rule as of ``as_of`` (now), by rule."""
    rules, as_of = load(), (as_of or datetime.now(UTC)).astimezone(UTC)  # stored times are UTC
    with store.engine(settings).connect() as conn:
        closed, other = _unapproved(conn, rules)
        found = {"deadline_breach": _limits(conn, rules, as_of, False), "held_past_limit": _limits(conn, rules, as_of, True),
                 "missing_document": _missing_documents(conn, rules, as_of), "closed_without_approval": closed,
                 "step_without_approval": other}  # fmt: skip
    found |= {"property_without_custody": [], "property_past_disposal": []}
    for g in property_flags(settings, now=as_of) if property_flags else []:
        subject = str(g.get("item_id") or g.get("number") or g.get("property_id"))
        found.setdefault(g["rule"], []).append({"case_id": g["case_id"], "person": g.get("person"), "subject": subject, "evidence": g})
    return found


def run(settings: Settings, as_of: datetime | None = None, property_flags: PropertyFlags | None = None) -> dict:
    """Run every rule and store the findings as this run's flags (earlier runs stay readable)."""
    t0 = time.perf_counter()
    rules, run_at = load(), datetime.now(UTC)
    found = findings(settings, as_of, property_flags)
    rows = [{"run_at": run_at, "rule": rule, "to_department": rules.supervision.to.get(rule, "督察"), "case_id": f["case_id"],
             "person": f["person"], "subject": f["subject"], "evidence": json.dumps(f["evidence"], ensure_ascii=False, default=str)}
            for rule, fs in found.items() for f in fs]  # fmt: skip
    store.bulk_insert(settings, {"proc_flags": rows})
    return {"run_at": run_at, "flags": {r: len(fs) for r, fs in found.items()}, "seconds": time.perf_counter() - t0}


def latest_flags(settings: Settings, department: str | None = None, case_id: str | None = None, limit: int = 500) -> list[dict]:
    """The last run's flags, for one department (法制 / 督察) or one case."""
    f = store.flags_t
    with store.engine(settings).connect() as conn:
        last = conn.execute(sa.select(sa.func.max(f.c.run_at))).scalar()
        if last is None:
            return []
        q = sa.select(f).where(f.c.run_at == last).order_by(f.c.id).limit(limit)
        q = q.where(f.c.to_department == department) if department else q
        q = q.where(f.c.case_id == case_id) if case_id else q
        return [{**store.row(r), "evidence": json.loads(r.evidence)} for r in conn.execute(q)]
