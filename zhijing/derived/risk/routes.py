"""API of the risk platform: model cards, runs on demand, a unit's warning inbox,
triage / act / close with feedback, tomorrow's hot cells, and — under a purpose, audited —
the person behind a warning, a warning's transfer flows, and "六同" contact tracing (only
under a declared emergency, which the policy engine enforces)."""

from __future__ import annotations

import json
import threading

import pandas as pd
from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query

from zhijing.access import purpose as purposes
from zhijing.access.guard import permitted, require
from zhijing.config import get_settings
from zhijing.derived import placename
from zhijing.derived.risk import contacts, data, handoff, hotspots, loop
from zhijing.derived.risk.registry import MODELS
from zhijing.errors import ZhijingError
from zhijing.localtime import shown, shown_all, shown_fields, zone

router = APIRouter(prefix="/api/risk", tags=["risk"])
PERSON_HIDDEN = "该预警涉及个人：请选择用途（案件/工单）后打开，访问将留痕"


def _warning(wid: str) -> dict:
    if not wid.isdigit() or not 0 < int(wid) < 2**62:  # an id is a row number, never a hostile integer
        raise HTTPException(404, "no such warning")
    try:
        return loop.get(get_settings(), int(wid))
    except (ValueError, ZhijingError):
        raise HTTPException(404, "no such warning") from None


@router.get("/models")
def models(ctx=Depends(require("risk:read", person_data=False))) -> list[dict]:
    """Model cards: version, training data versions, evaluation, running precision."""
    settings = get_settings()
    cards = {c["name"]: c for c in loop.model_cards(settings)}
    precision = loop.precision(settings)
    can_run = permitted(ctx.user, "risk:run", None)  # the console shows 立即运行 only to those who may
    out = []
    for m in MODELS.values():
        card = _card_json({k: v for k, v in cards.get(m.name, {}).items() if k not in ("name", "title", "version")})
        out.append({"name": m.name, "title": m.title, "person": m.person, "department": m.department,
                    "version": m.version, **card, "feedback": precision.get(m.name, {}), "can_run": can_run})  # fmt: skip
    return out


def _card_json(card: dict) -> dict:
    """A model card as the API shows it: when it was registered, and the as-of of its last run
    (the wall time the run ran as of), in the deployment's zone."""
    run = (card.get("evaluation") or {}).get("run")
    if isinstance(run, dict) and run.get("as_of"):
        card = {**card, "evaluation": {**card["evaluation"], "run": {**run, "as_of": shown(run["as_of"], naive="local")}}}
    return shown_all(shown_fields(card, "registered_at"))


@router.post("/models/{name}/run", status_code=202)
def run(name: str, ctx=Depends(require("risk:run", person_data=False, audited=True))) -> dict:
    """Start a run in the background and return its id at once (poll ``/runs/{run_id}``);
    a run of the model already under way is returned instead of a second one."""
    if name not in MODELS:
        raise HTTPException(404, f"unknown model {name!r}")
    settings = get_settings()
    rec = loop.running(settings, name)
    if rec is None:
        rec = loop.start(settings, name)
        threading.Thread(target=loop.run, args=(settings, name), kwargs={"run_id": rec["run_id"]},
                         name=f"risk-run-{rec['run_id']}", daemon=True).start()  # fmt: skip
    return _run_json(rec)


@router.get("/runs/{run_id}")
def run_state(run_id: str, ctx=Depends(require("risk:read", person_data=False))) -> dict:
    """A run's state: running, ok (with its warning count) or failed (with the error)."""
    try:
        return _run_json(loop.run_record(get_settings(), run_id[:40]))
    except ZhijingError:
        raise HTTPException(404, "no such run") from None


def _run_json(r: dict) -> dict:
    """A run as the API shows it: its clock times (UTC) and ``as_of`` (the wall time the
    model ran as of) in the deployment's zone."""
    out = {k: shown(v) if k.endswith("_at") else v for k, v in r.items() if k != "data_version"}
    return {**out, "as_of": shown(r.get("as_of"), naive="local")}


