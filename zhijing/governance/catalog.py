"""The resource catalog (资源目录): every dataset with owner, schema, data elements, grade,
retention, lineage, row counts, quality and freshness, plus the ledger of landed inputs.

Stored with SQLAlchemy at ``Settings.sqlalchemy_url("metadata")`` (SQLite by default,
PostgreSQL in production). Lineage and row counts of the current versions come from the
lake manifests, so the catalog never disagrees with what readers see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from zhijing.config import Settings
from zhijing.errors import ZhijingError
from zhijing.lake.store import current_manifest
from zhijing.localtime import shown, shown_all
from zhijing.sources.spec import DatasetSpec, ReferenceSpec, load_spec

meta = sa.MetaData()

datasets = sa.Table(
    "catalog_datasets", meta,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # source | reference
    sa.Column("title", sa.String(200)), sa.Column("owner", sa.String(200)), sa.Column("description", sa.Text),
    sa.Column("format", sa.String(20)), sa.Column("grade", sa.String(10)), sa.Column("pi", sa.String(20)),
    sa.Column("retention_days", sa.Integer), sa.Column("key_field", sa.String(100)),
    sa.Column("time_field", sa.String(100)), sa.Column("partition_by", sa.String(10)),
    sa.Column("fields_json", sa.Text),  # [{name, element, title, note, grade}]
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)  # fmt: skip

ingests = sa.Table(
    "catalog_ingests", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ingest_id", sa.String(64), index=True), sa.Column("dataset", sa.String(100), index=True),
    sa.Column("engine", sa.String(20)), sa.Column("job_version", sa.String(100)),
    sa.Column("started_at", sa.DateTime(timezone=True)), sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(20)),  # ok | unchanged | failed
    sa.Column("rows_in", sa.BigInteger), sa.Column("clean", sa.BigInteger),
    sa.Column("quarantined", sa.BigInteger), sa.Column("duplicates", sa.BigInteger),
    sa.Column("reasons_json", sa.Text), sa.Column("inputs_json", sa.Text), sa.Column("error", sa.Text),
)  # fmt: skip

source_files = sa.Table(
    "catalog_source_files", meta,
    sa.Column("dataset", sa.String(100), primary_key=True), sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("origin", sa.Text), sa.Column("size", sa.BigInteger), sa.Column("rows", sa.BigInteger),
    sa.Column("ingest_id", sa.String(64)), sa.Column("landed_at", sa.DateTime(timezone=True)),
)  # fmt: skip

quality = sa.Table(
    "catalog_quality", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.String(100), index=True), sa.Column("ingest_id", sa.String(64)),
    sa.Column("measured_at", sa.DateTime(timezone=True)),
    *[sa.Column(d, sa.Float) for d in ("completeness", "validity", "uniqueness", "timeliness", "consistency", "score")],
)  # fmt: skip

purges = sa.Table(
    "catalog_purges", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.String(100), index=True), sa.Column("ran_at", sa.DateTime(timezone=True)),
    sa.Column("cutoff", sa.DateTime(timezone=True)), sa.Column("removed_json", sa.Text),
)  # fmt: skip

QUALITY_DIMENSIONS = ("completeness", "validity", "uniqueness", "timeliness", "consistency")


@lru_cache(maxsize=8)
def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    try:
        meta.create_all(engine)
    except sa.exc.SQLAlchemyError as exc:
        raise ZhijingError(f"catalog database unreachable ({type(exc).__name__})") from exc
    return engine


def engine(settings: Settings) -> sa.Engine:
    return _engine(settings.sqlalchemy_url("metadata"))


def now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------- field grades

# element -> grade for the access layer's masking; see docs/lake.md "Field grades".
ELEMENT_GRADES = {
    "citizen_id": "sensitive", "phone": "sensitive", "account_no": "sensitive", "birth_date": "sensitive",
    "name": "internal", "name_pinyin": "internal", "sex": "internal", "address": "internal",
    "plate": "internal", "vin": "internal", "record_id": "internal", "lon": "internal", "lat": "internal", "lonlat": "internal",
    "text": "internal", "amount": "internal", "place_code": "internal",
    "uscc": "public", "company_name": "public", "division_code": "public", "datetime": "internal",
    "date": "internal", "category": "public", "code": "public", "count": "public", "number": "public",
    "duration_s": "public",
}  # fmt: skip
ADDRESS_PART_GRADES = {"province": "public", "city": "public", "district": "public", "division_code": "public", "detail": "internal"}
META_GRADES = {"_record_id": "internal", "_source_file": "internal", "_source_line": "internal", "_ingest_id": "public",
               "_ingested_at": "public", "_issues": "internal", "_row_hash": "internal"}  # fmt: skip


def element_grade(spec: DatasetSpec, element: str) -> str:
    grade = ELEMENT_GRADES.get(element, "internal")
    if element == "text" and spec.grade == "核心":
        return "secret"  # case narratives, transaction notes of 核心 datasets
    if element == "amount" and spec.pi == "sensitive":
        return "sensitive"  # financial account amounts are sensitive PI (PIPL Art. 28)
    return grade


def grades_for_spec(spec: DatasetSpec) -> dict[str, str]:
    out = dict(META_GRADES)
    for f in spec.fields:
        g = element_grade(spec, f.element)
        out[f.name] = g
        out[f"{f.name}__raw"] = g
        if f.element == "address":
            out.update({f"{f.name}__{p}": pg for p, pg in ADDRESS_PART_GRADES.items()})
    out.update(dict.fromkeys(spec.derived_columns, ELEMENT_GRADES["lon"]))  # a lonlat field's __lon / __lat
    return out


def field_grades(settings: Settings, dataset: str) -> dict[str, str]:
    """Column -> "public" | "internal" | "sensitive" | "secret" for ``dataset``'s clean
    columns (and ``quarantine``'s), for masking in the access layer."""
    spec = _spec_or_none(settings, dataset)
    if spec is not None:
        return grades_for_spec(spec)
    if dataset == "quarantine" or dataset.startswith("quarantine:"):
        return {"dataset": "public", "_source_file": "internal", "_source_line": "internal", "raw": "sensitive",
                "reason": "public", "_ingest_id": "public", "_record_id": "internal"}  # fmt: skip
    entry = get(settings, dataset)
    if entry is None:
        raise ZhijingError(f"unknown dataset {dataset!r}")
    return {f["name"]: f.get("grade", "internal") for f in entry["fields"]}


def _spec_or_none(settings: Settings, name: str) -> DatasetSpec | None:
    try:
        return load_spec(settings).dataset(name)
    except KeyError:
        return None


# ---------------------------------------------------------------------------- registration

def register_spec(settings: Settings, spec: DatasetSpec | ReferenceSpec) -> None:
    """Create or refresh the catalog entry of a dataset from the source registry."""
    if isinstance(spec, DatasetSpec):
        fields = [
            {"name": f.name, "element": f.element, "title": f.title, "note": f.note, "grade": element_grade(spec, f.element)}
            for f in spec.fields
        ]
        row = dict(
            name=spec.name, kind="source", title=spec.title, owner=spec.owner, format=spec.format,
            description=f"{spec.title}（{spec.owner}）: {spec.format} source {spec.path}",
            grade=spec.grade, pi=spec.pi, retention_days=spec.retention_days, key_field=spec.key,
            time_field=spec.time_field, partition_by=spec.partition, fields_json=json.dumps(fields, ensure_ascii=False),
        )  # fmt: skip
    else:
        row = dict(
            name=spec.name, kind="reference", title=spec.title, owner="参考数据", format=spec.format,
            description=f"{spec.title}: reference data {spec.path}, landed as-is", grade="一般", pi="none",
            retention_days=None, key_field=None, time_field=None, partition_by="none", fields_json="[]",
        )  # fmt: skip
    row["updated_at"] = now()
    with engine(settings).begin() as conn:
        conn.execute(sa.delete(datasets).where(datasets.c.name == row["name"]))
        conn.execute(sa.insert(datasets).values(**row))


def set_reference_fields(settings: Settings, name: str, columns: list[str]) -> None:
    fields = [{"name": c, "element": "text", "title": None, "note": None, "grade": "public"} for c in columns]
    with engine(settings).begin() as conn:
        conn.execute(
            sa.update(datasets).where(datasets.c.name == name).values(fields_json=json.dumps(fields, ensure_ascii=False))
        )


def known_source(settings: Settings, dataset: str, sha256: str) -> bool:
    with engine(settings).connect() as conn:
        q = sa.select(source_files.c.sha256).where(source_files.c.dataset == dataset, source_files.c.sha256 == sha256)
        return conn.execute(q).first() is not None


@dataclass
class IngestRecord:
    ingest_id: str
    dataset: str
    engine: str
    job_version: str | None
    started_at: datetime
    status: str
    counts: dict[str, int]
    reasons: dict[str, int]
    inputs: list[dict[str, Any]]
    error: str | None = None


def record_ingest(settings: Settings, rec: IngestRecord) -> None:
    """Log an ingest (and, when it succeeded, the inputs it consumed) in one transaction."""
    with engine(settings).begin() as conn:
        conn.execute(
            sa.insert(ingests).values(
                ingest_id=rec.ingest_id, dataset=rec.dataset, engine=rec.engine, job_version=rec.job_version,
                started_at=rec.started_at, finished_at=now(), status=rec.status,
                rows_in=rec.counts.get("rows_in", 0), clean=rec.counts.get("clean", 0),
                quarantined=rec.counts.get("quarantined", 0), duplicates=rec.counts.get("duplicates", 0),
                reasons_json=json.dumps(rec.reasons, ensure_ascii=False),
                inputs_json=json.dumps(rec.inputs, ensure_ascii=False), error=rec.error,
            )
        )  # fmt: skip
        if rec.status == "ok":
            for inp in rec.inputs:
                conn.execute(sa.delete(source_files).where(
                    source_files.c.dataset == rec.dataset, source_files.c.sha256 == inp["sha256"]))
                conn.execute(sa.insert(source_files).values(
                    dataset=rec.dataset, sha256=inp["sha256"], origin=inp["origin"], size=inp.get("size", 0),
                    rows=inp.get("rows", 0), ingest_id=rec.ingest_id, landed_at=now()))  # fmt: skip


def record_quality(settings: Settings, dataset: str, ingest_id: str, scores: dict[str, float | None]) -> None:
    with engine(settings).begin() as conn:
        conn.execute(sa.insert(quality).values(dataset=dataset, ingest_id=ingest_id, measured_at=now(), **scores))


def record_purge(settings: Settings, dataset: str, cutoff: datetime, removed: dict[str, int]) -> None:
    with engine(settings).begin() as conn:
        conn.execute(sa.insert(purges).values(dataset=dataset, ran_at=now(), cutoff=cutoff, removed_json=json.dumps(removed)))


# ---------------------------------------------------------------------------- reading

def _iso(value: datetime | None) -> str | None:
    """A catalog time (stored UTC) in the deployment's zone."""
    return shown(value)


def _zones(settings: Settings, name: str) -> dict[str, Any]:
    out = {}
    for zone in ("raw", "clean", "quarantine"):
        m = current_manifest(settings, zone, name)
        if m is not None:
            out[zone] = {"version": m.version, "rows": m.rows, "files": len(m.files), "created_at": m.created_at,
                         "lineage": m.lineage}  # fmt: skip
    return shown_all(out)


def list_entries(settings: Settings) -> list[dict[str, Any]]:
    """One summary row per dataset: grade, rows, quality score, freshness."""
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(datasets).order_by(datasets.c.kind.desc(), datasets.c.name)).mappings().all()
        latest_q = _latest_quality(conn)
        last = _last_ingests(conn)
    out = []
    for r in rows:
        zones = _zones(settings, r["name"])
        out.append({
            "name": r["name"], "kind": r["kind"], "title": r["title"], "owner": r["owner"], "grade": r["grade"],
            "pi": r["pi"], "retention_days": r["retention_days"],
            "rows": zones.get("clean", zones.get("raw", {})).get("rows"),
            "quarantined": zones.get("quarantine", {}).get("rows"),
            "quality": (latest_q.get(r["name"]) or {}).get("score"),
            "freshness": _iso(last.get(r["name"], {}).get("finished_at")),
        })  # fmt: skip
    return out


