"""The case report (专案报告): subjects, a map of pinned places, a graph of subjects and pinned
entities, the evidence table and the notes — one self-contained, watermarked HTML page
(inline SVG, no scripts), printed to PDF by Chromium where it is installed."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jinja2

from zhijing.access.masking import watermark
from zhijing.errors import ZhijingError
from zhijing.lake.store import current_files

TEMPLATE = Path(__file__).with_name("report.html.j2")
W, H = 640, 420


def _outlines(settings) -> list[list[tuple[float, float]]]:
    """District outlines from the lake's reference data (rings of lon/lat)."""
    files = current_files(settings, "clean", "districts")
    if not files:
        return []
    import duckdb

    with duckdb.connect() as con:
        geoms = [json.loads(g) for (g,) in con.execute(f"SELECT geometry FROM read_parquet({files!r})").fetchall()]
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


def render_html(settings, case: dict, items: list[dict], subjects: list[dict], username: str) -> tuple[str, str]:
    """The report as HTML, and its export ID (derived from the watermark, as for CSV)."""
    mark = watermark(username, case["ref"])
    export_id = hashlib.sha256(mark.encode("utf-8")).hexdigest()[:16]
    pins = [i for i in items if i["kind"] == "pin"]
    evidence: list[dict[str, Any]] = [{"pin": p["title"], **row} for p in pins for row in p["payload"].get("evidence", [])]
    columns = list(dict.fromkeys(k for row in evidence for k in row))
    points = [{"label": p["title"], "lon": float(p["payload"]["lon"]), "lat": float(p["payload"]["lat"])}
              for p in pins if isinstance(p["payload"].get("lon"), int | float) and isinstance(p["payload"].get("lat"), int | float)]  # fmt: skip
    nodes = [{"id": s["master_id"], "label": s["label"], "kind": "person"} for s in subjects]
    edges = []
    for p in pins:
        for e in p["payload"].get("edges", []):
            for end in (e.get("source"), e.get("target")):
                if end and end not in {nd["id"] for nd in nodes}:
                    nodes.append({"id": end, "label": str(end)[:24], "kind": "entity"})
            edges.append({"source": e.get("source"), "target": e.get("target"), "kind": str(e.get("kind", ""))})
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        case=case, mark=mark, export_id=export_id, subjects=subjects, evidence=evidence, columns=columns,
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
