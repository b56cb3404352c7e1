"""The warning loop (感知 → 预警 → 指挥 → 行动 → 反馈): runs of registered models publish
warnings (model and version, subject or area, score, evidence, time) to a unit's inbox;
officers triage, act and close them with feedback, which feeds each model's precision.

A run publishes all its warnings in one transaction or none: a model that raises leaves
the run recorded as failed and the last good warnings in place. Warnings about a person
show no identity in the inbox; opening one needs a purpose and is audited."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from zhijing.access import models as acc
from zhijing.access import purpose as purposes
from zhijing.access.audit import AuditEvent, append
from zhijing.access.guard import load_user, permitted
from zhijing.config import Settings
from zhijing.derived.risk import evaluate
from zhijing.derived.risk.registry import MODELS
from zhijing.derived.risk.units import station_at
from zhijing.errors import AccessDenied, ZhijingError

meta = sa.MetaData()
registry = sa.Table(
    "risk_models", meta,
    sa.Column("name", sa.String(32), primary_key=True), sa.Column("version", sa.String(16), nullable=False),
    sa.Column("title", sa.String(64)), sa.Column("training_data", sa.Text), sa.Column("evaluation", sa.Text),
    sa.Column("registered_at", sa.DateTime(timezone=True)),
)  # fmt: skip
runs = sa.Table(
    "risk_runs", meta,
    sa.Column("run_id", sa.String(40), primary_key=True), sa.Column("model", sa.String(32), nullable=False),
    sa.Column("version", sa.String(16)), sa.Column("as_of", sa.String(32)), sa.Column("status", sa.String(12), nullable=False),
    sa.Column("error", sa.String(200)), sa.Column("data_version", sa.Text), sa.Column("warnings", sa.Integer, default=0),
    sa.Column("started_at", sa.DateTime(timezone=True)), sa.Column("finished_at", sa.DateTime(timezone=True)),
)  # fmt: skip
warnings_t = sa.Table(
    "risk_warnings", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), sa.Column("run_id", sa.String(40), nullable=False),
    sa.Column("model", sa.String(32), nullable=False), sa.Column("version", sa.String(16)),
    sa.Column("subject_kind", sa.String(16)), sa.Column("subject", sa.String(128)), sa.Column("label", sa.String(128)),
    sa.Column("score", sa.Float), sa.Column("evidence", sa.Text), sa.Column("unit", sa.String(32)),
    sa.Column("department", sa.String(16)),
    sa.Column("person", sa.Boolean, default=False), sa.Column("state", sa.String(12), default="new"),
    sa.Column("current", sa.Boolean, default=True), sa.Column("created_at", sa.DateTime(timezone=True)),
)  # fmt: skip
feedback = sa.Table(
    "risk_feedback", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), sa.Column("warning_id", sa.Integer, nullable=False),
    sa.Column("model", sa.String(32)), sa.Column("username", sa.String(64)), sa.Column("verdict", sa.String(16)),
    sa.Column("note", sa.Text), sa.Column("at", sa.DateTime(timezone=True)),
)  # fmt: skip
VERDICTS = ("confirmed", "false_alarm", "unclear")
PERSONAL = ("person", "account")  # a personal bank account is a person's data: same rules
STATE_ZH = {"new": "新", "triaged": "研判中", "acting": "处置中", "closed": "已关闭"}
STATES = {"new": ("triaged", "closed"), "triaged": ("acting", "closed"), "acting": ("closed",), "closed": ()}


# contact lists handed to the health department (handoff.py), one row per contact and channel
handoffs = sa.Table(
    "risk_handoffs", meta,
    sa.Column("ticket", sa.String(64), primary_key=True), sa.Column("contact_master", sa.String(64), primary_key=True),
    sa.Column("index_master", sa.String(64), primary_key=True), sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("score", sa.Float), sa.Column("rows_apart", sa.Float), sa.Column("hours", sa.Float),
)  # fmt: skip


def engine(settings: Settings) -> sa.Engine:
    return acc.engine_with(settings, meta)


def _now() -> datetime:
    return datetime.now(UTC)


def register(settings: Settings, name: str, evaluation: dict | None = None) -> dict:
    """Record (or update) a model's version, the data versions it reads and its evaluation.
    The card's ``run`` part (what the last run published) stays while the version does."""
    spec = MODELS[name]
    evaluation = dict(evaluation or {})
    with engine(settings).begin() as conn:
        old = conn.execute(sa.select(registry.c.version, registry.c.evaluation).where(registry.c.name == name)).first()
        last = json.loads(old.evaluation or "{}").get("run") if old is not None and old.version == spec.version else None
        if last is not None and "run" not in evaluation:
            evaluation["run"] = last
        row = {"name": name, "version": spec.version, "title": spec.title, "registered_at": _now(),
               "training_data": json.dumps(spec.data_version(settings)), "evaluation": json.dumps(evaluation, default=float)}  # fmt: skip
        conn.execute(sa.delete(registry).where(registry.c.name == name))
        conn.execute(sa.insert(registry), [row])
    return row


