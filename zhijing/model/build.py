"""The lake's ``model`` zone: one table per event type (``model/stay``, ``model/payment``, …),
the union of every dataset mapped to it, each row with its dataset and record id.

Rebuilt incrementally by dataset version: each table holds one file per dataset (the
file's key); a dataset's file is rewritten only when its clean version, the versions of the
datasets it joins or places against, its mapping or the type changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import duckdb

from zhijing.lake.store import current_files, current_manifest, publish
from zhijing.lake.zones import staging_dir
from zhijing.model import check, places
from zhijing.model import types as model_types
from zhijing.sources.spec import DatasetSpec, ModelMapping, load_spec

NUMERIC = ("amount", "number", "count", "duration_s")


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class BuildReport:
    """Rows per type, and per dataset the rows without a usable time or place (never dropped)."""

    rows: dict[str, int] = field(default_factory=dict)
    by_dataset: dict[str, int] = field(default_factory=dict)  # "type/dataset": rows
    rebuilt: list[str] = field(default_factory=list)  # "type/dataset" files written this run
    untimed: dict[str, int] = field(default_factory=dict)
    unplaced: dict[str, int] = field(default_factory=dict)


def _ref(ref: str, joined: set[str]) -> str:
    """SQL for a field reference of a mapping: ``col``, ``dataset.col`` or ``=literal``."""
    if ref.startswith("="):
        return lit(ref[1:])
    if "." in ref and ref.split(".", 1)[0] in joined:
        ds, col = ref.split(".", 1)
        return f"{q('j_' + ds)}.{q(col)}"
    return f"r.{q(ref)}"


def _time(ref: str | None, spec: DatasetSpec, joined: set[str], tz: str, specs: dict) -> str:
    if not ref:
        return "NULL::TIMESTAMPTZ"
    ds, col = (ref.split(".", 1) if "." in ref and ref.split(".", 1)[0] in joined else (spec.name, ref))
    element = specs[ds].element_of(col) if ds in specs and col in specs[ds].field_names else "datetime"
    expr = _ref(ref, joined)
    return f"timezone({lit(tz)}, CAST({expr} AS TIMESTAMP))" if element == "date" else f"CAST({expr} AS TIMESTAMPTZ)"


def place_tables(con: duckdb.DuckDBPyConnection, settings, spec) -> dict[str, list[str]]:
    """One temp table ``place_<kind>`` (code, name, lon, lat, station, district) per kind of the
    declared place sources with data (several sources of one kind — two hotel chains' lists —
    are one gazetteer); returns {kind: [input files]} (their versions decide what is rebuilt)."""
    out: dict[str, list[str]] = {}
    for kind in dict.fromkeys(p.kind for p in spec.places):
        if sources := places.declared(settings, kind, spec):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {q('place_' + kind)} AS {places.gazetteer_sql(sources)}")
            out[kind] = [f for _, files in sources for f in files]
    return out


def select(settings, spec: DatasetSpec, m: ModelMapping, ev: model_types.EventType, places: dict, specs: dict, tz: str,
           rows: str | None = None) -> str | None:  # fmt: skip
    """The SELECT of one dataset's rows as one model type (None when the dataset has no data);
    ``rows``: a table expression of clean rows to map instead of the dataset's clean files (a
    record on the stream, mapped before the lake has it)."""
    files = [] if rows else current_files(settings, "clean", spec.name)
    if not files and not rows:
        return None
    joined = set(m.join)
    joins = []
    for ds, on in m.join.items():
        jf = current_files(settings, "clean", ds)
        cond = " AND ".join(f"{q('j_' + ds)}.{q(theirs)} = r.{q(mine)}" for mine, theirs in on.items())
        body = f"read_parquet({jf!r}, union_by_name=true)" if jf else f"(SELECT {', '.join('NULL AS ' + q(t) for t in on.values())})"
        joins.append(f"LEFT JOIN {body} {q('j_' + ds)} ON {cond}")
    ts = _time(m.time, spec, joined, tz, specs)
    if m.end:
        end = _time(m.end, spec, joined, tz, specs)
    elif m.duration:
        end = f"{ts} + coalesce(TRY_CAST({_ref(m.duration, joined)} AS DOUBLE), 0) * INTERVAL 1 SECOND"
    else:
        end = "NULL::TIMESTAMPTZ"
    if ev.default_span_s:
        end = f"coalesce({end}, {ts} + {int(ev.default_span_s)} * INTERVAL 1 SECOND)"
    p = m.place
    kind = lit(p.kind) if p else "NULL"
    pid = pname = plon = plat = "NULL"
    placed = "false"
    if p:
        if p.service:
            svc = _ref(p.service, joined)
            day = f"strftime(({ts} AT TIME ZONE {lit(tz)})::DATE, '%Y-%m-%d')"
            pid = f"{svc} || '@' || {day}"
            at = _ref(p.at, joined) if p.at else "NULL"
            to = _ref(p.to, joined) if p.to else "NULL"
            pname = f"{svc} || ' ' || coalesce({at}, '') || '→' || coalesce({to}, '')"
            if "terminal" in places and p.at:
                joins.append(f"LEFT JOIN place_terminal pt ON pt.code = CAST({at} AS VARCHAR)")
                plon, plat = "pt.lon", "pt.lat"
            placed = f"({svc} IS NOT NULL)"
        else:
            code = f"CAST({_ref(p.code, joined)} AS VARCHAR)" if p.code else "NULL"
            pid = code
            own_lon = f"TRY_CAST({_ref(p.lon, joined)} AS DOUBLE)" if p.lon else "NULL"
            own_lat = f"TRY_CAST({_ref(p.lat, joined)} AS DOUBLE)" if p.lat else "NULL"
            own_name = _ref(p.name, joined) if p.name else "NULL"
            if p.kind in places and p.code:
                joins.append(f"LEFT JOIN {q('place_' + p.kind)} pk ON pk.code = {code}")
                pname, plon, plat = f"coalesce(pk.name, {own_name}, {code})", f"coalesce({own_lon}, pk.lon)", f"coalesce({own_lat}, pk.lat)"
                placed = f"(pk.code IS NOT NULL OR {own_lon} IS NOT NULL)"
            else:
                pname, plon, plat = own_name, own_lon, own_lat
                placed = f"({code} IS NOT NULL OR {own_lon} IS NOT NULL)"
    cols = [lit(m.type), lit(spec.name), "r._record_id", "CAST(r._source_line AS BIGINT)", ts, end, kind, f"CAST({pid} AS VARCHAR)", f"CAST({pname} AS VARCHAR)",
            f"CAST({plon} AS DOUBLE)", f"CAST({plat} AS DOUBLE)", f"coalesce({placed}, false)"]  # fmt: skip
    for role, kind_of in ev.roles.items():
        ref = m.roles.get(role)
        if ref is None:
            cols.append("NULL::VARCHAR")
        elif kind_of == "person":  # the person mention this row names in that role (resolved later)
            cols.append(f"{lit(spec.name + '|')} || r._record_id || {lit('|' + ref)}")
        else:
            cols.append(f"NULLIF(trim(CAST({_ref(ref, joined)} AS VARCHAR)), '')")
    for prop, element in ev.properties.items():
        ref = m.properties.get(prop)
        sql = _ref(ref, joined) if ref else "NULL"
        cols.append(f"TRY_CAST({sql} AS DOUBLE)" if element in NUMERIC else f"CAST({sql} AS VARCHAR)")
    where = f"WHERE {_ref(m.where, joined)} IS NOT NULL" if m.where else ""
    body = ", ".join(f"{c} AS {q(n)}" for c, n in zip(cols, ev.columns(), strict=True))
    return f"SELECT {body} FROM {rows or f'read_parquet({files!r}, union_by_name=true)'} r {' '.join(joins)} {where}"


def select_entity(settings, spec: DatasetSpec, m: ModelMapping, ent: model_types.EntityType) -> str | None:
    """The SELECT of one dataset's rows as registrations of one entity type (by its key)."""
    files = current_files(settings, "clean", spec.name)
    if not files or not m.key:
        return None
    key = f"NULLIF(trim(CAST({_ref(m.key, set())} AS VARCHAR)), '')"
    cols = [lit(m.type), lit(spec.name), "r._record_id", "CAST(r._source_line AS BIGINT)", key]
    for prop, element in ent.properties.items():
        ref = key if prop == ent.key else (_ref(m.properties[prop], set()) if prop in m.properties else "NULL")
        cols.append(f"TRY_CAST({ref} AS DOUBLE)" if element in NUMERIC else f"CAST({ref} AS VARCHAR)")
    body = ", ".join(f"{c} AS {q(n)}" for c, n in zip(cols, ent.columns(), strict=True))
    return f"SELECT {body} FROM read_parquet({files!r}, union_by_name=true) r WHERE {key} IS NOT NULL"


