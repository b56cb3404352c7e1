"""Collision (碰撞): the persons, plates and phones present in at least k of the given
space-time windows, each hit with its evidence.

No self-join (DESIGN §9): each window selects its presence rows (a checkpoint by id, a
shape by its bounding box in SQL then exactly with shapely), and the subjects are grouped
by how many distinct windows they appear in.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd

from zhijing.derived.workbench.presence import cursor, max_span, source
from zhijing.derived.workbench.subjects import KINDS
from zhijing.derived.workbench.windows import Window, inside
from zhijing.errors import ZhijingError
from zhijing.localtime import shown

MAX_ROWS_PER_WINDOW = 500_000
# mode: the model type of the record (过车, 住宿, ...); matched: how it fell in the window (checkpoint: read at one of
# its checkpoints; area: inside its shape) — with the dataset, the evidence's 方式
EVIDENCE_COLUMNS = ["window", "dataset", "record_id", "ts", "mode", "matched", "place_kind", "place_id", "place_name", "lon", "lat", "via"]


def _rows(con: duckdb.DuckDBPyConnection, src: str, w: Window, kinds: list[str], span: float | None) -> pd.DataFrame:
    params: dict = {"t0": w.start, "t1": w.end, "kinds": kinds, "cap": MAX_ROWS_PER_WINDOW + 1, "places": list(w.place_ids)}
    since = "" if span is None else f"AND ts >= TIMESTAMPTZ '{(w.start - timedelta(seconds=span)).isoformat()}'"  # prunes row groups
    read_at = "(place_kind = 'checkpoint' AND list_contains($places, place_id))"
    conds = [read_at] if w.place_ids else []
    if w.shape is not None:
        x0, y0, x1, y1 = w.bbox
        conds.append("(lon BETWEEN $x0 AND $x1 AND lat BETWEEN $y0 AND $y1)")
        params.update(x0=x0, y0=y0, x1=x1, y1=y1)
    df = con.execute(f"""SELECT subject_kind, subject, dataset, record_id, ts, mode, place_kind, place_id, place_name, lon, lat, via,
                                CASE WHEN {read_at} THEN 'checkpoint' ELSE 'area' END AS matched
                         FROM {src} WHERE subject_kind IN (SELECT unnest($kinds)) AND ts <= $t1 AND coalesce(ts_end, ts) >= $t0
                           {since} AND ({' OR '.join(conds)}) LIMIT $cap""", params).df()  # fmt: skip
    if len(df) > MAX_ROWS_PER_WINDOW:
        raise ZhijingError(f"window {w.index + 1} holds more than {MAX_ROWS_PER_WINDOW:,} records: narrow its place or time")
    if w.shape is not None and len(df):  # exactly in the shape, unless read at one of its checkpoints
        df = df[(df.matched == "checkpoint").to_numpy() | inside(w, df.lon.to_numpy(), df.lat.to_numpy())]
    return df.assign(window=w.index)


def collide(settings, windows: list[Window], k: int | None = None, kinds: list[str] | None = None,
            limit: int = 100, evidence: int = 20) -> dict:  # fmt: skip
    """``{"windows", "k", "total", "hits": [{"kind", "subject", "windows", "records", "evidence"}]}``
    — hits ranked by windows matched, then by records."""
    k = len(windows) if k is None else k
    if not 1 <= k <= len(windows):
        raise ZhijingError(f"k must be between 1 and the number of windows ({len(windows)})")
    kinds = [x for x in (kinds or list(KINDS)) if x in KINDS] or list(KINDS)
    out: dict = {"windows": [w.describe() for w in windows], "k": k, "kinds": kinds, "total": 0, "hits": []}
    src = source(settings, by_time=True)
    if src is None:
        return out
    con, span = cursor(), max_span(settings)
    frames = [_rows(con, src, w, kinds, span) for w in windows]
    for w, f in zip(windows, frames, strict=True):
        out["windows"][w.index]["records"] = int(len(f))
        out["windows"][w.index]["subjects"] = int(f[["subject_kind", "subject"]].drop_duplicates().shape[0]) if len(f) else 0
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if rows.empty:
        return out
    agg = rows.groupby(["subject_kind", "subject"]).agg(windows=("window", "nunique"), records=("record_id", "nunique")).reset_index()
    agg = agg[agg.windows >= k].sort_values(["windows", "records", "subject_kind", "subject"], ascending=[False, False, True, True])
    out["total"] = int(len(agg))
    top = agg.head(max(1, limit))
    ev = rows.merge(top[["subject_kind", "subject"]], on=["subject_kind", "subject"]).drop_duplicates(["subject_kind", "subject", "window", "dataset", "record_id"])
    ev = ev.sort_values(["window", "ts"])
    cols = ["subject_kind", "subject", *EVIDENCE_COLUMNS]
    by: dict[tuple[str, str], list[dict]] = {}
    for r in ev[cols].astype(object).where(ev[cols].notna(), None).itertuples(index=False):
        items = by.setdefault((r[0], r[1]), [])
        if len(items) < max(1, evidence):
            items.append({**dict(zip(EVIDENCE_COLUMNS, r[2:], strict=True)), "window": int(r[2]), "ts": shown(r[5])})
    for r in top.itertuples():
        out["hits"].append({"kind": r.subject_kind, "subject": r.subject, "windows": int(r.windows), "records": int(r.records),
                            "evidence": by.get((r.subject_kind, r.subject), [])})  # fmt: skip
    return out


def plain_sql(src: str, windows: list[Window], k: int) -> str:
    """The same collision as one plain DuckDB query (bounding boxes only), the peer the
    benchmark measures beside ``collide``."""
    parts = []
    for w in windows:
        conds = ["place_kind = 'checkpoint' AND place_id IN (" + ", ".join(f"'{p}'" for p in w.place_ids) + ")"] if w.place_ids else []
        if w.shape is not None:
            x0, y0, x1, y1 = w.bbox
            conds.append(f"lon BETWEEN {x0} AND {x1} AND lat BETWEEN {y0} AND {y1}")
        cond = " OR ".join(f"({c})" for c in conds)
        parts.append(f"SELECT {w.index} AS w, subject_kind, subject FROM {src} WHERE ts <= '{w.end.isoformat()}'::TIMESTAMPTZ "
                     f"AND coalesce(ts_end, ts) >= '{w.start.isoformat()}'::TIMESTAMPTZ AND {cond}")  # fmt: skip
    return (f"SELECT subject_kind, subject, count(DISTINCT w) AS n FROM ({' UNION ALL '.join(parts)}) "
            f"GROUP BY ALL HAVING count(DISTINCT w) >= {int(k)} ORDER BY n DESC")