def _latest_quality(conn: sa.Connection) -> dict[str, dict]:
    sub = sa.select(quality.c.dataset, sa.func.max(quality.c.id).label("id")).group_by(quality.c.dataset).subquery()
    rows = conn.execute(sa.select(quality).join(sub, quality.c.id == sub.c.id)).mappings().all()
    return {r["dataset"]: dict(r) for r in rows}


def _last_ingests(conn: sa.Connection) -> dict[str, dict]:
    sub = (
        sa.select(ingests.c.dataset, sa.func.max(ingests.c.id).label("id"))
        .where(ingests.c.status == "ok")
        .group_by(ingests.c.dataset)
        .subquery()
    )
    rows = conn.execute(sa.select(ingests).join(sub, ingests.c.id == sub.c.id)).mappings().all()
    return {r["dataset"]: dict(r) for r in rows}


def get(settings: Settings, name: str) -> dict[str, Any] | None:
    """The full catalog entry of ``name`` (None when not catalogued)."""
    with engine(settings).connect() as conn:
        row = conn.execute(sa.select(datasets).where(datasets.c.name == name)).mappings().first()
        if row is None:
            return None
        hist = conn.execute(
            sa.select(ingests).where(ingests.c.dataset == name).order_by(ingests.c.id.desc()).limit(20)
        ).mappings().all()
        q = _latest_quality(conn).get(name)
        files = conn.execute(
            sa.select(source_files).where(source_files.c.dataset == name).order_by(source_files.c.landed_at)
        ).mappings().all()
    entry = {k: v for k, v in dict(row).items() if k != "fields_json"}
    entry["updated_at"] = _iso(entry["updated_at"])
    entry["fields"] = json.loads(row["fields_json"] or "[]")
    entry["zones"] = _zones(settings, name)
    entry["lineage"] = entry["zones"].get("clean", entry["zones"].get("raw", {})).get("lineage", {})
    entry["rows"] = entry["zones"].get("clean", entry["zones"].get("raw", {})).get("rows")
    entry["quality"] = {k: q[k] for k in (*QUALITY_DIMENSIONS, "score")} | {"measured_at": _iso(q["measured_at"])} if q else None
    entry["ingests"] = [
        {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in dict(h).items() if k not in ("inputs_json", "id")}
        | {"reasons": json.loads(h["reasons_json"] or "{}")}
        for h in hist
    ]
    for h in entry["ingests"]:
        h.pop("reasons_json", None)
    entry["sources"] = [{"origin": f["origin"], "sha256": f["sha256"], "rows": f["rows"], "landed_at": _iso(f["landed_at"])} for f in files]
    entry["freshness"] = entry["ingests"][0]["finished_at"] if entry["ingests"] else None
    spec = _spec_or_none(settings, name)  # a deployment's source: what `sources add` found in the file
    entry["profile"] = spec.profile if spec else None
    entry["declared_in"] = spec.declared_in.name if spec and spec.declared_in else None
    return entry


def quality_history(settings: Settings, name: str) -> list[dict[str, Any]]:
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(quality).where(quality.c.dataset == name).order_by(quality.c.id)).mappings().all()
    return [{k: (_iso(v) if isinstance(v, datetime) else v) for k, v in dict(r).items() if k != "id"} for r in rows]
