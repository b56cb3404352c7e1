"""The case report (专案报告): subjects, a map of pinned places, a graph of subjects and pinned
entities, the evidence table and the notes — one self-contained, watermarked HTML page
(inline SVG, no scripts), printed to PDF by Chromium where it is installed."""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa

from zhijing.access import models
from zhijing.access.masking import watermark
from zhijing.errors import ZhijingError
from zhijing.localtime import shown, zone_label
from zhijing.model import places
from zhijing.sources.spec import load_spec

TEMPLATE = Path(__file__).with_name("report.html.j2")
W, H = 640, 420


def _outlines(settings) -> list[list[tuple[float, float]]]:
    """District outlines from the reference data of the ``district`` role (rings of lon/lat)."""
    src = places.source(settings, "district")
    if not src:
        return []
    import duckdb

    with duckdb.connect() as con:
        geoms = [json.loads(g) for (g,) in con.execute(f"SELECT geometry FROM {src}").fetchall()]
    rings = []
    for g in geoms:
        polys = g["coordinates"] if g.get("type") == "MultiPolygon" else [g.get("coordinates", [])]
        rings += [poly[0] for poly in polys if poly]
    return rings


def _map_svg(settings, points: list[dict]) -> dict:
    """Pinned places over the district outlines, in one equirectangular frame."""
    rings = _outlines(settings)
    xs = [p["lon"] for p in points] + [x for r in rings for x, _ in r]
    ys = [p["lat"] for p in points] + [y for r in rings for _, y in r]
    if not xs:
        return {"paths": [], "points": [], "w": W, "h": H}
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    scale = min(W / max(x1 - x0, 1e-6), H / max(y1 - y0, 1e-6)) * 0.95

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return round((lon - x0) * scale + 10, 1), round(H - (lat - y0) * scale - 10, 1)

    paths = ["M" + " L".join(f"{a},{b}" for a, b in (xy(x, y) for x, y in ring)) + " Z" for ring in rings]
    return {"paths": paths, "points": [{**p, "xy": xy(p["lon"], p["lat"])} for p in points], "w": W + 20, "h": H + 20}


def _graph_svg(nodes: list[dict], edges: list[dict]) -> dict:
    """Subjects and pinned entities on a circle, edges between them labelled by kind."""
    n = max(len(nodes), 1)
    at = {}
    for i, node in enumerate(nodes):
        a = 2 * math.pi * i / n
        at[node["id"]] = (round(W / 2 + 0.4 * W * math.cos(a), 1), round(H / 2 + 0.4 * H * math.sin(a), 1))
    lines = [{**e, "a": at[e["source"]], "b": at[e["target"]]} for e in edges if e["source"] in at and e["target"] in at]
    return {"nodes": [{**nd, "xy": at[nd["id"]]} for nd in nodes], "edges": lines, "w": W, "h": H}


MODES = {"stay": "住宿", "trip": "出行", "pass": "卡口", "point": "到访", "door": "门禁", "case": "案件", "call": "通话",
         "alarm": "110 警情", "accident": "事故"}  # as the console's zj.mode
STATUS = {"open": "办理中", "closed": "已结案"}  # as the console's 专案 screen
COLUMNS = [("pin", "标记"), ("subject", "对象"), ("time", "时间"), ("mode", "方式"), ("place", "地点"), ("dataset", "数据集"),
           ("record_id", "来源记录"), ("coords", "坐标")]  # fmt: skip


def local_time(value: Any) -> str:
    """A time of a pinned payload or an item as the report prints it: the deployment's wall
    time to the second (the report names the zone once); text that is no time, as written."""
    try:
        t = shown(value or None)
    except (ValueError, TypeError):
        return str(value)
    return "" if t is None else t[:19].replace("T", " ")


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else None


def _row(pin: str, subject: str, r: dict) -> dict[str, Any]:
    """One evidence row of a pin, whichever screen pinned it (trajectory point, companion or
    collision evidence, graph edge evidence, search hit, or a row given as such)."""
    lon, lat = _num(r.get("lon")), _num(r.get("lat"))
    mode = r.get("mode") or r.get("kind") or ""
    return {"pin": pin, "subject": str(r.get("subject") or subject or ""),
            "time": local_time(r.get("ts") or r.get("time") or r.get("my_ts")),
            "mode": MODES.get(mode, mode) if isinstance(mode, str) else "", "place": str(r.get("place_name") or r.get("place_id") or ""),
            "dataset": str(r.get("dataset") or ""), "record_id": str(r.get("record_id") or ""),
            "coords": f"{lon:.5f}, {lat:.5f}" if lon is not None and lat is not None else "", "lon": lon, "lat": lat}  # fmt: skip


