"""The procedure store: cases, their steps (append-only), each person's measure, the running
time limits, the documents and their numbers, and supervision's flags — on the metadata
database beside the purposes (SQLite by default, PostgreSQL in production), as the dispatch
store does.

A live step is one transaction: the case is read, checked by the machine, and written back by
an UPDATE conditional on the case's version, so of two officers moving the same case at once
one wins and the other is told (``Conflict``). A replayed year is written in bulk."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

from zhijing.access import models as acc
from zhijing.cases.procedure.deadlines import countdown
from zhijing.cases.procedure.machine import Case, Outcome, Running, Step
from zhijing.cases.procedure.rules import load
from zhijing.config import Settings
from zhijing.errors import Conflict

meta = sa.MetaData()
cases_t = sa.Table(
    "proc_cases", meta,
    sa.Column("id", sa.String(32), primary_key=True), sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("title", sa.String(256), nullable=False), sa.Column("category", sa.String(32)),
    sa.Column("unit_code", sa.String(32), nullable=False, index=True), sa.Column("handler", sa.String(64), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False, index=True), sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_at", sa.DateTime(timezone=True), nullable=False), sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("facts", sa.Text), sa.Column("workspace_ref", sa.String(64), index=True),
    sa.Column("source", sa.String(8), nullable=False), sa.Column("version", sa.Integer, nullable=False),
)  # fmt: skip
steps_t = sa.Table(
    "proc_steps", meta,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True), sa.Column("case_id", sa.String(32), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False), sa.Column("from_state", sa.String(16)), sa.Column("to_state", sa.String(16)),
    sa.Column("person", sa.String(64)), sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False), sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("approver", sa.String(64)), sa.Column("decision_ref", sa.String(64)), sa.Column("condition", sa.String(64)),
    sa.Column("approval_ok", sa.Boolean, nullable=False), sa.Column("approval_note", sa.String(128)),
    sa.Column("purpose", sa.String(200)), sa.Column("source", sa.String(8), nullable=False),
)  # fmt: skip
measures_t = sa.Table(
    "proc_measures", meta,
    sa.Column("case_id", sa.String(32), primary_key=True), sa.Column("person", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False), sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)  # fmt: skip
limits_t = sa.Table(
    "proc_limits", meta,
    sa.Column("case_id", sa.String(32), primary_key=True), sa.Column("name", sa.String(16), primary_key=True),
    sa.Column("person", sa.String(64), primary_key=True), sa.Column("custodial", sa.Boolean, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False), sa.Column("due_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("stopped_at", sa.DateTime(timezone=True)), sa.Column("extended_by", sa.String(64)),
)  # fmt: skip
documents_t = sa.Table(
    "proc_documents", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), sa.Column("case_id", sa.String(32), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False), sa.Column("number", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False), sa.Column("person", sa.String(64)), sa.Column("state", sa.String(16)),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False), sa.Column("issued_by", sa.String(64), nullable=False),
    sa.Column("signer", sa.String(64)), sa.Column("public_key", sa.String(256)), sa.Column("signature", sa.String(256)),
    sa.Column("sha256", sa.String(64)), sa.Column("body", sa.Text), sa.Column("source", sa.String(8), nullable=False),
    sa.UniqueConstraint("number", "version"),
)  # fmt: skip
counters_t = sa.Table(  # a number is taken by an UPDATE, never by reading a maximum
    "proc_counters", meta,
    sa.Column("year", sa.Integer, primary_key=True), sa.Column("unit_code", sa.String(32), primary_key=True),
    sa.Column("code", sa.String(16), primary_key=True), sa.Column("n", sa.Integer, nullable=False),
)  # fmt: skip
flags_t = sa.Table(
    "proc_flags", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), sa.Column("run_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("rule", sa.String(32), nullable=False), sa.Column("to_department", sa.String(16), nullable=False),
    sa.Column("case_id", sa.String(32), nullable=False, index=True), sa.Column("person", sa.String(64)),
    sa.Column("subject", sa.String(64)), sa.Column("evidence", sa.Text, nullable=False),
)  # fmt: skip
TIMES = frozenset(c.name for t in meta.tables.values() for c in t.columns if isinstance(c.type, sa.DateTime))


def engine(settings: Settings) -> sa.Engine:
    return acc.engine_with(settings, meta)


def aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def row(r) -> dict:
    """A row as a dict, its times aware (SQLite hands them back without their zone)."""
    d = dict(r._mapping)
    for k in TIMES.intersection(d):
        d[k] = aware(d[k])
    return d


def load_case(conn, case_id: str) -> tuple[dict, Case] | None:
    """The case's row and its machine view (state, measures, limits), or None."""
    found = conn.execute(sa.select(cases_t).where(cases_t.c.id == case_id)).first()
    if found is None:
        return None
    c = row(found)
    view = Case(c["kind"], c["handler"], c["state"], c["last_at"])
    view.measures = dict(conn.execute(sa.select(measures_t.c.person, measures_t.c.state).where(measures_t.c.case_id == case_id)).all())
    for r in conn.execute(sa.select(limits_t).where(limits_t.c.case_id == case_id)):
        d = row(r)
        view.limits[(d["name"], d["person"])] = Running(d["name"], d["person"], d["started_at"], d["due_at"], d["stopped_at"], d["extended_by"])
    return c, view


