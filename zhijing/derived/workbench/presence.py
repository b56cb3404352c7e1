"""The presence table (时空落点): every dated place of a person, a plate or a phone, each
row with its source record — the one table trajectories, companions, collision and
comparison read.

A lake job over the model zone (every event type with a time and a place, whatever dataset
it came from; DESIGN §10) and the entity masters, published to ``derived/presence`` sorted
by subject (a trajectory is a range read). Columns: subject_kind (person | plate | phone),
subject (master id, plate, number), dataset, record_id, ts, ts_end, mode (the model type:
stay, trip, pass, access, call, incident, ...), place_kind, place_id, place_name, lon, lat,
via (the plate a person row came through).

Vehicle reads are tied to a registered plate when the read is exact, or when its OCR
key (keys.plate_key) names exactly one registered plate. A person is present where the
vehicles they own are read.
"""

from __future__ import annotations

import hashlib
import os
import threading

import duckdb

from zhijing.derived.workbench.keys import plate_key_sql
from zhijing.lake.store import current_files, current_manifest, publish
from zhijing.lake.zones import staging_dir
from zhijing.model import build as model_build
from zhijing.model import read
from zhijing.model import types as model_types

COLUMNS = ("subject_kind", "subject", "dataset", "record_id", "ts", "ts_end", "mode", "place_kind", "place_id",
           "place_name", "lon", "lat", "via")  # fmt: skip


def _src(settings, zone: str, name: str) -> str | None:
    files = current_files(settings, zone, name)
    return f"read_parquet({files!r}, union_by_name=true)" if files else None


def _select(subject_kind: str, subject: str, via: str = "NULL") -> str:
    exprs = (f"'{subject_kind}'", subject, "t.dataset", "t.record_id", "t.ts", "t.ts_end", "t.type", "t.place_kind",
             "t.place_id", "t.place_name", "t.lon", "t.lat", f"({via})::VARCHAR")  # fmt: skip
    return "SELECT " + ", ".join(f"{e} AS {c}" for e, c in zip(exprs, COLUMNS, strict=True))


def parts(settings) -> list[str]:
    """One SELECT per (placed model type, subject role): a person role through its resolved
    master, a vehicle role as its registered plate (and, when the type names no person, the
    vehicle's owners), a phone role as the number. Rows without a time or a place are left
    out here and counted by the model build."""
    model = model_types.load(settings)
    out = []
    for name in model.placed():
        src = read.source(settings, name)
        if src is None:
            continue
        ev = model.events[name]
        rows = f"(SELECT * FROM {src} WHERE ts IS NOT NULL AND placed) t"
        for role, kind in ev.roles.items():
            col = read.q(role)
            if kind == "person":
                out.append(_select("person", "pl.master_id") + f" FROM {rows} JOIN pl ON pl.mention_id = t.{col}")
            elif kind == "vehicle":
                plate = f"coalesce(rp.plate, t.{col})"
                joined = f" FROM {rows} LEFT JOIN read_plate rp ON rp.raw = t.{col}"
                out.append(_select("plate", plate) + joined + f" WHERE t.{col} IS NOT NULL")
                if not ev.person_roles():
                    out.append(_select("person", "o.master_id", via=plate) + joined + f" JOIN owners o ON o.plate = {plate}")
            elif kind == "phone":
                out.append(_select("phone", f"t.{col}") + f" FROM {rows} WHERE t.{col} IS NOT NULL")
    return out


def prepare(con: duckdb.DuckDBPyConnection, settings) -> None:
    """The helper tables every part joins: mention → master (and record → master), plate
    read → registered plate (the model's vehicle roles against the owned plates), plate →
    owners."""
    links, ments = _src(settings, "entities", "person_links"), _src(settings, "entities", "person_mentions")
    if links and ments:
        con.execute(f"CREATE OR REPLACE TEMP TABLE pl AS SELECT DISTINCT m.mention_id, m.dataset, m.record_id, l.master_id "
                    f"FROM {links} l JOIN {ments} m USING (mention_id)")  # fmt: skip
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE pl (mention_id VARCHAR, dataset VARCHAR, record_id VARCHAR, master_id VARCHAR)")
    model = model_types.load(settings)
    raws, registered = [], []
    for name, ev in model.events.items():
        src = read.source(settings, name)
        for role in (r for r, k in ev.roles.items() if k == "vehicle") if src else ():
            (registered if name == "ownership" else raws).append(f"SELECT DISTINCT {read.q(role)} AS plate FROM {src}")
    raw = " UNION ".join(raws + registered) or "SELECT NULL::VARCHAR AS plate WHERE false"
    reg = " UNION ".join(registered) or "SELECT NULL::VARCHAR AS plate WHERE false"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE read_plate AS
        WITH raw AS (SELECT plate AS raw FROM ({raw})),
             reg AS (SELECT plate FROM ({reg}) WHERE plate IS NOT NULL),
             uk AS (SELECT {plate_key_sql('plate')} AS k, any_value(plate) AS plate FROM reg GROUP BY 1 HAVING count(*) = 1)
        SELECT raw.raw, coalesce(reg.plate, uk.plate, raw.raw) AS plate
        FROM raw LEFT JOIN reg ON reg.plate = raw.raw LEFT JOIN uk ON uk.k = {plate_key_sql('raw.raw')}
        WHERE raw.raw IS NOT NULL""")  # fmt: skip
    vm = _src(settings, "entities", "vehicles_master")
    if vm:
        con.execute(f"CREATE OR REPLACE TEMP TABLE owners AS SELECT DISTINCT plate, unnest(owner_masters) AS master_id FROM {vm}")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE owners (plate VARCHAR, master_id VARCHAR)")


_DB: duckdb.DuckDBPyConnection | None = None
_DB_LOCK = threading.Lock()
ROW_GROUP = 16_384  # small row groups: a subject's rows (or a time span's) are read, not the file
# the build's DuckDB memory: at 10^6 persons the table (2 × 10^7 rows) and its two sorts took 12 GB
# unbounded; above this DuckDB spills to <home>/state/duckdb_tmp
MEMORY_LIMIT = os.environ.get("ZHIJING_JOB_MEMORY_LIMIT", "4GB")


def job_connection(settings) -> duckdb.DuckDBPyConnection:
    """A DuckDB of a lake job's own, bounded in memory and spilling under the home."""
    tmp = settings.state_dir / "duckdb_tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(tmp), "preserve_insertion_order": False})


