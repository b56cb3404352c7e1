"""The relationship graph served (关系研判): k-hop expansion and shortest paths, behind the
access layer like the person file — a purpose, a policy decision, need to know for every
person shown, masking to the caller's clearance, and an audit event naming the persons.

A person the caller may not see stays in the picture as a node without identity (the
structure is the finding; who it is needs a purpose that opens them), and the edges that
touch it carry no evidence.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Response

from zhijing.access.guard import AccessContext, require
from zhijing.config import get_settings
from zhijing.derived.graph import service
from zhijing.derived.graph.edges import DIRECTED, LABELS, TYPES
from zhijing.derived.graph.network import Subgraph
from zhijing.entities import export_routes
from zhijing.entities.routes import _mask_record
from zhijing.errors import ZhijingError

router = APIRouter(prefix="/api/graph", tags=["graph"])
MAX_HOPS, MAX_LIMIT, MAX_NODES = 3, 500, 2000
# node kind -> (grade, data element) of its key
KEY_GRADES = {"phone": ("sensitive", "phone"), "account": ("sensitive", "account_no"), "vehicle": ("internal", "plate"),
              "person": ("internal", "record_id"), "company": ("public", "uscc")}  # fmt: skip
HIDDEN = "无权查看"


def _types(types: str | None) -> tuple[str, ...] | None:
    if not types:
        return None
    chosen = tuple(sorted({t.strip() for t in types.split(",") if t.strip()}))
    unknown = [t for t in chosen if t not in TYPES]
    if unknown:
        raise HTTPException(422, f"unknown edge type {unknown[0][:30]!r} (types: {', '.join(TYPES)})")
    return chosen or None


def _window(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    try:
        lo, hi = service.epoch(since), service.epoch(until)
    except ZhijingError as exc:
        raise HTTPException(422, str(exc)) from None
    if lo is not None and hi is not None and lo > hi:
        raise HTTPException(422, "the time window ends before it starts")
    return lo, hi


PREFIX = {"person": "P", "phone": "T", "plate": "V", "vehicle": "V", "account": "A", "company": "C"}
NO_EDGES = "this subject has no relations in the relationship graph"


def _candidates(subject: str) -> list[str] | None:
    """The graph ids a subject may be, written as the workbench writes it (``person:PM…``,
    ``plate:…``, ``phone:…``) or as an officer types it (citizen ID number, master id, plate,
    mobile number); None when it is none of these (the graph's own ``P:…`` forms)."""
    from zhijing.derived.workbench import subjects

    text = subject.strip()
    kind, sep, rest = text.partition(":")
    if sep and kind in PREFIX:
        return [f"{PREFIX[kind]}:{i.strip()}" for i in rest.split(",") if i.strip()]
    found = subjects.bare_kind(text)
    if found is None:
        return None
    kind, value = found
    if kind == "citizen_id":
        holders = subjects.holders(get_settings(), value)
        if not holders:
            raise HTTPException(404, "no person holds this citizen ID number")
        return [f"P:{m}" for m in holders]
    return [f"{PREFIX[kind]}:{value}"]


def _graph_and_node(subject: str):
    try:
        g = service.graph(get_settings())
    except ZhijingError as exc:  # not built yet: try again later
        raise HTTPException(503, str(exc)) from None
    candidates = _candidates(subject)
    if candidates is not None:
        for c in candidates:
            if (pos := g.position(c)) is not None:
                return g, pos
        raise HTTPException(404, NO_EDGES)
    try:
        return g, service.node_of(g, subject)
    except ZhijingError as exc:
        raise HTTPException(404, str(exc)) from None


def _closed(ctx: AccessContext, answer: dict[str, Any], seeds: list[str]) -> set[str]:
    """The person nodes of an answer outside the caller's need to know (a seed among them is refused)."""
    from zhijing.derived.workbench.subjects import places

    closed = set()
    placed = places(get_settings(), [n["key"] for n in answer["nodes"] if n["kind"] == "person"])
    for n in answer["nodes"]:
        if n["kind"] == "person":
            where = [*placed.get(n["key"], []), n.get("district")]
            if not ctx.may_see(n["key"], where):
                if n["id"] in seeds:
                    ctx.require_visible(n["key"], where)
                closed.add(n["id"])
    return closed


def _shown(ctx: AccessContext, answer: dict[str, Any], seeds: list[str]) -> dict[str, Any]:
    """Need to know, masking and audit over an answer's nodes and edges."""
    hidden: dict[str, str] = {}
    seen: list[str] = []
    nodes = []
    closed = _closed(ctx, answer, seeds)
    for n in answer["nodes"]:
        if n["kind"] == "person":
            if n["id"] in closed:
                hidden[n["id"]] = f"P:hidden-{len(hidden) + 1}"
                nodes.append({"id": hidden[n["id"]], "kind": "person", "label": HIDDEN, "hop": n["hop"], "degree": n["degree"]})
                continue
            seen.append(n["key"])
        nodes.append(_mask_node(ctx, n, len(nodes)))
    ids = {n["id"]: m["id"] for n, m in zip(answer["nodes"], nodes, strict=True)}
    edges = []
    for e in answer["edges"]:
        shut = e["source"] in hidden or e["target"] in hidden
        records = [] if shut else [{**r, "record_id": _mask_record(ctx, {"dataset": r["dataset"], "record_id": r["record_id"]})["record_id"]}
                                     for r in e["evidence"]]  # fmt: skip
        edges.append({**e, "source": ids[e["source"]], "target": ids[e["target"]], "evidence": records})
    ctx.audit("combine", seen[:1000])
    return {**answer, "nodes": nodes, "edges": edges}


def _mask_node(ctx: AccessContext, n: dict[str, Any], k: int) -> dict[str, Any]:
    grade, element = KEY_GRADES[n["kind"]]
    key = ctx.mask({"key": n["key"]}, {"key": grade}, {"key": element})["key"]
    label = ctx.mask({"label": n.get("label")}, {"label": "internal"}, {"label": "name"})["label"] if n["kind"] == "person" else key
    if n["kind"] == "company":
        label = n.get("label") or key
    out = {**n, "key": key, "label": label}
    if key != n["key"]:
        out["id"] = f"{n['id'][:2]}{key}#{k}"  # unique in this answer; not a handle to expand from
    return out


NODE_LABELS = {"person": ("人员", "person"), "phone": ("手机", "phone"), "account": ("账户", "account"), "vehicle": ("车辆", "vehicle"),
               "company": ("单位", "company")}  # fmt: skip


@router.get("/types")
def edge_types(ctx: AccessContext = Depends(require("graph:read"))) -> dict[str, Any]:
    """The graph's edge types (with their labels, direction and how many edges each has)
    and node kinds: the legend and the type filters of the console."""
    try:
        counts = service.type_counts(service.graph(get_settings()))
    except ZhijingError:  # not built yet: the labels still serve the legend
        counts = {}
    ctx.audit("consult", [], query="graph types")
    return {"edges": [{"type": t, "label": LABELS.get(t, (t, t))[0], "label_en": LABELS.get(t, (t, t))[1], "directed": t in DIRECTED,
                       "count": counts.get(t, 0)} for t in TYPES],
            "nodes": [{"kind": k, "label": zh, "label_en": en} for k, (zh, en) in NODE_LABELS.items()]}  # fmt: skip


@router.get("/expand")
def expand(subject: str = Query(..., min_length=2, max_length=80), hops: int = Query(2, ge=1, le=MAX_HOPS),
           types: str | None = None, since: str | None = None, until: str | None = None,
           limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0),
           ctx: AccessContext = Depends(require("graph:read"))) -> dict[str, Any]:  # fmt: skip
    """The neighbourhood of a subject within ``hops``, filtered by edge type and time, at most
    ``limit`` edges per node and hop (heaviest first; ``offset`` pages the subject's own),
    with communities and brokers, every edge with its evidence records."""
    g, seed = _graph_and_node(subject)
    lo, hi = _window(since, until)
    kinds = _types(types)
    sub = g.expand([seed], hops, kinds, lo, hi, limit, offset, MAX_NODES)
    community, between = g.analyse(sub)
    extra = {n: {"community": community[n], "betweenness": round(between[n], 4)} for n in sub.nodes}
    answer = service.describe(get_settings(), g, sub, extra)
    brokers = sorted((n for n in sub.nodes if between[n] > 0), key=lambda n: -between[n])[:5]
    answer["brokers"] = [str(g.ids[n]) for n in brokers]
    answer["truncated"] = bool(sub.cut)
    ctx.query = f"graph expand hops={hops} types={','.join(kinds or ()) or 'all'} limit={limit} offset={offset}"
    shown = _shown(ctx, answer, [str(g.ids[seed])])
    visible = {n["id"] for n in shown["nodes"]}
    names = dict(zip((n["id"] for n in answer["nodes"]), (n["id"] for n in shown["nodes"]), strict=True))
    shown["brokers"] = [names[b] for b in answer["brokers"] if names.get(b) in visible]
    shown["subject"] = names[str(g.ids[seed])]
    return shown


