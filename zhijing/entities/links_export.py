"""Read-back for reconciliation (数据对账): every record of one dataset with the master
person it went to, the link's probability and the evidence it rests on.

A department that sent a file wants to know, record by record (by its own key), who each
record was found to be. The evidence is the fact the link rests on: the identifiers the
record shares with the master's other records (same citizen ID, same phone, same name,
same birth date), the fact that attached a name-only record (same community, address,
birth date or company), a model score when only similar values joined them, or that the
record is the person's only one.
"""

from __future__ import annotations

import hashlib
import io

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from zhijing.errors import ZhijingError
from zhijing.lake.store import current_files
from zhijing.sources.spec import load_spec

COLUMNS = ("record_id", "role", "master_id", "match_probability", "evidence")
SHARED = (("citizen_id", "same citizen ID"), ("phone", "same phone"), ("name", "same name"),
          ("birth_date", "same birth date"))  # fmt: skip


def _files(settings, name: str) -> list[str]:
    files = current_files(settings, "entities", name)
    if not files:
        raise ZhijingError("no person master yet: run `zhijing resolve` first")
    return files


def check_dataset(settings, dataset: str) -> None:
    """An unknown dataset, or one that names no person, is an error that lists the usable ones."""
    datasets = load_spec(settings).datasets
    with_persons = sorted(d.name for d in datasets if d.persons)
    if dataset not in with_persons:
        what = "names no person" if dataset in {d.name for d in datasets} else "is not declared"
        raise ZhijingError(f"dataset {dataset!r} {what}; datasets with person records: {', '.join(with_persons)}")


def links(settings, dataset: str) -> pa.Table:
    """The links of ``dataset``'s records, ordered by record id and role."""
    check_dataset(settings, dataset)
    links_src, ments_src = _files(settings, "person_links"), _files(settings, "person_mentions")
    shared = ", ".join(f"bool_or(a.{c} IS NOT NULL AND a.{c} = b.{c}) AS s_{c}" for c, _ in SHARED)
    said = ", ".join(f"CASE WHEN s.s_{c} THEN '{label}' END" for c, label in SHARED)
    sql = f"""
      WITH lm AS (
        SELECT l.mention_id, l.master_id, l.match_probability, l.evidence, m.dataset, m.record_id, m.role,
               m.citizen_id, m.phone, m.name, m.birth_date
        FROM read_parquet($links) l JOIN read_parquet($ments) m USING (mention_id)),
      mine AS (SELECT * FROM lm WHERE dataset = $dataset),
      shared AS (
        SELECT a.mention_id, count(*) AS others, {shared}
        FROM mine a JOIN lm b ON b.master_id = a.master_id AND b.mention_id <> a.mention_id GROUP BY a.mention_id)
      SELECT a.record_id, a.role, a.master_id, round(a.match_probability, 6) AS match_probability,
             coalesce(a.evidence, nullif(concat_ws(' + ', {said}), ''),
                      CASE WHEN s.others IS NULL THEN 'only record of this person' ELSE 'model score (similar values)' END)
               AS evidence
      FROM mine a LEFT JOIN shared s USING (mention_id)
      ORDER BY a.record_id, a.role"""
    with duckdb.connect() as con:
        return con.sql(sql, params={"links": links_src, "ments": ments_src, "dataset": dataset}).to_arrow_table()


def render(table: pa.Table, fmt: str, watermark: str) -> tuple[bytes, str]:
    """(bytes of the export, its export id): CSV or Parquet, each row carrying the export id
    derived from the watermark (who, when, which purpose), Parquet also the watermark itself."""
    export_id = hashlib.sha256(watermark.encode("utf-8")).hexdigest()[:16]
    table = table.append_column("export_id", pa.array([export_id] * table.num_rows, pa.string()))
    buf = io.BytesIO()
    if fmt == "csv":
        pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))
    elif fmt == "parquet":
        pq.write_table(table.replace_schema_metadata({"zhijing.watermark": watermark, "zhijing.export_id": export_id}), buf)
    else:
        raise ZhijingError("--format must be csv or parquet")
    return buf.getvalue(), export_id