@router.get("/inbox")
def inbox(model: str | None = None, state: str | None = None, since: str | None = None, until: str | None = None,
          limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=10**7), grouped: bool = False,
          ctx=Depends(require("risk:read", person_data=False))) -> dict:  # fmt: skip
    """One page of the caller's unit's warnings (open ones unless ``state`` asks), best
    first, with the total that match; ``since``/``until`` are dates or times (a person
    warning names no one here). A warning of a place names it (``place``: street and
    station); ``grouped`` makes one item of an event's warnings (a gathering's windows,
    its ``members``)."""
    state = state or None
    if state is not None and state not in loop.STATES:
        raise HTTPException(422, "状态须为 new / triaged / acting / closed 之一")
    settings = get_settings()
    page = loop.inbox_page(settings, ctx.user.unit, ctx.user.department, model or None, state,
                           _when(since), _when(until, end=True), limit, offset, grouped)  # fmt: skip
    _placed(settings, page["items"] + [m for w in page["items"] for m in w.get("members", [])])
    return {**page, "items": [{**_json(w), "members": [_json(m) for m in w["members"]]} if "members" in w else _json(w)
                              for w in page["items"]]}  # fmt: skip


def _placed(settings, warnings: list[dict]) -> None:
    """Names the place of each area warning (its street and station) in ``place``."""
    at = [(w, placename.point_of(w["subject"], w["evidence"])) for w in warnings if w.get("subject_kind") == "area"]
    at = [(w, p) for w, p in at if p is not None]
    if not at:
        return
    names = placename.namer(settings).names([p[0] for _, p in at], [p[1] for _, p in at])
    for (w, _), name in zip(at, names, strict=True):
        w["place"] = name


def _when(text: str | None, end: bool = False):
    """A date (a whole day: ``until`` takes its end) or a time, in the deployment's zone, as UTC."""
    if not text:
        return None
    try:
        t = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        raise HTTPException(422, "起止时间须为日期或时间（YYYY-MM-DD[THH:MM]）") from None
    if pd.isna(t):
        raise HTTPException(422, "起止时间须为日期或时间（YYYY-MM-DD[THH:MM]）")
    if end and len(text) <= 10:
        t += pd.Timedelta(days=1)
    t = t.tz_localize(zone()) if t.tzinfo is None else t
    return t.tz_convert("UTC").to_pydatetime()


@router.get("/warnings/{wid}")
def warning(wid: str, ctx=Depends(require("risk:read", person_data=False))) -> dict:
    w = _warning(wid)
    if w["person"]:
        raise HTTPException(403, PERSON_HIDDEN)
    _placed(get_settings(), [w])
    return _json(w)


def _opened(ctx, wid: str, what: str = "") -> dict:
    """A warning opened under the caller's purpose, audited as a consult naming what it
    needs: a person warning opens only under a case (or order) of its own kind — a mule
    warning under a fraud case, never under a burglary case or a service ticket."""
    w = _warning(wid)
    spec = MODELS.get(w["model"])
    topics = spec.topics if spec else ()
    if w["person"] and not (ctx.purpose_kind in ("case", "order") and ctx.topic in topics):
        raise ctx.refuse([w["subject"]], f"this warning opens under a case of its own kind ({', '.join(topics) or '—'}), not this purpose")
    ctx.audit("consult", [w["subject"]] if w["person"] else [], f"risk warning {wid}{what} topic {'|'.join(topics) or '-'}")
    return w


@router.get("/warnings/{wid}/person")
def warning_person(wid: str, ctx=Depends(require("person:read"))) -> dict:
    """A person warning in full, under a purpose of its kind (audited as a consult)."""
    return _json(_opened(ctx, wid))


