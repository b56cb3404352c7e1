"""The case workspace API. Every route runs under the case itself as its purpose (the
``X-Purpose`` must be the case being worked on), passes the access layer and is audited;
the list of one's cases names no person and needs no purpose."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from zhijing.access.guard import AccessContext, require
from zhijing.cases import report, store
from zhijing.cases.procedure import service
from zhijing.config import get_settings
from zhijing.entities import export_routes
from zhijing.entities.routes import GRADES
from zhijing.errors import ZhijingError

router = APIRouter(prefix="/api/cases", tags=["cases"])


class Item(BaseModel):
    kind: Literal["subject", "search", "analysis", "pin", "note"]
    title: str = Field(..., min_length=1, max_length=256)
    payload: dict[str, Any] = Field(default_factory=dict)


def _the_case(ctx: AccessContext, ref: str) -> dict:
    """The case named in the path, which must be the purpose the request runs under."""
    if ctx.purpose != ref:
        ctx.refusal = "the purpose must be this case"
        raise HTTPException(403, ctx.refusal)
    case = store.case_of(get_settings(), ref)
    if case is None or case["kind"] != "case":
        raise HTTPException(404, "no such case")
    return case


@router.get("")
def my_cases(ctx: AccessContext = Depends(require("case:list", person_data=False))) -> dict:
    return {"cases": store.cases_of(get_settings(), ctx.user.username)}


@router.get("/{ref}")
def workspace(ref: str, ctx: AccessContext = Depends(require("case:read"))) -> dict:
    case = _the_case(ctx, ref)
    items = store.list_items(get_settings(), ref)
    names = _names(ctx, items)
    ctx.audit("consult", list(dict.fromkeys([s for i in items if i["kind"] == "subject" for s in i["payload"].get("master_ids", [])] + list(names))),
              query=f"case workspace {ref}")  # fmt: skip
    procedure = service.case_of_workspace(get_settings(), ref)  # the procedure cases (办案程序) this 专案 works on
    return {"case": {k: case[k] for k in ("ref", "title", "status", "unit_code")}, "items": items, "procedure": procedure, "names": names}


@router.post("/{ref}/items")
def add_item(ref: str, item: Item, ctx: AccessContext = Depends(require("case:write"))) -> dict:
    _the_case(ctx, ref)
    if item.kind == "subject":
        ids = item.payload.get("master_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise HTTPException(422, "a subject item names master_ids: a list of person IDs")
    if len(str(item.payload)) > 200_000:
        raise HTTPException(413, "an item's payload is limited to 200 kB")
    item_id = store.add(get_settings(), ref, item.kind, item.title, item.payload, ctx.user.username)
    ctx.audit("alter", item.payload.get("master_ids", []) if item.kind == "subject" else [], query=f"case {ref} add {item.kind} {item_id}")
    return {"id": item_id}


@router.delete("/{ref}/items/{item_id}")
def remove_item(ref: str, item_id: int = Path(..., ge=1, le=2**62), ctx: AccessContext = Depends(require("case:write"))) -> dict:
    _the_case(ctx, ref)
    if not store.remove(get_settings(), ref, item_id, ctx.user.username):
        raise HTTPException(404, "no such item in this case")
    ctx.audit("alter", query=f"case {ref} remove item {item_id}")
    return {"removed": item_id}


def _people(ctx: AccessContext, ids: list[str]) -> list[tuple[str, dict, dict]]:
    """(master id, row, masked row) of the persons among ``ids`` the caller may see (need to
    know and masking as in the file)."""
    from zhijing.entities.routes import _mask_row
    from zhijing.serving.person_file import persons_by_id

    if not ids:  # an empty workspace names nobody (and needs no serving store)
        return []
    found = persons_by_id(get_settings(), ids)
    return [(mid, row, _mask_row(ctx, {k: v for k, v in row.items() if k != "places"}))
            for mid in ids if (row := found.get(mid)) is not None and ctx.may_see(mid, row["places"])]  # fmt: skip


def _subjects(ctx: AccessContext, items: list[dict]) -> list[dict]:
    """The case's subjects as the caller may see them."""
    ids = list(dict.fromkeys(s for i in items if i["kind"] == "subject" for s in i["payload"].get("master_ids", [])))
    return [{"master_id": mid, "label": masked.get("name") or mid, "citizen_id": masked.get("citizen_id"), "records": masked.get("records", 0),
             "grades": [GRADES.get(k, "internal") for k in ("name", "citizen_id") if row.get(k)]}
            for mid, row, masked in _people(ctx, ids)]  # fmt: skip


