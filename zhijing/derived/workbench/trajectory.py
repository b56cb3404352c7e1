"""Trajectory (轨迹): every dated place of a subject — lodging, tickets, checkpoint reads
of the vehicles they own, door access, cases, 110 calls, accidents, calls — time-ordered,
each with its source record and coordinates; paged, so a subject with millions of reads
never fills memory."""

from __future__ import annotations

from datetime import datetime

from zhijing.derived.workbench.presence import COLUMNS, cursor, source
from zhijing.derived.workbench.subjects import Subject
from zhijing.localtime import shown

MAX_LIMIT = 5000


def where(subject: Subject, start: datetime | None, end: datetime | None, alias: str = "") -> tuple[str, dict]:
    """The predicate selecting a subject's rows in a time span (with its parameters)."""
    a = f"{alias}." if alias else ""
    sql = f"{a}subject_kind = $kind AND {a}subject IN (SELECT unnest($ids))"
    params: dict = {"kind": subject.kind, "ids": list(subject.ids)}
    if start is not None:
        sql += f" AND coalesce({a}ts_end, {a}ts) >= $start"
        params["start"] = start
    if end is not None:
        sql += f" AND {a}ts <= $end"
        params["end"] = end
    return sql, params


def point(row: dict) -> dict:
    """A presence row as the API shows it (times as local ISO)."""
    return {**row, "ts": shown(row["ts"]), "ts_end": shown(row["ts_end"])}


def trajectory(settings, subject: Subject, start: datetime | None = None, end: datetime | None = None,
               limit: int = 500, offset: int = 0) -> dict:  # fmt: skip
    """``{"subject", "total", "points": [...]}``: the page of points after ``offset``."""
    src = source(settings)
    if src is None:
        return {"subject": subject.label, "total": 0, "points": []}
    con = cursor()
    pred, params = where(subject, start, end)
    cur = con.execute(f"SELECT {', '.join(COLUMNS)}, count(*) OVER () AS _total FROM {src} WHERE {pred} "
                      "ORDER BY ts, dataset, record_id LIMIT $n OFFSET $o",
                      {**params, "n": min(max(limit, 1), MAX_LIMIT), "o": max(offset, 0)})  # fmt: skip
    rows = cur.fetchall()
    if not rows and offset:
        total = con.execute(f"SELECT count(*) FROM {src} WHERE {pred}", params).fetchone()[0]
    else:
        total = rows[0][-1] if rows else 0
    return {"subject": subject.label, "total": int(total),
            "points": [point(dict(zip(COLUMNS, r[:-1], strict=True))) for r in rows]}  # fmt: skip
