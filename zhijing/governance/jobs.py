"""The clean job of one dataset, generated from its catalog spec and written once.

Input: the raw rows of one ingest (``raw_batch``), the row hashes already in the clean
zone (``prior_hashes``) and the parsed addresses (``addr_lookup``). Output views:
``clean_out`` (contract §2 clean schema), ``quarantine_out`` and the per-class counts.
Every raw row lands in exactly one class — clean, quarantine or duplicate — which is the
accounting identity by construction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa

from zhijing.governance import standardize_sql as S
from zhijing.governance.engines.base import Engine
from zhijing.sources.connectors.base import quote_ident as q
from zhijing.sources.spec import LINE_KEY, LONLAT_PARTS, DatasetSpec
from zhijing.standards import timeparse
from zhijing.standards.address import parse_many

JOB_NAME = "governance.clean"
JOB_REVISION = 2  # bump when the meaning of the generated SQL changes
ADDRESS_PARTS = ("province", "city", "district", "division_code", "detail")
STANDARDIZED = {
    "citizen_id", "phone", "plate", "uscc", "datetime", "date", "birth_date", "sex", "amount", "number",
    "count", "duration_s", "lon", "lat", "lonlat", "division_code", "vin",
}  # elements whose unfixable values keep their original text in ``<field>__raw``  # fmt: skip


@dataclass
class JobParams:
    ingest_id: str
    ingested_at_us: int  # UTC microseconds
    today: date
    zone: str = "Asia/Shanghai"


@dataclass
class FieldPlan:
    """How one source field becomes clean columns."""

    stages: list[list[tuple[str, str]]] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (column, expression)
    reason: str | None = None  # 'reason code' or NULL
    time: S.TimeColumns | None = None


def partition_column(spec: DatasetSpec) -> str | None:
    return None if spec.partition == "none" or not spec.time_field else spec.partition


def _plan_field(spec: DatasetSpec, i: int, fname: str, params: JobParams) -> FieldPlan:
    element = spec.element_of(fname)
    src, p, out = q(fname), f"__f{i}_", q(fname)
    plan = FieldPlan()
    # every value and reason is a staged column, computed once and referenced by the outputs,
    # ``_issues`` and ``<field>__raw``
    if element in ("datetime", "date", "birth_date"):
        tc = S.TimeColumns(src, p, params.zone, timeparse.order_of(spec.field(fname).format))
        plan.stages, plan.time = tc.stages(), tc
        days = f"{p}days"
        if element == "datetime":
            plan.outputs = [(out, f"zj_us_to_ts({tc.value_us()})")]
            plan.reason = tc.reason
            if fname == spec.time_field:
                plan.stages.append([(days, tc.local_days())])
        else:
            why = f"{p}dwhy"
            plan.stages.append([(why, tc.date_reason()), (days, tc.local_days())])
            plan.outputs = [(out, f"CASE WHEN {why} IS NULL THEN zj_days_to_date({days}) END")]
            plan.reason = why
    elif element in ("citizen_id", "phone", "plate", "uscc"):
        builder = {"citizen_id": lambda: S.cid_stages(src, p, params.today), "phone": lambda: S.phone_stages(src, p),
                   "plate": lambda: S.plate_stages(src, p), "uscc": lambda: S.uscc_stages(src, p)}[element]  # fmt: skip
        plan.stages, value, reason = builder()
        r, why = f"{p}r", f"{p}why"
        # 'missing' is the reason's first arm and exactly the blank values: not an issue
        plan.stages += [[(r, reason)], [(why, f"nullif({r}, 'missing')")]]
        plan.outputs = [(out, f"CASE WHEN {r} IS NULL THEN {value} END")]
        plan.reason = why
    elif element == "lonlat":
        lon, lat, why = f"{p}lon", f"{p}lat", f"{p}why"
        value_lon, value_lat, reason = S.lonlat(src)
        plan.stages = [[(lon, value_lon), (lat, value_lat), (why, reason)]]
        plan.outputs = [(out, S.text(src)), (q(fname + LONLAT_PARTS[0]), lon), (q(fname + LONLAT_PARTS[1]), lat)]
        plan.reason = why
    else:
        if element in ("name", "company_name", "name_pinyin"):
            folded = f"{p}fw"
            plan.stages.append([(folded, S.translate_some(src, S.FULLWIDTH_ASCII, S.HALFWIDTH_ASCII))])
            value, reason = f"nullif({S.strip(folded)}, '')", None
            value = f"upper({value})" if element == "name_pinyin" else value
        else:
            value, reason = _simple(element, src)
        plan.stages.append([(f"{p}v", value)] + ([(f"{p}why", reason)] if reason else []))
        plan.outputs = [(out, f"{p}v")]
        plan.reason = f"{p}why" if reason else None
    if element == "address":
        a = f"__a{i}"
        plan.outputs += [(q(f"{fname}__{part}"), f"{a}_{part}") for part in ADDRESS_PARTS]
    if element in STANDARDIZED:
        plan.outputs.append((q(f"{fname}__raw"), f"CASE WHEN ({plan.reason}) IS NOT NULL THEN {src} END"))
    return plan


def _simple(element: str, src: str) -> tuple[str, str | None]:
    """Elements standardized by one expression: (value, reason or None)."""
    if element == "sex":
        return S.sex(src)
    if element in ("amount",):
        return S.number(src, r"[,，¥￥元\s]")
    if element == "number":
        return S.number(src)
    if element in ("count", "duration_s"):
        return S.integer(src)
    if element == "lon":
        return S.coordinate(src, 180)
    if element == "lat":
        return S.coordinate(src, 90)
    if element == "division_code":
        return S.pattern_code(src, "^[0-9]{6}$")
    if element == "vin":
        return S.pattern_code(src, "^[A-HJ-NPR-Z0-9]{17}$")
    if element == "account_no":
        return f"nullif(regexp_replace({src}, {S.lit(S.WS)}, '', 'g'), '')", None
    if element == "address":
        return S.address_text(src), None
    return S.text(src), None  # record_id, text, category, code, place_code


class CleanJob:
    """The SQL of the clean job for one dataset."""

    def __init__(self, spec: DatasetSpec, params: JobParams) -> None:
        self.spec, self.params = spec, params
        self.fields = spec.field_names
        self.plans = {f: _plan_field(spec, i, f, params) for i, f in enumerate(self.fields)}
        self.partition = partition_column(spec)
        self.address_fields = [f for f in self.fields if spec.element_of(f) == "address"]

    @property
    def version(self) -> str:
        """Job identity for lineage: the generated SQL's hash (parameters excluded)."""
        text = "\n".join(sql for _, sql in self._steps(ingest_literals=False))
        return f"{JOB_NAME}@{JOB_REVISION}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"

    def _std_sql(self) -> str:
        """Row hash and duplicate rank on the raw rows (the window sorts narrow rows, not the
        helper columns), then stage after stage, each adding helper columns over the previous one."""
        depth = max((len(p.stages) for p in self.plans.values()), default=0)
        hashed = f"SELECT *, {S.row_hash([q(f) for f in self.fields])} AS _row_hash FROM raw_batch"
        sql = (
            f"SELECT r.*, ph._row_hash AS _prior FROM (SELECT h.*, row_number() OVER "
            f"(PARTITION BY h._row_hash ORDER BY h._source_file, h._source_line) AS _dup_rank FROM ({hashed}) h) r "
            f"LEFT JOIN (SELECT DISTINCT _row_hash FROM prior_hashes) ph ON ph._row_hash = r._row_hash"
        )
        # the join key is the address's staged text value (trimmed once, not in the join)
        joins = "".join(
            f" LEFT JOIN addr_lookup __a{self.fields.index(f)} ON __a{self.fields.index(f)}.addr_key = "
            f"std.__f{self.fields.index(f)}_v"
            for f in self.address_fields
        )
        for level in range(depth):
            cols = [f"{expr} AS {name}" for p in self.plans.values() if level < len(p.stages) for name, expr in p.stages[level]]
            if cols:
                sql = f"SELECT *, {', '.join(cols)} FROM ({sql}) s{level}"
        if not joins:
            return sql
        picked = ", ".join(
            f"__a{self.fields.index(f)}.{part} AS __a{self.fields.index(f)}_{part}"
            for f in self.address_fields
            for part in ADDRESS_PARTS
        )
        return f"SELECT std.*, {picked} FROM ({sql}) std{joins}"

    def _quarantine_reason(self) -> str:
        arms = [
            "WHEN _error IS NOT NULL THEN _error",
            f"WHEN {S.garbage([q(f) for f in self.fields])} THEN 'binary_garbage'",
        ]
        if self.spec.key != LINE_KEY:
            arms.append(f"WHEN {S.blank(q(self.spec.key))} THEN {S.lit('missing_key:' + self.spec.key)}")
        if self.spec.time_field:
            tc = self.plans[self.spec.time_field].time
            assert tc is not None, "time_field must be a datetime/date element"
            arms.append(f"WHEN {tc.reason} IS NOT NULL THEN {S.lit('bad_time:' + self.spec.time_field + ':')} || {tc.reason}")
        return "CASE " + " ".join(arms) + " END"

    def _record_id(self) -> str:
        """The key's text, or for ``key: _line`` where the row stands: ``file:line``."""
        if self.spec.key == LINE_KEY:
            return "_source_file || ':' || CAST(_source_line AS VARCHAR)"
        return S.text(q(self.spec.key))

    def _issues(self) -> str:
        items = [
            f"CASE WHEN ({p.reason}) IS NOT NULL THEN {S.lit(f + ':')} || ({p.reason}) END"
            for f, p in self.plans.items()
            if p.reason
        ]
        return f"list_filter([{', '.join(items)}], lambda x: x IS NOT NULL)" if items else "CAST([] AS VARCHAR[])"

    def _steps(self, ingest_literals: bool = True) -> list[tuple[str, str]]:
        """std (view) -> classified (materialized once: the output columns only, every row one
        class) -> clean_out / quarantine_out (filters of classified)."""
        fields_q = [q(f) for f in self.fields]
        ingest_id = S.lit(self.params.ingest_id) if ingest_literals else "'?'"
        ingested = str(self.params.ingested_at_us) if ingest_literals else "0"
        outputs = [f"{expr} AS {name}" for p in self.plans.values() for name, expr in p.outputs]
        part = []
        if self.partition:
            tc = self.plans[self.spec.time_field].time
            fmt = "%Y-%m" if self.partition == "month" else "%Y-%m-%d"
            days = f"{tc.p}days"
            part = [f"CASE WHEN {tc.reason} IS NULL THEN strftime(zj_days_to_date({days}), '{fmt}') END AS {self.partition}"]
        self.clean_columns = [
            "_record_id", "_source_file", "_source_line", "_ingest_id", "_ingested_at",
            *[name for p in self.plans.values() for name, _ in p.outputs], "_issues", "_row_hash",
            *([self.partition] if self.partition else []),
        ]  # fmt: skip
        classified = (
            f"SELECT {self._record_id()} AS _record_id, _source_file, _source_line, {ingest_id} AS _ingest_id, "
            f"zj_us_to_ts({ingested}) AS _ingested_at, {', '.join(outputs)}, {self._issues()} AS _issues, "
            f"_row_hash{''.join(', ' + p for p in part)}, _class, _reason, "
            # every quarantined row has an error or a reason (the guard must not read _class:
            # DuckDB would evaluate the branch for every row)
            f"CASE WHEN _error IS NOT NULL OR _reason IS NOT NULL THEN coalesce(_raw, {S.csv_line(fields_q)}) END "
            f"AS _quarantine_raw FROM ("
            f"SELECT *, CASE WHEN _error IS NOT NULL THEN 'quarantine' "
            f"WHEN _dup_rank > 1 OR _prior IS NOT NULL THEN 'duplicate' "
            f"WHEN _reason IS NOT NULL THEN 'quarantine' ELSE 'clean' END AS _class FROM ("
            f"SELECT *, {self._quarantine_reason()} AS _reason FROM std) t) c"
        )
        clean = f"SELECT {', '.join(self.clean_columns)} FROM classified WHERE _class = 'clean'"
        quarantine = (
            f"SELECT {S.lit(self.spec.name)} AS dataset, _source_file, _source_line, _quarantine_raw AS raw, "
            f"_reason AS reason, _ingest_id, _record_id FROM classified WHERE _class = 'quarantine'"
        )
        return [("std", self._std_sql()), ("classified", classified), ("clean_out", clean), ("quarantine_out", quarantine)]

    def steps(self) -> list[tuple[str, str]]:
        return self._steps()