@router.get("/path")
def path(a: str = Query(..., min_length=2, max_length=80), b: str = Query(..., min_length=2, max_length=80),
         types: str | None = None, since: str | None = None, until: str | None = None,
         ctx: AccessContext = Depends(require("graph:read"))) -> dict[str, Any]:  # fmt: skip
    """The shortest chain of relations between two subjects (fewest hops), each link with
    its evidence."""
    g, u = _graph_and_node(a)
    _, v = _graph_and_node(b)
    lo, hi = _window(since, until)
    kinds = _types(types)
    found = g.path(u, v, kinds, lo, hi)
    ctx.query = f"graph path types={','.join(kinds or ()) or 'all'}"
    if found is None:
        ctx.audit("combine", [s[2:] for s in (str(g.ids[u]), str(g.ids[v])) if s.startswith("P:")])
        return {"found": False, "nodes": [], "edges": []}
    nodes, edges = found
    sub = Subgraph(nodes, edges, {n: i for i, n in enumerate(nodes)})
    shown = _shown(ctx, service.describe(get_settings(), g, sub), [str(g.ids[u]), str(g.ids[v])])
    return {"found": True, "hops": len(edges), **shown}


FTM_LIMIT = 50  # edges per node and hop of an exported neighbourhood (as the expansion's default)