def _card_run(settings: Settings, name: str, run_part: dict) -> None:
    """Write what a run published (and, against a planted truth, how it scores) to the
    model's card: the card's run part and the inbox come from the same run."""
    with engine(settings).begin() as conn:
        ev = json.loads(conn.execute(sa.select(registry.c.evaluation).where(registry.c.name == name)).scalar() or "{}")
        ev["run"] = run_part
        conn.execute(sa.update(registry).where(registry.c.name == name).values(evaluation=json.dumps(ev, default=float)))


def _router(settings: Settings):
    """evidence → inbox unit: an area warning goes to the station whose jurisdiction holds
    the place; the rest to the city bureau (its 经侦 / 刑侦 / 交警 / 指挥中心 desks)."""
    with engine(settings).connect() as conn:
        city = (
            conn.execute(
                sa.select(acc.units.c.code).where(acc.units.c.tier == "市局").order_by(acc.units.c.code)
            ).scalar()
            or "330200000000"
        )

    def unit_of(evidence: dict) -> str:
        if "lon" in evidence and "lat" in evidence:
            return station_at(settings, evidence["lon"], evidence["lat"]) or city
        return city

    return unit_of


def start(settings: Settings, name: str, as_of: pd.Timestamp | None = None) -> dict:
    """Record a run of ``name`` as running (its id is what the console polls); as of the
    model's present unless ``as_of`` says (see ``ModelSpec.present``)."""
    if name not in MODELS:
        raise ZhijingError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    spec = MODELS[name]
    as_of = pd.Timestamp(as_of) if as_of is not None else spec.present(settings)
    rec = {"run_id": f"{name}-{uuid.uuid4().hex[:12]}", "model": name, "version": spec.version, "as_of": as_of.isoformat(),
           "status": "running", "data_version": json.dumps(spec.data_version(settings)), "started_at": _now(), "warnings": 0}  # fmt: skip
    with engine(settings).begin() as conn:
        conn.execute(sa.insert(runs), [rec])
    return rec


def running(settings: Settings, name: str, within: pd.Timedelta = pd.Timedelta(minutes=30)) -> dict | None:
    """A run of ``name`` still running (started within ``within``), if any."""
    since = _now() - within.to_pytimedelta()
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(runs).where(runs.c.model == name, runs.c.status == "running", runs.c.started_at >= since)
                         .order_by(runs.c.started_at.desc())).mappings().first()  # fmt: skip
    return dict(r) if r else None


def run_record(settings: Settings, run_id: str) -> dict:
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
    if r is None:
        raise ZhijingError(f"no run {run_id}")
    return dict(r)