def _fingerprint(settings, spec: DatasetSpec, m: ModelMapping, ev, places: dict) -> str:
    """What a dataset's rows of a type depend on: versions of its inputs, its mapping, the type."""
    def version(ds: str) -> str | None:
        man = current_manifest(settings, "clean", ds)
        return man.version if man else None
    parts = {"self": version(spec.name), "join": {d: version(d) for d in m.join}, "mapping": m.model_dump(),
             "type": ev.model_dump(), "places": {k: v for k, v in places.items() if m.place and k in (m.place.kind, "terminal")}}  # fmt: skip
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def build(settings, con: duckdb.DuckDBPyConnection | None = None, types: list[str] | None = None) -> BuildReport:
    """Bring every model table up to date with the clean zone; returns what it holds."""
    check.refuse_bad_mappings(settings)
    spec, model = load_spec(settings), model_types.load(settings)
    tz = settings.timezone  # the deployment's zone (one setting): a date without a time is local midnight
    con = con or duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    places = place_tables(con, settings, spec)
    specs = {d.name: d for d in spec.datasets}
    report = BuildReport()
    every = {**{n: e for n, e in model.entities.items() if e.key}, **model.events}
    for name, kind in every.items():
        if types and name not in types:
            continue
        mapped = [(d, m) for d in spec.datasets for m in d.model if m.type == name]
        _build_type(settings, con, name, kind, mapped, places, specs, tz, report)
    return report