# the relation graph's edge types in words (as the console's zj.relName)
RELATIONS = {"household": "同户", "co_lodging": "同住", "co_travel": "同行", "co_netbar": "同上网", "co_case": "同案", "call": "通话",
             "transfer": "转账", "holds": "持有", "uses": "使用", "owns": "车主", "drives": "驾驶", "company_role": "任职",
             "same_place": "同地点", "nearby": "邻近", "same_stay": "同住"}  # fmt: skip
MASTER_ID = re.compile(r"^PM[0-9A-Z]{4,40}$")


def persons_named(items: list[dict]) -> list[str]:
    """The master IDs of persons a case's items name anywhere (subjects, companions, hits,
    edges, search groups): the workspace and the report show them by name."""
    found: list[str] = []
    for item in items:
        p = item.get("payload") or {}
        found += [m for m in p.get("master_ids") or [] if isinstance(m, str)]
        found.append(_person(p.get("subject")))
        for key in ("companion", "hit"):
            if isinstance(p.get(key), dict):
                found.append(_person(p[key].get("subject")))
        if isinstance(p.get("edge"), dict):
            found += [_person(p["edge"].get("source")), _person(p["edge"].get("target"))]
        if isinstance(p.get("group"), dict) and p["group"].get("kind") == "person":
            found.append(_person(p["group"].get("id")))
        found += [_person(e.get(k)) for e in p.get("edges") or [] if isinstance(e, dict) for k in ("source", "target")]
    return list(dict.fromkeys(m for m in found if MASTER_ID.match(m)))


def named(node: str, names: dict[str, str]) -> str:
    """A subject as the report prints it: a person by name and ID (姓名（PM…）), a record by
    its dataset's catalog title and number (never ``bank_transaction|TX…``), else as it is."""
    if node in names:
        return f"{names[node]}（{node}）"
    kind, _, rest = node.partition(":")
    dataset, bar, record = (rest if rest and kind in ("record", "incident", "case") else node).partition("|")
    return f"{dataset_titles().get(dataset, dataset)} {record}" if bar else node


def dataset_titles() -> dict[str, str]:
    """Dataset code → its catalog title (the declarations)."""
    return {d.name: d.title for d in load_spec().datasets}


def _person(node: Any) -> str:
    """A graph or workbench subject as the report's node ID (persons by their master ID)."""
    node = str(node or "")
    for prefix in ("P:", "person:"):
        if node.startswith(prefix):
            return node[len(prefix):]
    return node


def pinned(item: dict) -> tuple[list[dict], list[dict]]:
    """A pin's (or pinned search's) evidence rows and relation edges, from every payload the
    console saves: ``point`` (轨迹), ``companion`` (同行), ``hit`` (碰撞), ``edge`` (关系研判),
    ``group`` (云搜索), and plain ``evidence`` / ``lon``, ``lat`` / ``edges``."""
    p, title = item["payload"], item["title"]
    subject = str(p.get("subject") or "")
    rows: list[dict] = []
    edges: list[dict] = []
    if isinstance(p.get("point"), dict):
        rows.append(_row(title, subject, p["point"]))
    if isinstance(p.get("companion"), dict):
        c = p["companion"]
        who = f"{c.get('kind')}:{c.get('subject')}" if c.get("kind") and c.get("kind") != "person" else str(c.get("subject") or "")
        rows += [_row(title, who, e) for e in c.get("evidence") or [] if isinstance(e, dict)]
        how = "/".join(k for k in c.get("kinds") or [] if isinstance(k, str)) or "同行"  # 同住, 同乘, 同行 as the analysis found them
        edges.append({"source": _person(subject), "target": _person(who), "kind": how})
    if isinstance(p.get("hit"), dict):
        h = p["hit"]
        who = str(h.get("subject") or "") if h.get("kind") == "person" else f"{h.get('kind')}:{h.get('subject')}"
        rows += [_row(title, who, e) for e in h.get("evidence") or [] if isinstance(e, dict)]
    if isinstance(p.get("edge"), dict):
        e = p["edge"]
        pair = f"{e.get('source')} — {e.get('target')}"
        rows += [_row(title, pair, r) for r in e.get("evidence") or [] if isinstance(r, dict)]
        kind = str(e.get("type") or "")
        edges.append({"source": _person(e.get("source")), "target": _person(e.get("target")), "kind": RELATIONS.get(kind, kind)})
    if isinstance(p.get("group"), dict):
        g = p["group"]
        rows += [_row(title, str(g.get("id") or ""), h) for h in g.get("hits") or [] if isinstance(h, dict)]
    rows += [_row(title, subject, r) for r in p.get("evidence") or [] if isinstance(r, dict)]
    if _num(p.get("lon")) is not None and _num(p.get("lat")) is not None and not any(r["lon"] is not None for r in rows):
        rows.append(_row(title, subject, {"lon": p["lon"], "lat": p["lat"]}))
    for e in p.get("edges") or []:
        if isinstance(e, dict):
            edges.append({"source": _person(e.get("source")), "target": _person(e.get("target")), "kind": str(e.get("kind", ""))})
    return rows, [e for e in edges if e["source"] and e["target"]]