def step_row(case_id: str, step: Step, out: Outcome, before: Case, purpose: str, source: str) -> dict:
    return {"case_id": case_id, "action": step.action,
            "from_state": before.measures.get(step.person, "无") if out.measure_to else before.state,
            "to_state": out.measure_to or out.to, "person": step.person or None, "at": step.at,
            "recorded_at": step.recorded_at or step.at, "actor": step.actor,
            "approver": step.approver.username if step.approver else None, "decision_ref": step.decision_ref or None,
            "condition": step.condition or None, "approval_ok": out.approval_ok, "approval_note": out.approval_note[:128] or None,
            "purpose": purpose[:200], "source": source}  # fmt: skip


def limit_rows(case_id: str, view: Case, custodial: dict[str, bool], keys: Iterable[tuple[str, str]]) -> list[dict]:
    return [{"case_id": case_id, "name": r.name, "person": r.person, "custodial": custodial[r.name], "started_at": r.started_at,
             "due_at": r.due_at, "stopped_at": r.stopped_at, "extended_by": r.extended_by}
            for r in (view.limits[k] for k in keys)]  # fmt: skip


def save_step(conn, case_id: str, version: int, before_state: str | None, view: Case, step: Step, out: Outcome,
              step_values: dict, custodial: dict[str, bool], final: bool) -> None:  # fmt: skip
    """Write a checked, applied step: the step, the case (if still at ``version``), the measure, the limits."""
    done = conn.execute(sa.update(cases_t).where(cases_t.c.id == case_id, cases_t.c.version == version)
                        .values(state=view.state, last_at=step.at, version=version + 1,
                                closed_at=step.at if final else None))  # fmt: skip
    if done.rowcount != 1:
        raise Conflict(f"case {case_id} was changed meanwhile (state was {before_state}); read it again")
    conn.execute(sa.insert(steps_t).values(**step_values))
    if out.measure_to is not None:
        conn.execute(sa.delete(measures_t).where(measures_t.c.case_id == case_id, measures_t.c.person == step.person))
        conn.execute(sa.insert(measures_t).values(case_id=case_id, person=step.person, state=out.measure_to, updated_at=step.at))
    touched = {*out.stops, *([out.extends[0]] if out.extends else [])}
    for k in touched:
        r = view.limits[k]
        conn.execute(sa.update(limits_t).where(limits_t.c.case_id == case_id, limits_t.c.name == k[0], limits_t.c.person == k[1])
                     .values(stopped_at=r.stopped_at, due_at=r.due_at, extended_by=r.extended_by))  # fmt: skip
    fresh = [(r.name, r.person) for r in out.starts]
    if fresh:
        conn.execute(sa.delete(limits_t).where(limits_t.c.case_id == case_id,
                                               sa.tuple_(limits_t.c.name, limits_t.c.person).in_(fresh)))  # fmt: skip
        conn.execute(sa.insert(limits_t), limit_rows(case_id, view, custodial, fresh))


def next_number(conn, year: int, unit_code: str, code: str) -> int:
    """The next number of ``code`` for the unit and year (a writer racing here makes the row once)."""
    key = (counters_t.c.year == year) & (counters_t.c.unit_code == unit_code) & (counters_t.c.code == code)
    bump = sa.update(counters_t).where(key).values(n=counters_t.c.n + 1)
    if not conn.execute(bump).rowcount:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(counters_t).values(year=year, unit_code=unit_code, code=code, n=0))
        except sa.exc.IntegrityError:
            pass
        conn.execute(bump)
    return conn.execute(sa.select(counters_t.c.n).where(key)).scalar_one()