@dataclass
class JobResult:
    clean_files: list[Path]
    quarantine_files: list[Path]
    counts: dict[str, int]  # rows_in, clean, quarantined, duplicates
    reasons: dict[str, int]
    job_version: str
    by_file: dict[str, dict[str, int]] = field(default_factory=dict)  # source file -> clean/quarantined/duplicates


def address_lookup(engine: Engine, fields: list[str]) -> pa.Table:
    """Parse each distinct address once (cpca, vectorised) — the same table feeds both
    engines, so their address columns agree by construction."""
    texts: set[str] = set()
    for f in fields:
        texts.update(r[0] for r in engine.rows(f"SELECT DISTINCT {S.address_text(q(f))} FROM raw_batch") if r[0])
    ordered = sorted(texts)
    parsed = parse_many(ordered) if ordered else []
    return pa.table(
        {"addr_key": pa.array(ordered, pa.string()),
         **{part: pa.array([getattr(a, part) for a in parsed], pa.string()) for part in ADDRESS_PARTS}}
    )  # fmt: skip


def run_clean(
    engine: Engine, spec: DatasetSpec, raw_files: list[str], prior_files: list[str], params: JobParams, out_dir: Path
) -> JobResult:
    """Run the clean job of ``spec`` over ``raw_files`` on ``engine``; write Parquet under
    ``out_dir/clean`` and ``out_dir/quarantine`` (staging: not yet published)."""
    job = CleanJob(spec, params)
    engine.register_parquet("raw_batch", raw_files)
    if prior_files:
        engine.register_parquet("prior_all", prior_files)
        engine.create_view("prior_hashes", "SELECT _row_hash FROM prior_all")
    else:
        engine.register_arrow("prior_hashes", pa.table({"_row_hash": pa.array([], pa.string())}))
    engine.register_arrow("addr_lookup", address_lookup(engine, job.address_fields))
    for name, sql in job.steps():
        (engine.materialize if name == "classified" else engine.create_view)(name, sql)
    clean_files = engine.write_parquet("clean_out", out_dir / "clean", [job.partition] if job.partition else None)
    quarantine_files = engine.write_parquet("quarantine_out", out_dir / "quarantine")
    reasons = dict(engine.rows("SELECT _reason, count(*) FROM classified WHERE _class = 'quarantine' GROUP BY _reason"))
    # one pass gives the counts per source file (the per-file accounting) and their totals
    names = {"clean": "clean", "quarantine": "quarantined", "duplicate": "duplicates"}
    by_file: dict[str, dict[str, int]] = {}
    for origin, cls, n in engine.rows("SELECT _source_file, _class, count(*) FROM classified GROUP BY _source_file, _class"):
        by_file.setdefault(str(origin), dict.fromkeys(names.values(), 0))[names[cls]] = int(n)
    counts = {k: sum(f[k] for f in by_file.values()) for k in names.values()}
    counts = {"rows_in": sum(counts.values()), **counts}
    return JobResult(clean_files, quarantine_files, counts, {str(k): int(v) for k, v in reasons.items()}, job.version,
                     by_file)  # fmt: skip