def run(settings: Settings, name: str, as_of: pd.Timestamp | None = None, run_id: str | None = None,
        truth=None) -> dict:  # fmt: skip
    """Run one model now; publish its warnings atomically, or record the failure. With
    ``run_id`` (from ``start``) the run fills in that record. The model's card records what
    the run published, scored against ``truth`` (an ``evaluate.Truth``; by default the
    home's generated city's, when it has one)."""
    rec = run_record(settings, run_id) if run_id else start(settings, name, as_of)
    spec, run_id = MODELS[name], rec["run_id"]
    as_of = pd.Timestamp(rec["as_of"])
    with engine(settings).connect() as conn:
        known = conn.execute(sa.select(registry.c.version).where(registry.c.name == name)).scalar()
    if known != spec.version:  # a model runs as registered: first run or new version registers it
        register(settings, name)
    try:
        found = spec.load().warnings(settings, as_of)
        unit_of = _router(settings)
        rows = [{"run_id": run_id, "model": name, "version": spec.version, "subject_kind": w["subject_kind"],
                 "subject": str(w["subject"]), "label": w.get("label"), "score": float(w["score"]),
                 "evidence": json.dumps(w["evidence"], ensure_ascii=False, default=str),
                 "unit": unit_of(w["evidence"]), "department": spec.department,
                 "person": w["subject_kind"] in PERSONAL, "state": "new", "current": True, "created_at": _now()}
                for w in found]  # fmt: skip
    except Exception as exc:  # the run fails whole: nothing published, last good warnings stay
        with engine(settings).begin() as conn:
            conn.execute(sa.update(runs).where(runs.c.run_id == run_id).values(
                status="failed", error=type(exc).__name__, finished_at=_now()))  # fmt: skip
        return {**rec, "status": "failed", "error": type(exc).__name__}
    with engine(settings).begin() as conn:
        _publish(conn, name, rows)
        conn.execute(
            sa.update(runs)
            .where(runs.c.run_id == run_id)
            .values(status="ok", warnings=len(rows), finished_at=_now())
        )
    _card_run(settings, name, _scored(settings, name, rec, found, truth))
    return {**rec, "status": "ok", "warnings": len(rows)}


def _scored(settings: Settings, name: str, rec: dict, found: list[dict], truth) -> dict:
    """A run's part of the card: its id, as-of and warning count, and how those very
    warnings score against the planted truth when there is one (the harness reads it)."""
    part = {"run_id": rec["run_id"], "as_of": rec["as_of"], "warnings": len(found)}
    truth = truth if truth is not None else evaluate.Truth.of_home(settings)
    if truth is None:
        return part
    try:
        return {**part, **evaluate.judge(name, found, truth)}
    except Exception as exc:  # a truth without this model's answers: the card says so, the run stands
        return {**part, "error": type(exc).__name__}


def _publish(conn, name: str, rows: list[dict]) -> None:
    """A re-run never duplicates an open warning about the same subject: a new one is
    updated in place (score, evidence, run), one already triaged or acted on is left to its
    officer; new warnings the run no longer finds leave the inbox."""
    open_ = {r.subject: r for r in conn.execute(
        sa.select(warnings_t.c.id, warnings_t.c.subject, warnings_t.c.state)
        .where(warnings_t.c.model == name, warnings_t.c.current, warnings_t.c.state != "closed"))}  # fmt: skip
    keep, fresh = set(), []
    for row in rows:
        old = open_.get(row["subject"])
        if old is None:
            fresh.append(row)
            continue
        keep.add(old.id)
        if old.state == "new":
            conn.execute(sa.update(warnings_t).where(warnings_t.c.id == old.id).values(
                {k: row[k] for k in ("run_id", "version", "label", "score", "evidence", "unit", "department")}))  # fmt: skip
    stale = [r.id for r in open_.values() if r.state == "new" and r.id not in keep]
    if stale:
        conn.execute(sa.update(warnings_t).where(warnings_t.c.id.in_(stale)).values(current=False))
    if fresh:
        conn.execute(sa.insert(warnings_t), fresh)


def run_all(settings: Settings) -> list[dict]:
    """The scheduled job: every registered model, now."""
    return [run(settings, name) for name in MODELS]


