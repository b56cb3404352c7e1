"""Quality of a dataset's current clean version, in five dimensions (0..1, higher is better).

- completeness: share of non-empty values over the catalogued fields;
- validity: share of rows that were made valid (clean / (clean + quarantined), over all
  ingests) times the share of non-empty values that standardized without an issue;
- uniqueness: distinct record keys / clean rows (exact duplicates are already gone);
- timeliness: for time-series data, share of records whose time is neither in the future
  nor older than the retention period (None for other datasets);
- consistency: where a row names a citizen ID beside a stated sex or birth date, the share
  that agree with what the ID says (None where no such pair exists).
The score is the mean of the dimensions that apply.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from zhijing.config import Settings
from zhijing.lake.store import current_files
from zhijing.sources.connectors.base import quote_ident as q
from zhijing.sources.spec import DatasetSpec


def _files_sql(files: list[str]) -> str:
    return "read_parquet([" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "], union_by_name=true)"


def _consistency_pairs(spec: DatasetSpec) -> list[str]:
    """SQL booleans (NULL when not comparable) for ID-vs-stated agreement."""
    checks = []
    for role in spec.persons:
        if not role.citizen_id:
            continue
        cid = q(role.citizen_id)
        if role.sex:
            derived = f"CASE WHEN CAST(substr({cid}, 17, 1) AS INTEGER) % 2 = 1 THEN '男' ELSE '女' END"
            checks.append(f"CASE WHEN {cid} IS NOT NULL AND {q(role.sex)} IS NOT NULL THEN {q(role.sex)} = {derived} END")
        if role.birth_date:
            derived = f"strptime(substr({cid}, 7, 8), '%Y%m%d')::DATE"
            checks.append(f"CASE WHEN {cid} IS NOT NULL AND {q(role.birth_date)} IS NOT NULL THEN {q(role.birth_date)} = {derived} END")
    return checks


def measure(settings: Settings, spec: DatasetSpec, clean_total: int, quarantined_total: int,
            as_of: datetime | None = None) -> dict[str, float | None]:  # fmt: skip
    files = current_files(settings, "clean", spec.name)
    as_of = as_of or datetime.now(UTC)
    scores: dict[str, float | None] = dict.fromkeys(("completeness", "validity", "uniqueness", "timeliness", "consistency"))
    if not files:
        scores["validity"] = 0.0 if quarantined_total else None
        return _with_score(scores)
    src = _files_sql(files)
    fields = spec.field_names
    nonnull = " + ".join(f"count({q(f)})" for f in fields)
    issues = "sum(len(_issues))"
    raw_nonempty = " + ".join(
        f"count({q(f + '__raw')})" for f in fields if f + "__raw" in _columns(src)
    ) or "0"
    consistency = _consistency_pairs(spec)
    cons_sql = (
        "(" + " + ".join(f"count_if({c})" for c in consistency) + ") / nullif(" + " + ".join(f"count({c})" for c in consistency) + ", 0)"
        if consistency else "NULL"
    )  # fmt: skip
    timely = "NULL"
    if spec.time_field:
        t = q(spec.time_field)
        timely = (
            f"count_if({t} <= TIMESTAMPTZ '{as_of.isoformat()}' AND {t} >= TIMESTAMPTZ '{as_of.isoformat()}' - "
            f"INTERVAL {int(spec.retention_days)} DAY) / nullif(count({t}), 0)"
        )
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        n, filled, n_issues, n_raw, distinct_keys, cons, tim = con.execute(
            f"SELECT count(*), {nonnull}, coalesce({issues}, 0), {raw_nonempty}, count(DISTINCT _record_id), "
            f"{cons_sql}, {timely} FROM {src}"
        ).fetchone()
    cells = n * len(fields)
    scores["completeness"] = filled / cells if cells else None
    row_validity = clean_total / (clean_total + quarantined_total) if clean_total + quarantined_total else 1.0
    checked = filled + n_raw
    scores["validity"] = row_validity * (1 - n_issues / checked if checked else 1.0)
    scores["uniqueness"] = distinct_keys / n if n else None
    scores["timeliness"] = float(tim) if tim is not None else None
    scores["consistency"] = float(cons) if cons is not None else None
    return _with_score(scores)


def _columns(src: str) -> set[str]:
    with duckdb.connect() as con:
        return set(con.sql(f"SELECT * FROM {src} LIMIT 0").columns)


def _with_score(scores: dict[str, float | None]) -> dict[str, float | None]:
    present = [v for v in scores.values() if v is not None]
    scores["score"] = sum(present) / len(present) if present else None
    return scores