def _names(ctx: AccessContext, items: list[dict]) -> dict[str, str]:
    """Every person the items name (companions, hits, edges, search groups), by master ID → the
    name as the caller may see it (masked as its grade requires); persons out of scope stay IDs."""
    return {mid: masked["name"] for mid, _, masked in _people(ctx, report.persons_named(items)) if masked.get("name")}


def report_export(ctx: AccessContext, ref: str, what: str) -> export_routes.Prepared:
    """The case report as an export (DESIGN.md §2.8): its rows are the subjects and the
    evidence rows, its grade the highest a subject shows unmasked — the thresholds, the
    approval, the watermark and the oversight rules of every export apply."""
    case = _the_case(ctx, ref)
    items = store.list_items(get_settings(), ref)
    subjects = _subjects(ctx, items)
    names = _names(ctx, items)
    evidence = report.evidence(items)[0]
    ctx.audit("consult", list(dict.fromkeys([s["master_id"] for s in subjects] + list(names))), query=f"case report {ref} ({what})")
    grade = export_routes.shown_grade(ctx.user.clearance, [g for s in subjects for g in s["grades"]] + [GRADES.get("name", "internal")] * bool(names))
    safe = _safe(ref)

    def write(fmt: export_routes.Format) -> tuple[str | bytes, str, str, str]:
        html, export_id = report.render_html(get_settings(), case, items, subjects, ctx.user.username, names)
        if fmt == "html":
            return html, export_id, "text/html; charset=utf-8", f"{safe}-{export_id}.html"
        try:
            return report.to_pdf(html), export_id, "application/pdf", f"{safe}-{export_id}.pdf"
        except ZhijingError as exc:
            raise HTTPException(503, str(exc)) from None

    shown = list(dict.fromkeys([s["master_id"] for s in subjects] + list(names)))
    return export_routes.Prepared(len(subjects) + len(evidence), grade, shown, "case report", write)


export_routes.TARGETS[export_routes.REPORT] = report_export


def _safe(ref: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in ref)


def ftm_export(ctx: AccessContext, ref: str, what: str) -> export_routes.Prepared:
    """The case as FollowTheMoney entities: its subjects, and the model rows of its evidence
    (every pin's dataset and record), with the persons they name the caller may see."""
    from zhijing.entities import ftm_export as ftm

    _the_case(ctx, ref)
    items = store.list_items(get_settings(), ref)
    subjects = [s for i in items if i["kind"] == "subject" for s in i["payload"].get("master_ids", [])]
    records = [(r["dataset"], r["record_id"]) for r in report.evidence(items)[0] if r["dataset"] and r["record_id"]]
    return ftm.prepare(ctx, f"case {ref} FtM ({what})", _safe(ref), subjects, records)


export_routes.TARGETS[export_routes.FTM_CASE] = ftm_export


@router.get("/{ref}/report")
def case_report(ref: str, format: export_routes.Format = "html", reason: str | None = Query(None, description="导出事由 (the stated reason)"),
                ctx: AccessContext = Depends(require("case:export"))) -> Response:  # fmt: skip
    """The case report at once, watermarked with who, when and the case, audited as a
    disclosure — when it needs no second officer's approval; a larger one is requested with
    ``POST /api/exports`` {case_report, reason} and downloaded once approved."""
    _the_case(ctx, ref)
    return export_routes.export_at_once(ctx, export_routes.REPORT + ref, reason, format)


@router.get("/{ref}/ftm")
def case_ftm(ref: str, reason: str | None = Query(None, description="导出事由 (the stated reason)"),
             ctx: AccessContext = Depends(require("case:export"))) -> Response:  # fmt: skip
    """The case's subjects and evidence as a FollowTheMoney entity stream (JSON lines, for
    Aleph / OpenAleph and other FtM tools), at once when it needs no second officer's
    approval; else requested with ``POST /api/exports`` {ftm_case, reason}."""
    _the_case(ctx, ref)
    return export_routes.export_at_once(ctx, export_routes.FTM_CASE + ref, reason)


@router.post("/{ref}/close")
def close_case(ref: str, ctx: AccessContext = Depends(require("case:close"))) -> dict:
    """Close the case; its purpose closes with it, so every later request under it is refused."""
    _the_case(ctx, ref)
    store.close(get_settings(), ref)
    ctx.audit("alter", query=f"case {ref} closed")
    return {"ref": ref, "status": "closed"}


def register(app: FastAPI) -> None:
    app.include_router(router)