def demo_models(settings: Settings, city, console=None) -> list[dict]:
    """The demo's risk step, with progress: each model back-tested against the generated
    city's planted truth (written to its model card) when the truth is there, then run as
    of the city's present, that run's warnings scored on the card too."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    truth = evaluate.Truth(Path(city)) if city is not None and (Path(city) / "truth").is_dir() else None
    out = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:  # fmt: skip
        task = bar.add_task("风险预警 warning models", total=len(MODELS))
        for name, spec in MODELS.items():
            if truth is not None and name in evaluate.EVALUATORS:
                bar.update(task, description=f"风险预警 {spec.title}：评估 evaluate")
                try:
                    register(settings, name, evaluate.EVALUATORS[name](settings, truth))
                except Exception as exc:  # an evaluation that cannot run leaves the card saying why
                    register(settings, name, {"error": type(exc).__name__})
            bar.update(task, description=f"风险预警 {spec.title}：运行 run")
            out.append(run(settings, name, truth=truth))
            bar.advance(task)
    return out


def _below(conn, unit: str) -> list[str]:
    """The unit and every unit under it."""
    out, frontier = [unit], [unit]
    while frontier:
        frontier = (
            conn.execute(sa.select(acc.units.c.code).where(acc.units.c.parent_code.in_(frontier)))
            .scalars()
            .all()
        )
        out += frontier
    return out


def inbox(
    settings: Settings, unit: str, department: str | None = None, model: str | None = None
) -> list[dict]:
    """A unit's current open warnings, best first (all of them; see ``inbox_page``)."""
    return inbox_page(settings, unit, department, model, limit=None)["items"]


def inbox_page(settings: Settings, unit: str, department: str | None = None, model: str | None = None,
               state: str | None = None, since: datetime | None = None, until: datetime | None = None,
               limit: int | None = 50, offset: int = 0, grouped: bool = False) -> dict:  # fmt: skip
    """One page of a unit's current warnings, best first, with the total that match: those
    routed to it or to units under it, and those for its department's desk at the units
    above it. Open ones unless ``state`` asks (closed too). A person warning shows no
    identity here. ``grouped``: one item per event (see ``_grouped``), counted and paged so."""
    with engine(settings).connect() as conn:
        above = purposes.unit_chain(conn, unit)[1:]
        mine = sa.or_(warnings_t.c.unit.in_(_below(conn, unit)),
                      sa.and_(warnings_t.c.unit.in_(above), warnings_t.c.department == department))  # fmt: skip
        where = [mine, warnings_t.c.current]
        where.append(warnings_t.c.state == state if state else warnings_t.c.state != "closed")
        if model:
            where.append(warnings_t.c.model == model)
        if since is not None:
            where.append(warnings_t.c.created_at >= since)
        if until is not None:
            where.append(warnings_t.c.created_at < until)
        q = sa.select(warnings_t).where(*where).order_by(warnings_t.c.score.desc(), warnings_t.c.id)
        if grouped:
            return {"offset": offset, "limit": limit, **_grouped(conn.execute(q).mappings().all(), limit, offset)}
        total = conn.execute(sa.select(sa.func.count()).select_from(warnings_t).where(*where)).scalar() or 0
        rows = conn.execute(q.offset(offset).limit(limit) if limit is not None else q.offset(offset)).mappings().all()
    return {"total": int(total), "offset": offset, "limit": limit, "items": [_public(dict(r)) for r in rows]}