def _sqlite_value(v):
    """A value as SQLAlchemy stores it in SQLite (times as UTC text, booleans as 0/1)."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return int(v) if isinstance(v, bool) else v


def stored_ids(settings: Settings) -> tuple[set[str], dict[tuple[int, str, str], int]]:
    """The case ids the store holds and the numbers it has given (a replay continues them)."""
    with engine(settings).connect() as conn:
        ids = set(conn.execute(sa.select(cases_t.c.id)).scalars())
        taken = {(r.year, r.unit_code, r.code): r.n for r in conn.execute(sa.select(counters_t))}
    return ids, taken


def bulk_insert(settings: Settings, tables: dict[str, list[dict]], chunk: int = 20_000) -> None:
    """Write a replayed batch (rows per table name) in one transaction. On SQLite the rows go
    straight to the driver's executemany, stored as SQLAlchemy stores them (its per-row
    processing was most of a year's write)."""
    with engine(settings).begin() as conn:
        for name, rows in tables.items():
            if not rows:
                continue
            table = meta.tables[name]
            if table is counters_t:  # counters continue: the rows given replace those they carry on from
                key = (counters_t.c.year == sa.bindparam("y")) & (counters_t.c.unit_code == sa.bindparam("u")) & (counters_t.c.code == sa.bindparam("c"))
                conn.execute(sa.delete(counters_t).where(key), [{"y": r["year"], "u": r["unit_code"], "c": r["code"]} for r in rows])
            if conn.dialect.name != "sqlite":
                for i in range(0, len(rows), chunk):
                    conn.execute(table.insert(), rows[i : i + chunk])
                continue
            cols = list(rows[0])
            sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            conn.exec_driver_sql(sql, [tuple(_sqlite_value(r[c]) for c in cols) for r in rows])


def case_rows(settings: Settings, where=None, limit: int = 200) -> list[dict]:
    q = sa.select(cases_t).order_by(cases_t.c.last_at.desc()).limit(limit)
    with engine(settings).connect() as conn:
        return [row(r) for r in conn.execute(q.where(where) if where is not None else q)]


def case_detail(settings: Settings, case_id: str) -> dict | None:
    """A case with its steps, measures, limits and documents (bodies left out)."""
    with engine(settings).connect() as conn:
        found = conn.execute(sa.select(cases_t).where(cases_t.c.id == case_id)).first()
        if found is None:
            return None
        by_case = {t: [row(r) for r in conn.execute(sa.select(t).where(t.c.case_id == case_id))]
                   for t in (steps_t, measures_t, limits_t)}  # fmt: skip
        docs = [row(r) for r in conn.execute(sa.select(*(c for c in documents_t.c if c.name != "body"))
                                             .where(documents_t.c.case_id == case_id).order_by(documents_t.c.id))]  # fmt: skip
    c = row(found)
    c["facts"] = json.loads(c["facts"] or "{}")
    return {"case": c, "steps": sorted(by_case[steps_t], key=lambda s: s["seq"]), "measures": by_case[measures_t],
            "limits": by_case[limits_t], "documents": docs}  # fmt: skip


def handler_of(settings: Settings, case_id: str) -> str | None:
    """The case's handler (separation of duties elsewhere: property approvals)."""
    with engine(settings).connect() as conn:
        return conn.execute(sa.select(cases_t.c.handler).where(cases_t.c.id == case_id)).scalar()


def open_cases_by_officer(settings: Settings) -> dict[str, list[dict]]:
    """Each handler's open cases (workload)."""
    out: dict[str, list[dict]] = {}
    q = (sa.select(cases_t.c.handler, cases_t.c.id, cases_t.c.kind, cases_t.c.title, cases_t.c.state, cases_t.c.opened_at)
         .where(cases_t.c.closed_at.is_(None)).order_by(cases_t.c.opened_at))  # fmt: skip
    with engine(settings).connect() as conn:
        for r in conn.execute(q):
            out.setdefault(r.handler, []).append({"id": r.id, "kind": r.kind, "title": r.title, "state": r.state, "opened_at": aware(r.opened_at)})
    return out


def deadlines_by_officer(settings: Settings, now: datetime | None = None) -> dict[str, list[dict]]:
    """Each handler's running time limits with their countdown (workload, warnings)."""
    rules, now = load(), now or datetime.now(UTC)
    q = (sa.select(cases_t.c.handler, limits_t).join(cases_t, cases_t.c.id == limits_t.c.case_id)
         .where(limits_t.c.stopped_at.is_(None)).order_by(limits_t.c.due_at))  # fmt: skip
    out: dict[str, list[dict]] = {}
    with engine(settings).connect() as conn:
        for r in conn.execute(q):
            d = row(r)
            cd = countdown(d["due_at"], rules.limits[d["name"]].warn_hours, now)
            out.setdefault(d["handler"], []).append({"case_id": d["case_id"], "limit": d["name"], "person": d["person"] or None,
                                                     "due_at": d["due_at"], "state": cd.state, "seconds_left": cd.seconds_left})  # fmt: skip
    return out
