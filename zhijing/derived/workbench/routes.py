"""The workbench API: search, trajectory, companions, collision (saved and re-run) and
comparison — each through the access layer under the case's purpose, need-to-know checked
person by person, masked to the caller's clearance, and audited with what it showed."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query
from pydantic import BaseModel, Field

from zhijing.access import services
from zhijing.access.guard import AccessContext, require
from zhijing.config import get_settings
from zhijing.derived.workbench import (
    collision,
    companions,
    compare,
    geocode,
    saved,
    scenes,
    search,
    subjects,
    trajectory,
    windows,
)
from zhijing.derived.workbench.subjects import Subject
from zhijing.entities.routes import GRADES, KINDS
from zhijing.errors import ZhijingError
from zhijing.governance.catalog import grades_for_spec
from zhijing.sources.spec import load_spec

router = APIRouter(prefix="/api", tags=["workbench"])
INVESTIGATIVE = ("case", "order", "emergency")
MAX_SEARCH_OFFSET = 1000
SEARCH_KINDS = ("person", "vehicle", "phone", "company", "incident", "case", "place", "record")
SearchKind = Literal[SEARCH_KINDS]
MASTER_GRADES = {"persons_master": (GRADES, KINDS),
                 "vehicles_master": ({"plate": "internal", "vin": "internal", "vehicle_id": "internal"}, {}),
                 "phones_master": ({"number": "sensitive", "phone_id": "internal"}, {"number": "phone"}),
                 "companies_master": ({"uscc": "public", "name": "public", "address": "internal", "company_id": "public"},
                                      {"address": "address"})}  # fmt: skip


def _unprocessable(exc: ZhijingError) -> HTTPException:
    return HTTPException(422, str(exc))


def _subject_grade(kind: str) -> tuple[str, str]:
    return ("sensitive", "phone") if kind == "phone" else ("internal", kind)


def mask_point(ctx: AccessContext, row: dict, kind: str) -> dict:
    """A presence row (or evidence) as the caller may see it."""
    grade, element = _subject_grade(kind)
    via_kind = "phone" if str(row.get("via") or "").isdigit() else "plate"
    grades = {"subject": grade, "via": _subject_grade(via_kind)[0], "record_id": "internal", "my_record": "internal",
              "place_name": "internal", "lon": "internal", "lat": "internal"}  # fmt: skip
    return ctx.mask(row, grades, {"subject": element, "via": via_kind, "place_name": "address"})


def mask_fields(ctx: AccessContext, dataset: str, fields: dict) -> dict:
    """A search hit's values, masked by the grades of the fields they come from (a place of
    the gazetteer — a hotel, a checkpoint, a standard address — is reference data, internal)."""
    if dataset.startswith("place:"):
        return ctx.mask(fields, dict.fromkeys(fields, "internal"), {})
    if dataset in MASTER_GRADES:
        grades, kinds = MASTER_GRADES[dataset]
        return ctx.mask(fields, grades, kinds)
    spec = load_spec().dataset(dataset)
    return ctx.mask(fields, grades_for_spec(spec), {f.name: f.element for f in spec.fields})


def _persons(ctx: AccessContext, master_ids: list[str]) -> dict[str, dict]:
    """The persons the caller may see among ``master_ids``, with their masked identity."""
    ids = list(dict.fromkeys(master_ids))
    info, where = subjects.names(get_settings(), ids), subjects.places(get_settings(), ids)
    return {m: ctx.mask(r, GRADES, KINDS) for m, r in info.items() if ctx.may_see(m, where.get(m, []))}


def _subject(ctx: AccessContext, text: str) -> Subject:
    try:
        subject = subjects.resolve(get_settings(), subjects.interpret(get_settings(), text))
    except ZhijingError as exc:
        raise _unprocessable(exc) from None
    if subject.kind == "person":
        where = subjects.places(get_settings(), list(subject.ids))
        for m in subject.ids:
            ctx.require_visible(m, where.get(m, []))
    return subject


def _admitted(ctx: AccessContext, groups: list[str]) -> set[str]:
    """The search groups the caller may see: persons by need to know; other entities and
    records only under an investigative purpose (a service ticket finds persons it may see,
    nothing else)."""
    investigating = ctx.purpose_kind in INVESTIGATIVE
    persons = [g.removeprefix("person:") for g in groups if g.startswith("person:")]
    where = subjects.places(get_settings(), persons) if persons else {}
    return {g for g in groups if (ctx.may_see(g.removeprefix("person:"), where[g.removeprefix("person:")]) if g.startswith("person:")
                                  else investigating)}  # fmt: skip


@router.get("/search")
def search_all(q: str = Query(..., max_length=search.MAX_QUERY), dataset: list[str] = Query(default=[]),
               start: str | None = None, end: str | None = None, district: str | None = None,
               limit: int = Query(20, ge=1, le=100), offset: int = Query(0, ge=0, le=MAX_SEARCH_OFFSET),
               kind: list[SearchKind] = Query(default=[], max_length=len(SEARCH_KINDS)),
               ctx: AccessContext = Depends(require("search:read"))) -> dict[str, Any]:  # fmt: skip
    """云搜索 (one search): the query read as its intents (ID, phone, plate, name, crime word,
    place, ...), every dataset, master and place, grouped by what each hit is, ranked,
    highlighted, masked; ``kind`` keeps only groups of those kinds (the person screen: person);
    need to know filters the groups first, then ``offset`` pages them (``total`` counts the
    groups the caller may see, ``more`` says whether another page follows)."""
    if ctx.purpose_kind == "ticket":  # a service ticket searches the persons and its service's datasets only
        allowed = (*services.service(ctx.topic).datasets, "persons_master")
        dataset = [d for d in dataset or allowed if d in allowed]
        if not dataset:
            return {"query": q, "intents": [], "total": 0, "more": False, "groups": [], "indexed": True, "offset": offset}
    try:
        t0, t1 = subjects.span(start, end)
        found = search.query(get_settings(), q, dataset or None, t0, t1, district, limit=limit, offset=offset,
                             shown=lambda ds, f: mask_fields(ctx, ds, f), admit=lambda groups: _admitted(ctx, groups),
                             kinds=list(kind) or None)  # fmt: skip
    except ZhijingError as exc:
        raise _unprocessable(exc) from None
    groups = found["groups"]
    people = _persons(ctx, [g["id"] for g in groups if g["kind"] == "person"] + [m for g in groups for h in g["hits"] for m in h["masters"]])
    for g in groups:
        g["entity"] = people.get(g["id"]) if g["kind"] == "person" else None
        for h in g["hits"]:  # a hit names only the persons the caller may see
            h["masters"] = [m for m in h["masters"] if m in people]
    ctx.audit("consult", [g["group"] for g in groups] + [h["uid"] for g in groups for h in g["hits"]],
              query=f"search ({len(q)} chars)")  # fmt: skip
    return {**found, "offset": offset}


@router.get("/trajectory")
def get_trajectory(subject: str, start: str | None = None, end: str | None = None, limit: int = Query(500, ge=1, le=5000),
                   offset: int = Query(0, ge=0), ctx: AccessContext = Depends(require("trajectory:read"))) -> dict[str, Any]:  # fmt: skip
    """轨迹: every dated place of a person, plate or phone, time-ordered, with its record."""
    s = _subject(ctx, subject)
    try:
        out = trajectory.trajectory(get_settings(), s, *subjects.span(start, end), limit=limit, offset=offset)
    except ZhijingError as exc:
        raise _unprocessable(exc) from None
    out["points"] = [mask_point(ctx, p, s.kind) for p in out["points"]]
    ctx.audit("consult", [s.label] + [f"{p['dataset']}:{p['record_id']}" for p in out["points"]], query="trajectory")
    return out


@router.get("/companions")
def get_companions(subject: str, dt: int = Query(120, ge=1, le=companions.MAX_DT), start: str | None = None, end: str | None = None,
                   limit: int = Query(50, ge=1, le=500), ctx: AccessContext = Depends(require("companions:read"))) -> dict[str, Any]:  # fmt: skip
    """同行/同住/同乘: who shares trips, hotel nights and checkpoints with the subject."""
    s = _subject(ctx, subject)
    try:
        out = companions.companions(get_settings(), s, dt, *subjects.span(start, end), limit=limit)
    except ZhijingError as exc:
        raise _unprocessable(exc) from None
    if s.kind == "person":
        people = _persons(ctx, [c["subject"] for c in out["companions"]])
        out["companions"] = [{**c, "person": people[c["subject"]]} for c in out["companions"] if c["subject"] in people]
    for c in out["companions"]:
        c["evidence"] = [mask_point(ctx, e, s.kind) for e in c["evidence"]]
        c.update(mask_point(ctx, {"subject": c["subject"]}, s.kind))
    ctx.audit("combine", [s.label] + [f"{s.kind}:{c['subject']}" for c in out["companions"]]
              + [f"{e['dataset']}:{e['record_id']}" for c in out["companions"] for e in c["evidence"]], query="companions")  # fmt: skip
    return out


class CollisionBody(BaseModel):
    windows: list[dict] = Field(default_factory=list)
    k: int | None = None
    kinds: list[str] | None = None
    limit: int = Field(100, ge=1, le=1000)
    save: bool = False
    name: str = ""


def _collide(ctx: AccessContext, spec: dict) -> dict[str, Any]:
    settings = get_settings()
    try:
        wins = windows.parse(settings, spec.get("windows") or [])
        out = collision.collide(settings, wins, spec.get("k"), spec.get("kinds"), limit=spec.get("limit", 100))
    except ZhijingError as exc:
        raise _unprocessable(exc) from None
    people = _persons(ctx, [h["subject"] for h in out["hits"] if h["kind"] == "person"])
    out["hits"] = [{**h, "person": people.get(h["subject"])} for h in out["hits"] if h["kind"] != "person" or h["subject"] in people]
    for h in out["hits"]:
        h["evidence"] = [mask_point(ctx, e, h["kind"]) for e in h["evidence"]]
        h.update(mask_point(ctx, {"subject": h["subject"]}, h["kind"]))
    ctx.audit("combine", [f"{h['kind']}:{h['subject']}" for h in out["hits"]]
              + [f"{e['dataset']}:{e['record_id']}" for h in out["hits"] for e in h["evidence"]],
              query=f"collision of {len(wins)} windows, k={out['k']}")  # fmt: skip
    return out


@router.post("/collision")
def post_collision(body: CollisionBody, ctx: AccessContext = Depends(require("collision:combine"))) -> dict[str, Any]:
    """碰撞: who was present in at least k of the windows; ``save`` keeps it under the case."""
    spec = body.model_dump(exclude={"save", "name"})
    out = _collide(ctx, spec)
    if body.save:
        out["saved_id"] = saved.save(get_settings(), ctx.purpose, body.name or "碰撞", spec, ctx.user.username, len(out["hits"]))
    return out


@router.get("/collision/saved")
def list_collisions(ctx: AccessContext = Depends(require("collision:read"))) -> dict[str, Any]:
    """The collisions saved under this purpose."""
    items = saved.listed(get_settings(), ctx.purpose)
    ctx.audit("consult", [f"collision:{i['id']}" for i in items], query="saved collisions")
    return {"items": items}


@router.post("/collision/saved/{cid}/run")
def rerun_collision(cid: int = Path(..., ge=1, le=2**62), ctx: AccessContext = Depends(require("collision:combine"))) -> dict[str, Any]:
    """Re-run a saved collision over the current data."""
    item = saved.get(get_settings(), ctx.purpose, cid)
    if item is None:
        raise HTTPException(404, "no such saved collision under this purpose")
    out = _collide(ctx, item["spec"])
    saved.ran(get_settings(), cid, len(out["hits"]))
    return {**out, "saved_id": cid, "name": item["name"]}


SCENE_GRADES = {"place_name": "internal", "record_id": "internal", "lon": "internal", "lat": "internal"}


def _scene(ctx: AccessContext, s: dict) -> dict:
    return ctx.mask(s, SCENE_GRADES, {"place_name": "address"})


@router.get("/collision/scenes")
def collision_scenes(bbox: str | None = Query(None, max_length=120), start: str | None = Query(None, max_length=40),
                     end: str | None = Query(None, max_length=40), category: str | None = Query(None, max_length=40),
                     of_case: bool = False, limit: int = Query(500, ge=1, le=scenes.MAX_SCENES),
                     ctx: AccessContext = Depends(require("collision:read"))) -> dict[str, Any]:  # fmt: skip
    """现场图层: the incidents and cases with a place in the map's view (``bbox`` =
    west,south,east,north) and time range, each with its nearest checkpoints — a click
    makes one a window. ``of_case``: of the category of the case the purpose names (its
    series), that case's own scene marked."""
    settings = get_settings()
    own = scenes.case_scene(settings, ctx.purpose.partition(":")[2]) if ctx.purpose_kind == "case" else None
    if of_case and own and not category:
        category = own["category"]
    try:
        out = scenes.scenes(settings, scenes.bbox(bbox), *subjects.span(start, end), category, limit)
    except ZhijingError as exc:
        raise _unprocessable(exc) from None
    out["scenes"] = [_scene(ctx, s) for s in out["scenes"]]
    out["case"] = _scene(ctx, own) if own else None
    out["category"] = category
    ctx.audit("consult", [f"{s['dataset']}:{s['record_id']}" for s in out["scenes"]], query=f"collision scenes {category or 'all'}")
    return out