def input_versions(settings) -> dict[str, str | None]:
    """The versions the presence table is built from: every model table, the person links
    and mentions, the vehicle masters (owners) — and the query itself (a new release may
    compose it otherwise)."""
    found = {("model", n): current_manifest(settings, "model", n) for n in model_types.load(settings).events}
    found |= {("entities", n): current_manifest(settings, "entities", n) for n in ("person_links", "person_mentions", "vehicles_master")}
    return {f"{zone}/{n}": m.version if m else None for (zone, n), m in found.items()} | {
        "parts": hashlib.sha1("\n".join(parts(settings)).encode()).hexdigest()}


def _publish_sorted(settings, con: duckdb.DuckDBPyConnection, name: str, order: str, span: float, versions: dict) -> int:
    stage = staging_dir(settings, name)
    path = stage / "part-0.parquet"
    con.execute(f"COPY (SELECT * FROM presence_all ORDER BY {order}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP})")
    lineage = {"job": "workbench.presence", "order": order, "inputs": ["model/*", "entities/person_links", "entities/vehicles_master"],
               "max_span_s": span, "versions": versions}  # fmt: skip
    return publish(settings, "derived", name, [path], lineage, mode="replace").rows


def max_span(settings) -> float | None:
    """The longest ``ts_end − ts`` in the current presence table (None if unknown): a row
    that ends at or after t0 starts at or after t0 − this, so a time window can bound ``ts``
    from below too and the time-sorted copy is read only for the row groups of its span."""
    manifest = current_manifest(settings, "derived", "presence_by_time")
    span = manifest.lineage.get("max_span_s") if manifest else None
    return float(span) if span is not None else None


def build(settings, con: duckdb.DuckDBPyConnection | None = None) -> int:
    """Bring the model zone up to date, then rebuild ``derived/presence`` (sorted by subject:
    trajectories) and ``derived/presence_by_time`` (sorted by time: collision, companions)
    from it and the current entity versions — unless both were built from exactly these
    versions (``input_versions``, kept in their lineage); returns rows."""
    con = con or job_connection(settings)
    con.execute("SET enable_progress_bar = false")
    model_build.build(settings, con)  # incremental: only datasets whose clean version changed
    versions = input_versions(settings)
    built = [current_manifest(settings, "derived", n) for n in ("presence_by_time", "presence")]
    if all(m is not None and m.lineage.get("versions") == versions for m in built):
        return built[1].rows  # nothing it reads changed (an ingest of a dataset no placed type maps)
    prepare(con, settings)
    sql = parts(settings)
    if not sql:
        return 0
    con.execute("CREATE OR REPLACE TEMP TABLE presence_all AS SELECT * FROM (" + " UNION ALL ".join(sql) + ") WHERE subject IS NOT NULL")
    span = con.execute("SELECT coalesce(max(epoch(ts_end) - epoch(ts)), 0) FROM presence_all WHERE ts_end > ts").fetchall()[0][0]
    _publish_sorted(settings, con, "presence_by_time", "ts, place_id", float(span), versions)
    return _publish_sorted(settings, con, "presence", "subject_kind, subject, ts", float(span), versions)


def cursor() -> duckdb.DuckDBPyConnection:
    """A connection of the process's one in-memory database, which keeps the Parquet
    footers it has read: a lookup reads the row groups it needs, not the file's metadata
    again (≈100 ms → 3 ms per trajectory). Each call gets its own cursor (own temp tables).
    The cache is set GLOBAL: a plain SET is one client context's and a cursor is another."""
    global _DB
    with _DB_LOCK:
        if _DB is None:
            _DB = duckdb.connect()
            _DB.execute("SET GLOBAL parquet_metadata_cache = true")
        con = _DB.cursor()
        con.execute("SET enable_progress_bar = false")
        return con


def source(settings, by_time: bool = False) -> str | None:
    """The current presence table as a DuckDB table expression (None before the first
    build); ``by_time`` the copy sorted by time."""
    name = "presence_by_time" if by_time else "presence"
    files = current_files(settings, "derived", name) or current_files(settings, "derived", "presence")
    return f"read_parquet({files!r})" if files else None