@router.get("/warnings/{wid}/flows")
def flows(wid: str, ctx=Depends(require("person:read"))) -> dict:
    """The transfers around a warning's accounts (nodes and links for the evidence graph);
    account numbers are personal data, so this needs a purpose of the warning's kind and is audited."""
    w = _opened(ctx, wid, " flows")
    ev = w["evidence"]
    accounts = sorted(
        {a for a in [ev.get("account"), *ev.get("accounts", [])] if a}
        | ({w["subject"]} if w["subject_kind"] == "account" else set())
    )
    if not accounts:
        return {"nodes": [], "links": []}
    tx = data.transfers(get_settings())
    tx = tx[tx.payer.isin(accounts) | tx.payee.isin(accounts)].nlargest(300, "amount")
    ctx.audit("consult", accounts)
    nodes = sorted(set(tx.payer) | set(tx.payee))
    return {"nodes": [{"id": n, "focus": n in accounts} for n in nodes],
            "links": [{"source": r.payer, "target": r.payee, "amount": float(r.amount), "time": shown(r.ts)} for r in tx.itertuples()]}  # fmt: skip


@router.post("/warnings/{wid}/state")
def advance(wid: str, state: str = Form(...), verdict: str | None = Form(None), note: str = Form(""),
            ctx=Depends(require("risk:triage", person_data=False, audited=True))) -> dict:  # fmt: skip
    """Triage → act → close (closing takes a verdict that feeds the model's precision)."""
    _warning(wid)
    try:
        loop.advance(get_settings(), int(wid), ctx.user.username, state, verdict, note)
    except ZhijingError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"id": int(wid), "state": state}


@router.get("/hotcells")
def hotcells(day: str | None = None, wait: float = Query(0.3, ge=0, le=60),
             ctx=Depends(require("risk:read", person_data=False))) -> dict:  # fmt: skip
    """Tomorrow's burglary hot cells for patrol planning: places and expected counts only.
    Computed once per day and data version in the background: until it is done (``state``
    ``computing``, after waiting up to ``wait`` seconds) the answer says how far it is."""
    try:
        as_of = pd.Timestamp(day) if day else hotspots.today()
    except (ValueError, TypeError, OverflowError):
        raise HTTPException(422, "day must be a date (YYYY-MM-DD)") from None
    if pd.isna(as_of):
        raise HTTPException(422, "day must be a date (YYYY-MM-DD)")
    if as_of.tzinfo is not None:
        as_of = as_of.tz_convert(zone()).tz_localize(None)
    settings = get_settings()
    found = hotspots.cached_forecast(settings, as_of, wait)
    top = found["cells"][:HOT_NAMED]  # the patrol's list: the hottest cells by street and station
    for cell, name in zip(top, placename.namer(settings).names([c["lon"] for c in top], [c["lat"] for c in top]), strict=True):
        cell["place"] = name
    return {"as_of": str(as_of.date()), "cell_m": hotspots.CELL_M, **found}


HOT_NAMED = 10


@router.get("/contacts")
def trace(index: list[str] = Query(...), ctx=Depends(require("person:combine"))) -> dict:
    """ "六同" contacts of the index cases the declared emergency names (policy: emergency only)."""
    if not set(index) <= set(ctx.subjects):
        ctx.refusal = "the emergency does not name these index cases"
        raise HTTPException(403, ctx.refusal)
    settings = get_settings()
    found = contacts.trace_contacts(settings, index)
    again = purposes.check(settings, ctx.user.username, ctx.user.unit, ctx.purpose)
    if not again.ok:  # the emergency ended while the query ran: nothing is shown
        ctx.refusal = again.reason
        raise HTTPException(403, again.reason)
    ctx.audit("combine", [*index, *sorted(set(found.contact_master))], "risk contacts trace")
    return {"index": index, "contacts": json.loads(found.to_json(orient="records", force_ascii=False))}


@router.get("/handoff")
def handoff_list(ctx=Depends(require("person:read"))) -> dict:
    """The health department reads a hand-off list under its ticket (X-Purpose: ticket:HO-…)."""
    rows = handoff.listing(get_settings(), ctx.purpose or "")
    if not rows:
        raise HTTPException(404, "no hand-off under this purpose")
    ctx.audit("consult", sorted({r["contact_master"] for r in rows}), "risk contacts handoff list")
    return {"ticket": ctx.purpose, "contacts": rows}


def _json(w: dict) -> dict:
    """A warning as the API shows it: when it was raised, and every time its evidence names,
    in the deployment's zone."""
    return {**w, "created_at": shown(w.get("created_at")), "evidence": shown_all(w.get("evidence"))}


def register(app: FastAPI) -> None:
    app.include_router(router)