def unit_name(settings, code: str) -> str:
    """The unit's name (the code where the unit is unknown), as the console header shows it."""
    with models.engine(settings).connect() as conn:
        return conn.execute(sa.select(models.units.c.name).where(models.units.c.code == code)).scalar() or code


def evidence(items: list[dict]) -> tuple[list[dict], list[dict]]:
    """The evidence rows and relation edges of every pin, pinned search and analysis."""
    rows: list[dict[str, Any]] = []
    edges: list[dict] = []
    for item in items:
        if item["kind"] in ("pin", "search", "analysis"):
            r, e = pinned(item)
            rows += r
            edges += e
    return rows, edges


def render_html(settings, case: dict, items: list[dict], subjects: list[dict], username: str,
                names: dict[str, str] | None = None) -> tuple[str, str]:  # fmt: skip
    """The report as HTML, and its export ID (derived from the watermark, as for CSV);
    ``names``: the persons it names by master ID, as the caller may see them (masked)."""
    names = names or {}
    mark = watermark(username, case["ref"])
    export_id = hashlib.sha256(mark.encode("utf-8")).hexdigest()[:16]
    evidence_rows, found_edges = evidence(items)
    titles = dataset_titles()
    evidence_rows = [{**r, "subject": " ↔ ".join(named(_person(x), names) for x in r["subject"].split(" — ")),
                      "dataset": titles.get(r["dataset"], r["dataset"])} for r in evidence_rows]  # fmt: skip
    zone = zone_label()
    columns = [(k, f"{label}（{zone}）" if k == "time" else label) for k, label in COLUMNS if k == "pin" or any(r[k] for r in evidence_rows)]
    points = list({(r["pin"], r["lon"], r["lat"]): {"label": r["pin"], "lon": r["lon"], "lat": r["lat"]}
                   for r in evidence_rows if r["lon"] is not None and r["lat"] is not None}.values())  # fmt: skip
    nodes = [{"id": s["master_id"], "label": s["label"], "kind": "person"} for s in subjects]
    edges = []
    for e in found_edges:
        for end in (e["source"], e["target"]):
            if end not in {nd["id"] for nd in nodes}:
                nodes.append({"id": end, "label": (names.get(end) or named(end, names))[:24], "kind": "entity"})
        edges.append(e)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["local_time"] = local_time
    html = env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        case=case, status=STATUS.get(case["status"], case["status"]), unit=unit_name(settings, case["unit_code"]),
        mark=mark, export_id=export_id, zone=zone, subjects=subjects, evidence=evidence_rows, columns=columns,
        notes=[i for i in items if i["kind"] == "note"], searches=[i for i in items if i["kind"] in ("search", "analysis")],
        map=_map_svg(settings, points), graph=_graph_svg(nodes, edges))  # fmt: skip
    return html, export_id


def to_pdf(html: str) -> bytes:
    """Print the report with headless Chromium (Debian's package); a clear error without it."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise ZhijingError("PDF needs Chromium on the server (apt-get install chromium); the HTML report is available")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(html, encoding="utf-8")
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp}/profile", "--no-pdf-header-footer",
                        f"--print-to-pdf={out}", src.as_uri()], capture_output=True, timeout=120, check=False)  # fmt: skip
        if not out.exists():
            raise ZhijingError("Chromium could not print the report")
        return out.read_bytes()