def _grouped(rows, limit: int | None, offset: int) -> dict:
    """The warnings of one event as one item (a gathering's windows, by the model's ``group``
    of a subject), led by its best-scored warning, its members beside it; paged by item."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        spec = MODELS.get(r["model"])
        by = getattr(spec.load(), "group", None) if spec and not r["person"] else None
        groups.setdefault((r["model"], by(r["subject"]) if by else f"#{r['id']}"), []).append(r)
    page = list(groups.values())[offset : offset + limit if limit is not None else None]
    items = []
    for members in page:
        lead = _public(dict(members[0]))
        if len(members) > 1:
            lead["members"] = [_public(dict(m)) for m in members]
        items.append(lead)
    return {"total": len(groups), "items": items}


def _public(r: dict) -> dict:
    r["evidence"] = json.loads(r["evidence"] or "{}")
    if r["person"]:
        r["subject"], r["evidence"] = None, {"hidden": "打开需说明用途（案件/工单）并留痕"}
    return r


def get(settings: Settings, warning_id: int) -> dict:
    """One warning as stored (identity included: callers apply the access layer)."""
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(warnings_t).where(warnings_t.c.id == warning_id)).mappings().first()
    if r is None:
        raise ZhijingError(f"no warning {warning_id}")
    return {**r, "evidence": json.loads(r["evidence"] or "{}")}


def open_warning(settings: Settings, username: str, purpose: str | None, warning_id: int) -> dict:
    """One warning in full. A person warning needs a purpose the caller may use; either way
    the opening of a person warning is audited (refusals too)."""
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(warnings_t).where(warnings_t.c.id == warning_id)).mappings().first()
    if r is None:
        raise ZhijingError(f"no warning {warning_id}")
    r = dict(r)
    if not r["person"]:
        r["evidence"] = json.loads(r["evidence"] or "{}")
        return r
    user = load_user(settings, username)
    check = purposes.check(settings, user.username, user.unit, purpose)
    ok = check.ok and check.in_scope and permitted(user, "person:read", check)
    reason = None if ok else (check.reason or "not permitted: person:read")
    append(AuditEvent(actor=user.username, unit=user.unit, operation="consult", outcome="allowed" if ok else "refused",
                      purpose=purpose, records=[r["subject"]], query=f"risk warning {warning_id}", client="api",
                      reason=reason), settings)  # fmt: skip
    if not ok:
        raise AccessDenied(reason)
    r["evidence"] = json.loads(r["evidence"] or "{}")
    return r


def advance(
    settings: Settings, warning_id: int, username: str, state: str, verdict: str | None = None, note: str = ""
) -> None:
    """Triage → act → close; closing takes a verdict (confirmed / false_alarm / unclear)."""
    with engine(settings).begin() as conn:
        r = conn.execute(
            sa.select(warnings_t.c.state, warnings_t.c.model).where(warnings_t.c.id == warning_id)
        ).first()
        if r is None:
            raise ZhijingError(f"no warning {warning_id}")
        if state not in STATES[r.state]:
            raise ZhijingError(f"处于“{STATE_ZH[r.state]}”的预警不能转为“{STATE_ZH.get(state, state)}”")
        if state == "closed" and verdict not in VERDICTS:
            raise ZhijingError("关闭预警须给出结论：属实、误报或无法判断")
        conn.execute(sa.update(warnings_t).where(warnings_t.c.id == warning_id).values(state=state))
        if verdict:
            conn.execute(sa.insert(feedback), [{"warning_id": warning_id, "model": r.model, "username": username,
                                                "verdict": verdict, "note": note, "at": _now()}])  # fmt: skip


def precision(settings: Settings) -> dict[str, dict]:
    """Each model's running precision from closed warnings' feedback (unclear not counted)."""
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(feedback.c.model, feedback.c.verdict, sa.func.count()).group_by(
            feedback.c.model, feedback.c.verdict)).all()  # fmt: skip
    out: dict[str, dict] = {}
    for model, verdict, n in rows:
        out.setdefault(model, dict.fromkeys(VERDICTS, 0))[verdict] = n
    for v in out.values():
        judged = v["confirmed"] + v["false_alarm"]
        v["precision"] = v["confirmed"] / judged if judged else None
    return out


def model_cards(settings: Settings) -> list[dict]:
    """Registry rows with their evaluation and running precision (the console's model cards)."""
    with engine(settings).connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(registry)).mappings().all()]
    prec = precision(settings)
    for r in rows:
        r["training_data"], r["evaluation"] = (
            json.loads(r["training_data"] or "{}"),
            json.loads(r["evaluation"] or "{}"),
        )
        r["feedback"] = prec.get(r["name"], {})
    return rows


def evaluate_all(settings: Settings, city: Path, cards: bool = True) -> dict[str, dict]:
    """Back-test every model against the city's truth; with ``cards``, write each score
    to its model card and run the model as of its present, that run's warnings (published
    to the inbox) scored on the card beside the back-test."""
    truth = evaluate.Truth(city)
    out = {}
    for name, fn in evaluate.EVALUATORS.items():
        out[name] = fn(settings, truth)
        if cards:
            register(settings, name, out[name])
            run(settings, name, truth=truth)
    if cards:
        out = {c["name"]: c["evaluation"] for c in model_cards(settings) if c["name"] in out}
    return out
