"""The person API (一人一档), every route behind the access layer: a purpose, a policy
decision, masking to the caller's clearance, and an audit event naming the persons
touched."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from pydantic import BaseModel

from zhijing.access import services
from zhijing.access.guard import AccessContext, require
from zhijing.config import get_settings
from zhijing.entities import explain as explainer
from zhijing.entities import judgements
from zhijing.errors import ZhijingError
from zhijing.governance.catalog import ELEMENT_GRADES, element_grade
from zhijing.serving import person_file
from zhijing.serving.build import summary_element
from zhijing.sources.spec import load_spec

router = APIRouter(prefix="/api/persons", tags=["persons"])
GRADES = {**ELEMENT_GRADES, "address_district": "public", "district": "public", "birth_date": "sensitive"}
KINDS = {"address_district": "address", "district": "address"}


def _mask_row(ctx: AccessContext, row: dict) -> dict:
    return ctx.mask(row, GRADES, KINDS)


def record_grades(dataset: str) -> tuple[dict[str, str], dict[str, str]]:
    """(grades, kinds) of a linked record's key and summary: those of the fields they come from."""
    spec = load_spec().dataset(dataset)
    key = spec.element_of(spec.key) if spec.key in spec.field_names else None  # a line key (file:line) is no field
    elements = {"record_id": key, "summary": summary_element(get_settings(), dataset)}
    grades = {k: element_grade(spec, e) for k, e in elements.items() if e}
    kinds = {k: e for k, e in elements.items() if e}
    return grades, kinds


def _mask_record(ctx: AccessContext, rec: dict[str, Any]) -> dict[str, Any]:
    """A linked record as the caller may see it: its key (a bank account number is one) and
    its summary masked by the grades of the fields they come from."""
    grades, kinds = record_grades(rec["dataset"])
    return ctx.mask(rec, grades, kinds)


@router.get("/search")
def search(q: str = Query(..., min_length=2, max_length=64), ctx: AccessContext = Depends(require("person:search"))) -> dict[str, Any]:
    found = person_file.search(get_settings(), q, limit=500)  # need to know filters before the page is cut
    results = [r for r in found if ctx.may_see(r["master_id"], r["places"])][:20]
    ctx.audit("consult", [r["master_id"] for r in results], query=f"search name/id/phone ({len(q)} chars)")
    rows = [_mask_row(ctx, {k: v for k, v in r.items() if k != "places"}) for r in results]
    return {"results": [services.restricted_row(r, ctx.topic) for r in rows] if ctx.purpose_kind == "ticket" else rows}


@router.get("/review")
def review(ctx: AccessContext = Depends(require("person:read"))) -> dict[str, Any]:
    """Conflicts the last run held apart, each with its mentions and their masters (only
    the conflicts whose persons the purpose opens)."""
    queue = judgements.review_queue(get_settings())
    placed = {r["mention_id"]: r for r in person_file.mentions_placed(get_settings(), [m for i in queue for m in i["mentions"]])}
    items = []
    for item in queue:
        rows = sorted((placed[m] for m in item["mentions"] if m in placed), key=lambda r: (r["master_id"] is None, r["master_id"] or "", r["mention_id"]))
        if all(not r["master_id"] or ctx.may_see(r["master_id"], r["places"]) for r in rows):
            items.append({**item, "rows": [_mask_record(ctx, _mask_row(ctx, r)) for r in rows]})
    ctx.audit("consult", [m for i in items for m in i["mentions"]][:500], query="review queue")
    return {"items": items}


NO_PAIR = "no such pair of mentions within your need to know"


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def require_pair(ctx: AccessContext, a: str, b: str) -> None:
    """Both mentions exist and the caller may see the person behind each (a mention not yet
    linked is placed nowhere: only a purpose that opens every person, or names it, sees it).
    An unknown pair and a refused one get the same answer, so the answer says nothing of
    what exists; the audit trail records the refusal."""
    found = {r["mention_id"]: r for r in person_file.mentions_placed(get_settings(), [a, b])}
    visible = all(ctx.may_see(_text(r["master_id"]) or r["mention_id"], r.get("places") or []) for r in found.values())
    if a == b or set(found) != {a, b} or not visible:
        raise ctx.refuse([a, b], NO_PAIR)