@router.get("/collision/places")
def collision_places(q: str = Query(..., min_length=1, max_length=geocode.MAX_QUERY), limit: int = Query(12, ge=1, le=50),
                     ctx: AccessContext = Depends(require("collision:read"))) -> dict[str, Any]:  # fmt: skip
    """地址定位: standard addresses, roads, hotels, checkpoints and stations matching ``q``,
    each with its point and nearest checkpoints (the map centres there and proposes a window)."""
    try:
        found = geocode.lookup(get_settings(), q, limit)
    except ZhijingError as exc:
        raise _unprocessable(exc) from None
    ctx.audit("consult", [f"{p['kind']}:{p['code'] or p['label']}" for p in found], query=f"place lookup ({len(q)} chars)")
    return {"query": q, "places": found}


@router.get("/compare")
def get_compare(a: str, b: str, dt: int = Query(3600, ge=1, le=compare.MAX_DT), radius: float = Query(300, gt=0, le=compare.MAX_RADIUS),
                start: str | None = None, end: str | None = None, limit: int = Query(500, ge=1, le=5000),
                ctx: AccessContext = Depends(require("compare:combine"))) -> dict[str, Any]:  # fmt: skip
    """比对: two trajectories side by side, and where and when they coincided."""
    sa, sb = _subject(ctx, a), _subject(ctx, b)
    try:
        out = compare.compare(get_settings(), sa, sb, dt, radius, *subjects.span(start, end), limit=limit)
    except ZhijingError as exc:
        raise _unprocessable(exc) from None
    for side, s in (("a", sa), ("b", sb)):
        out[side]["points"] = [mask_point(ctx, p, s.kind) for p in out[side]["points"]]
    out["coincidences"] = [{**c, "a": mask_point(ctx, c["a"], sa.kind), "b": mask_point(ctx, c["b"], sb.kind)} for c in out["coincidences"]]
    shown = [f"{p['dataset']}:{p['record_id']}" for side in ("a", "b") for p in out[side]["points"]]
    ctx.audit("combine", [sa.label, sb.label, *shown], query="compare")
    return out


def register(app: FastAPI) -> None:
    app.include_router(router)