def _build_type(settings, con, name, ev, mapped, places, specs, tz, report: BuildReport) -> None:
    manifest = current_manifest(settings, "model", name)
    before = dict(manifest.lineage.get("inputs", {})) if manifest else {}
    now: dict[str, str] = {}
    groups: dict[str, list[ModelMapping]] = {}
    for d, m in mapped:
        if current_files(settings, "clean", d.name):
            groups.setdefault(d.name, []).append(m)
    for ds, maps in groups.items():
        now[ds] = "+".join(_fingerprint(settings, specs[ds], m, ev, places) for m in maps)
    for ds in sorted(set(before) | set(now)):
        if before.get(ds) == now.get(ds):
            continue
        lineage = {"job": "model.build", "type": name, "inputs": {**before, **({ds: now[ds]} if ds in now else {})}}
        if ds not in now:  # no longer mapped or no data: its file leaves the table
            lineage["inputs"].pop(ds, None)
            publish(settings, "model", name, [], lineage, mode="append", key=ds)
        else:
            sqls = [s for m in groups[ds] if (s := (select_entity(settings, specs[ds], m, ev) if isinstance(ev, model_types.EntityType)
                                                    else select(settings, specs[ds], m, ev, places, specs, tz)))]  # fmt: skip
            path = staging_dir(settings, f"model-{name}") / "part-0.parquet"
            con.execute(f"COPY ({' UNION ALL '.join(sqls)}) TO {lit(str(path))} (FORMAT parquet)")
            publish(settings, "model", name, [path], lineage, mode="append", key=ds)
            report.rebuilt.append(f"{name}/{ds}")
        before = lineage["inputs"]
    files = current_files(settings, "model", name)
    if files and isinstance(ev, model_types.EntityType):
        report.rows[name] = con.execute(f"SELECT count(*) FROM read_parquet({files!r})").fetchall()[0][0]
    elif files:
        counts = con.execute(f"""SELECT dataset, count(*), count(*) FILTER (WHERE ts IS NULL),
                                        count(*) FILTER (WHERE NOT placed) FROM read_parquet({files!r}) GROUP BY 1""").fetchall()  # fmt: skip
        report.rows[name] = sum(c[1] for c in counts)
        for ds, rows, untimed, unplaced in counts:
            report.by_dataset[f"{name}/{ds}"] = rows
            if untimed and ev.time != "none":
                report.untimed[f"{name}/{ds}"] = untimed
            if unplaced and ev.place == "required":
                report.unplaced[f"{name}/{ds}"] = unplaced