@router.get("/explain")
def explain(a: str, b: str, ctx: AccessContext = Depends(require("person:read"))) -> dict[str, Any]:
    require_pair(ctx, a, b)
    try:
        out = explainer.explain(get_settings(), a, b)
    except ZhijingError as exc:
        raise HTTPException(404, str(exc)) from None
    ctx.audit("combine", [a, b], query="explain link")
    for step in out["waterfall"]:
        if step["comparison"] in ("citizen_id", "phone", "id_birth"):
            step["left"], step["right"] = (ctx.mask({"v": step[k]}, {"v": "sensitive"}, {"v": step["comparison"]})["v"]
                                           for k in ("left", "right"))  # fmt: skip
        elif step["comparison"] == "name":
            step["left"], step["right"] = (_mask_row(ctx, {"name": step[k]})["name"] for k in ("left", "right"))
    return out


class Judgement(BaseModel):
    a: str
    b: str
    verdict: str


@router.post("/judgements")
def judge(body: Judgement, ctx: AccessContext = Depends(require("person:judge"))) -> dict[str, Any]:
    require_pair(ctx, body.a, body.b)
    try:
        jid = judgements.judge(get_settings(), body.a, body.b, body.verdict, ctx.user.username)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    ctx.audit("alter", [body.a, body.b], query=f"judge {body.verdict}")
    return {"id": jid, "verdict": body.verdict}


def opaque_relations(ctx: AccessContext, relations: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The relation graph with every node but the persons renamed ``kind:n`` (an ID such as
    ``phone:138…`` carries the value itself) and phone labels masked like any phone."""
    ids: dict[str, str] = {}
    nodes = []
    for n in relations["nodes"]:
        ids[n["id"]] = n["id"] if n["kind"] == "person" else f"{n['kind']}:{len(ids) + 1}"
        label = _mask_row(ctx, {"phone": n["label"]})["phone"] if n["kind"] == "phone" else n["label"]
        nodes.append({**n, "id": ids[n["id"]], "label": label})
    links = [{**x, "source": ids.get(x["source"], x["source"]), "target": ids.get(x["target"], x["target"])}
             for x in relations["links"]]  # fmt: skip
    return {**relations, "nodes": nodes, "links": links}


def masked_file(ctx: AccessContext, master_id: str, what: str) -> dict[str, Any]:
    """The person file, need-to-know checked and audited, with every value the caller's
    clearance does not reach masked — facts, their provenance, relations, records, timeline —
    and, under a service ticket, only the fields its service needs."""
    f = person_file.person_file(get_settings(), master_id)
    if f is None:
        raise HTTPException(404, "no such person")
    ctx.query = what
    ctx.require_visible(master_id, f.pop("places"))
    ctx.audit("consult", [master_id], query=what)

    graded: dict[str, tuple[dict[str, str], dict[str, str]]] = {}  # a dataset's grades, looked up once per file

    def masked(rec: dict[str, Any]) -> dict[str, Any]:
        if rec["dataset"] not in graded:
            graded[rec["dataset"]] = record_grades(rec["dataset"])
        return ctx.mask(rec, *graded[rec["dataset"]])

    def key(dataset: str, record_id: str) -> str:
        return masked({"dataset": dataset, "record_id": record_id})["record_id"]

    f["facts"] = {k: [{**v, "value": _mask_row(ctx, {k: v["value"]})[k], "record": key(*v["record"].split(":", 1))}
                      for v in vals] for k, vals in f["facts"].items()}  # fmt: skip
    f["relations"] = opaque_relations(ctx, f["relations"])
    f["records"] = [masked(r) for r in f["records"]]
    f["timeline"] = [{**e, "record_id": key(e["dataset"], e["record_id"])} for e in f["timeline"]]
    f.pop("mention_ids")
    return services.restricted(f, ctx.topic) if ctx.purpose_kind == "ticket" else f  # a ticket: only what its service needs


@router.get("/{master_id}")
def person(master_id: str, ctx: AccessContext = Depends(require("person:read"))) -> dict[str, Any]:
    return masked_file(ctx, master_id, "person file")


@router.get("/{master_id}/timeline")
def timeline(master_id: str, ctx: AccessContext = Depends(require("person:read"))) -> dict[str, Any]:
    return {"master_id": master_id, "events": masked_file(ctx, master_id, "timeline")["timeline"]}


def register(app: FastAPI) -> None:
    app.include_router(router)
