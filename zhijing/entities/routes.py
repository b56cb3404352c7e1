"""The person API (一人一档), every route behind the access layer: a purpose, a policy
decision, masking to the caller's clearance, and an audit event naming the persons
touched."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Response
from pydantic import BaseModel

from zhijing.access.guard import AccessContext, require
from zhijing.access.masking import watermarked_csv
from zhijing.config import get_settings
from zhijing.entities import explain as explainer
from zhijing.entities import judgements, person_file
from zhijing.errors import ZhijingError
from zhijing.governance.catalog import ELEMENT_GRADES

router = APIRouter(prefix="/api/persons", tags=["persons"])
GRADES = {**ELEMENT_GRADES, "address_district": "public", "district": "public", "birth_date": "sensitive"}
KINDS = {"address_district": "address", "district": "address"}


def file_districts(f: dict[str, Any]) -> list[str | None]:
    """Every district a person file knows for the person (places them for need to know)."""
    return [v["value"] for v in f["facts"].get("address_district", [])]


def _mask_row(ctx: AccessContext, row: dict) -> dict:
    return ctx.mask(row, GRADES, KINDS)


@router.get("/search")
def search(q: str = Query(..., min_length=2), ctx: AccessContext = Depends(require("person:search"))) -> dict[str, Any]:
    found = person_file.search(get_settings(), q, limit=500)  # need to know filters before the page is cut
    results = [r for r in found if ctx.may_see(r["master_id"], [r["district"]])][:20]
    ctx.audit("consult", [r["master_id"] for r in results], query=f"search name/id/phone ({len(q)} chars)")
    return {"results": [_mask_row(ctx, r) for r in results]}


@router.get("/review")
def review(ctx: AccessContext = Depends(require("person:read"))) -> dict[str, Any]:
    items = judgements.review_queue(get_settings())
    ctx.audit("consult", [m for i in items for m in i["mentions"]][:500], query="review queue")
    return {"items": items}


@router.get("/explain")
def explain(a: str, b: str, ctx: AccessContext = Depends(require("person:read"))) -> dict[str, Any]:
    try:
        out = explainer.explain(get_settings(), a, b)
    except ZhijingError as exc:
        raise HTTPException(404, str(exc)) from None
    ctx.audit("combine", [a, b], query="explain link")
    for step in out["waterfall"]:
        if step["comparison"] in ("citizen_id", "phone", "id_birth"):
            step["left"], step["right"] = (ctx.mask({"v": step[k]}, {"v": "sensitive"}, {"v": step["comparison"]})["v"]
                                           for k in ("left", "right"))  # fmt: skip
    return out


class Judgement(BaseModel):
    a: str
    b: str
    verdict: str


@router.post("/judgements")
def judge(body: Judgement, ctx: AccessContext = Depends(require("person:judge"))) -> dict[str, Any]:
    try:
        jid = judgements.judge(get_settings(), body.a, body.b, body.verdict, ctx.user.username)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    ctx.audit("alter", [body.a, body.b], query=f"judge {body.verdict}")
    return {"id": jid, "verdict": body.verdict}


def _file_or_404(ctx: AccessContext, master_id: str, what: str) -> dict[str, Any]:
    f = person_file.person_file(get_settings(), master_id)
    if f is None:
        raise HTTPException(404, "no such person")
    ctx.query = what
    ctx.require_visible(master_id, file_districts(f))
    ctx.audit("consult", [master_id], query=what)
    return f


@router.get("/{master_id}")
def person(master_id: str, ctx: AccessContext = Depends(require("person:read"))) -> dict[str, Any]:
    f = _file_or_404(ctx, master_id, "person file")
    f["facts"] = {k: [{**v, "value": _mask_row(ctx, {k: v["value"]})[k]} for v in vals] for k, vals in f["facts"].items()}
    f["relations"]["nodes"] = [{**n, "label": _mask_row(ctx, {"phone": n["label"]})["phone"]} if n["kind"] == "phone" else n
                               for n in f["relations"]["nodes"]]  # fmt: skip
    f.pop("mention_ids")
    return f


@router.get("/{master_id}/timeline")
def timeline(master_id: str, ctx: AccessContext = Depends(require("person:read"))) -> dict[str, Any]:
    return {"master_id": master_id, "events": _file_or_404(ctx, master_id, "timeline")["timeline"]}


EXPORT_COLUMNS = ["section", "element", "value", "dataset", "record_id", "summary", "sources", "first_seen", "last_seen"]


@router.get("/{master_id}/export")
def export(master_id: str, ctx: AccessContext = Depends(require("person:export"))) -> Response:
    """The person file as a watermarked CSV: facts with provenance, then linked records —
    masked exactly like the API, audited as a disclosure."""
    f = _file_or_404(ctx, master_id, "person file export")
    rows = [{"section": "fact", "element": k, "value": _mask_row(ctx, {k: v["value"]})[k], "dataset": " ".join(v["datasets"]),
             "record_id": v.get("record", ""), "sources": v["sources"], "first_seen": v["first_seen"], "last_seen": v["last_seen"]}
            for k, vals in f["facts"].items() for v in vals]  # fmt: skip
    rows += [{"section": "record", **r} for r in f["records"]]
    text, export_id = watermarked_csv(rows, EXPORT_COLUMNS, ctx.user.username, ctx.purpose)
    ctx.audit("disclose", query=f"person file export {export_id}")
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{master_id}.csv"', "X-Export-Id": export_id})


def register(app: FastAPI) -> None:
    app.include_router(router)