def ftm_export(ctx: AccessContext, target: str, what: str) -> export_routes.Prepared:
    """A neighbourhood (``<hops>:<subject>``) as FollowTheMoney entities: its persons the
    caller may see, its accounts, vehicles and companies, and the model rows of the evidence
    of every edge that touches no person outside the caller's need to know."""
    from zhijing.entities import ftm_export as ftm

    hops_text, _, subject = target.partition(":")
    if not hops_text.isdigit() or not 1 <= int(hops_text) <= MAX_HOPS:
        raise ctx.refuse([], f"hops must be 1 to {MAX_HOPS}", 422)
    g, seed = _graph_and_node(subject)
    sub = g.expand([seed], int(hops_text), None, None, None, FTM_LIMIT, 0, MAX_NODES)
    answer = service.describe(get_settings(), g, sub)
    closed = _closed(ctx, answer, [str(g.ids[seed])])
    persons = [n["key"] for n in answer["nodes"] if n["kind"] == "person" and n["id"] not in closed]
    things = [(n["kind"], n["key"], n.get("label")) for n in answer["nodes"] if n["kind"] != "person"]
    records = [(r["dataset"], r["record_id"]) for e in answer["edges"] if not {e["source"], e["target"]} & closed
               for r in e["evidence"]]  # fmt: skip
    stem = "graph-" + "".join(c if c.isalnum() else "_" for c in subject)[:40]
    return ftm.prepare(ctx, f"graph {hops_text} hops FtM ({what})", stem, persons, records, things)


export_routes.TARGETS[export_routes.FTM_GRAPH] = ftm_export


@router.get("/ftm")
def graph_ftm(subject: str = Query(..., min_length=2, max_length=80), hops: int = Query(2, ge=1, le=MAX_HOPS),
              reason: str | None = Query(None, description="导出事由 (the stated reason)"),
              ctx: AccessContext = Depends(require("person:export"))) -> Response:  # fmt: skip
    """A subject's neighbourhood as a FollowTheMoney entity stream (JSON lines) at once, when
    it needs no second officer's approval; else requested with ``POST /api/exports``
    {ftm_graph, hops, reason}."""
    return export_routes.export_at_once(ctx, f"{export_routes.FTM_GRAPH}{hops}:{subject}", reason)


def register(app: FastAPI) -> None:
    app.include_router(router)
