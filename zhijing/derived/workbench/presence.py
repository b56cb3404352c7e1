"""The presence table (时空落点): every dated place of a person, a plate or a phone, each
row with its source record — the one table trajectories, companions, collision and
comparison read.

A lake job over the clean zone and the entity masters, published to ``derived/presence``
sorted by subject (a trajectory is a range read). Columns: subject_kind (person | plate |
phone), subject (master id, plate, number), dataset, record_id, ts, ts_end, mode (stay: a
hotel night; trip: one train, flight or bus; pass: a checkpoint read; point: anything else
dated and placed), place_kind, place_id, place_name, lon, lat, via (the plate or phone a
person row came through).

Checkpoint reads are tied to a registered plate when the read is exact, or when its OCR
key (keys.plate_key) names exactly one registered plate. A person is present where the
vehicles they own are read.
"""

from __future__ import annotations

import os
import threading

import duckdb
import pyarrow as pa

from zhijing.derived.workbench.keys import plate_key_sql
from zhijing.lake.store import current_files, current_manifest, publish
from zhijing.lake.zones import staging_dir

# Approximate public coordinates of the stations and airports the department records name
# (lon, lat); a trip is placed at its departure.
TERMINALS = {
    "宁波站": (121.540, 29.862), "宁波东站": (121.612, 29.876), "余姚北站": (121.157, 30.077), "上海虹桥站": (121.320, 31.194),
    "杭州东站": (120.213, 30.291), "南京南站": (118.797, 31.969), "北京南站": (116.379, 39.865), "温州南站": (120.584, 27.973),
    "NGB": (121.462, 29.827), "PEK": (116.603, 40.080), "PVG": (121.805, 31.143), "CAN": (113.299, 23.392),
    "SZX": (113.811, 22.639), "CTU": (103.947, 30.578), "XIY": (108.752, 34.447), "KMG": (102.929, 25.101),
    "宁波汽车南站": (121.538, 29.857), "宁波汽车北站": (121.548, 29.893), "余姚客运中心": (121.160, 30.040),
    "慈溪客运站": (121.266, 30.170), "象山汽车站": (121.869, 29.477), "舟山客运站": (122.207, 29.985),
}  # fmt: skip
COLUMNS = ("subject_kind", "subject", "dataset", "record_id", "ts", "ts_end", "mode", "place_kind", "place_id",
           "place_name", "lon", "lat", "via")  # fmt: skip
LOCAL = "'Asia/Shanghai'"


def _src(settings, zone: str, name: str) -> str | None:
    files = current_files(settings, zone, name)
    return f"read_parquet({files!r}, union_by_name=true)" if files else None


def _select(subject_kind: str, subject: str, dataset: str, record_id: str, ts: str, ts_end: str, mode: str,
            place_kind: str, place_id: str, place_name: str, lon: str, lat: str, via: str = "NULL") -> str:  # fmt: skip
    exprs = (f"'{subject_kind}'", subject, f"'{dataset}'", record_id, f"({ts})::TIMESTAMPTZ", f"({ts_end})::TIMESTAMPTZ",
             f"'{mode}'", f"'{place_kind}'", f"({place_id})::VARCHAR", f"({place_name})::VARCHAR", f"({lon})::DOUBLE",
             f"({lat})::DOUBLE", f"({via})::VARCHAR")  # fmt: skip
    return "SELECT " + ", ".join(f"{e} AS {c}" for e, c in zip(exprs, COLUMNS, strict=True))


def _person(dataset: str, rows: str, alias: str = "r") -> str:
    """Join a clean dataset to the masters its records name."""
    return f"{rows} {alias} JOIN pl ON pl.dataset = '{dataset}' AND pl.record_id = {alias}._record_id"


def _trip(dataset: str, src: str, number: str, ts: str, dep: str, arr: str) -> str:
    place = f"{number} || '@' || strftime(({ts} AT TIME ZONE {LOCAL})::DATE, '%Y-%m-%d')"
    name = f"{number} || ' ' || coalesce({dep}, '') || '→' || coalesce({arr}, '')"
    return (_select("person", "pl.master_id", dataset, "r._record_id", f"r.{ts}", "NULL", "trip", dataset.split("_")[0], place,
                    name, "t.lon", "t.lat")
            + f" FROM {_person(dataset, src)} LEFT JOIN terminals t ON t.name = r.{dep} WHERE r.{ts} IS NOT NULL")  # fmt: skip


def parts(settings) -> list[str]:
    """One SELECT per source of places (those whose datasets exist)."""
    s = {n: _src(settings, "clean", n) for n in ("lodging", "rail_ticket", "flight_ticket", "coach_ticket", "checkpoint_read",
                                                  "door_access", "case_person", "case_info", "incident_110", "traffic_accident",
                                                  "call_record", "hotels", "checkpoints", "standard_address")}  # fmt: skip
    out = []
    if s["lodging"]:
        hotel = f"LEFT JOIN {s['hotels']} h ON h.hotel_code = r.旅馆编码" if s["hotels"] else "LEFT JOIN (SELECT NULL AS hotel_code, NULL AS lon, NULL AS lat) h ON false"
        out.append(_select("person", "pl.master_id", "lodging", "r._record_id", "r.入住时间", "coalesce(r.退房时间, r.入住时间 + INTERVAL 1 DAY)",
                           "stay", "hotel", "r.旅馆编码", "r.旅馆名称", "h.lon", "h.lat")
                   + f" FROM {_person('lodging', s['lodging'])} {hotel} WHERE r.入住时间 IS NOT NULL")  # fmt: skip
    if s["rail_ticket"]:
        out.append(_trip("rail_ticket", s["rail_ticket"], "r.train_no", "dep_time", "dep_station", "arr_station"))
    if s["flight_ticket"]:
        out.append(_trip("flight_ticket", s["flight_ticket"], "r.FLIGHT_NO", "DEP_TIME", "DEP", "ARR"))
    if s["coach_ticket"]:
        out.append(_trip("coach_ticket", s["coach_ticket"], "r.班次", "发车时间", "起点站", "终点站"))
    if s["checkpoint_read"]:
        cp = f"LEFT JOIN {s['checkpoints']} c USING (checkpoint_id)" if s["checkpoints"] else \
            "LEFT JOIN (SELECT NULL AS checkpoint_id, NULL AS name, NULL AS lon, NULL AS lat) c ON false"  # fmt: skip
        reads = f"(SELECT k._record_id, k.checkpoint_id, k.ts, rp.plate FROM {s['checkpoint_read']} k JOIN read_plate rp ON rp.raw = k.plate)"
        sel = ("_record_id", "ts", "NULL", "pass", "checkpoint", "r.checkpoint_id", "c.name", "c.lon", "c.lat")
        out.append(_select("plate", "r.plate", "checkpoint_read", *sel) + f" FROM {reads} r {cp} WHERE r.ts IS NOT NULL")
        out.append(_select("person", "o.master_id", "checkpoint_read", *sel, via="r.plate")
                   + f" FROM {reads} r JOIN owners o ON o.plate = r.plate {cp} WHERE r.ts IS NOT NULL")  # fmt: skip
    if s["door_access"]:
        comm = (f"LEFT JOIN (SELECT substr(dzbm, 1, 14) AS code, avg(lon::DOUBLE) AS lon, avg(lat::DOUBLE) AS lat "
                f"FROM {s['standard_address']} GROUP BY 1) a ON a.code = r.community_code") if s["standard_address"] else \
            "LEFT JOIN (SELECT NULL AS code, NULL AS lon, NULL AS lat) a ON false"  # fmt: skip
        sel = ("r._record_id", "r.time", "NULL", "point", "community", "r.community_code", "r.community_code || ' ' || r.door_id", "a.lon", "a.lat")
        out.append(_select("person", "pl.master_id", "door_access", *sel) + f" FROM {_person('door_access', s['door_access'])} {comm} WHERE r.time IS NOT NULL")
        out.append(_select("phone", "r.holder_phone", "door_access", *sel) + f" FROM {s['door_access']} r {comm} "
                   "WHERE r.time IS NOT NULL AND r.holder_phone IS NOT NULL")  # fmt: skip
    if s["case_person"] and s["case_info"]:
        out.append(_select("person", "pl.master_id", "case_person", "r._record_id", "c.FASJ", "NULL", "point", "case", "c.AJBH",
                           "c.AJXZ || ' ' || coalesce(c.FADD, '')", "c.JD", "c.WD")
                   + f" FROM {_person('case_person', s['case_person'])} JOIN {s['case_info']} c ON c.AJBH = r.AJBH WHERE c.FASJ IS NOT NULL")  # fmt: skip
    if s["incident_110"]:
        sel = ("r._record_id", "r.bjsj", "NULL", "point", "incident", "r.jjdbh", "r.jqlb || ' ' || coalesce(r.sfdz, '')", "r.jd", "r.wd")
        out.append(_select("person", "pl.master_id", "incident_110", *sel) + f" FROM {_person('incident_110', s['incident_110'])} WHERE r.bjsj IS NOT NULL")
        out.append(_select("phone", "r.bjrdh", "incident_110", *sel) + f" FROM {s['incident_110']} r WHERE r.bjsj IS NOT NULL AND r.bjrdh IS NOT NULL")
    if s["traffic_accident"]:
        sel = ("r._record_id", "r.事故时间", "NULL", "point", "accident", "r.事故编号", "r.事故形态 || ' ' || coalesce(r.事故地点, '')", "r.经度", "r.纬度")
        out.append(_select("person", "pl.master_id", "traffic_accident", *sel)
                   + f" FROM {_person('traffic_accident', s['traffic_accident'])} WHERE r.事故时间 IS NOT NULL")
        out.append(_select("plate", "coalesce(rp.plate, r.号牌号码)", "traffic_accident", *sel)
                   + f" FROM {s['traffic_accident']} r LEFT JOIN read_plate rp ON rp.raw = r.号牌号码 WHERE r.事故时间 IS NOT NULL AND r.号牌号码 IS NOT NULL")  # fmt: skip
    if s["call_record"]:
        for side in ("caller", "callee"):
            out.append(_select("phone", f"r.{side}", "call_record", "r._record_id", "r.start_time",
                               "r.start_time + coalesce(r.duration_s, 0) * INTERVAL 1 SECOND", "point", "cell", "r.cell_id", "r.cell_id",
                               "NULL", "NULL")
                       + f" FROM {s['call_record']} r WHERE r.start_time IS NOT NULL AND r.{side} IS NOT NULL")  # fmt: skip
    return out


def prepare(con: duckdb.DuckDBPyConnection, settings) -> None:
    """The helper tables every part joins: record → master, plate read → registered plate,
    plate → owners, terminal coordinates."""
    links, ments = _src(settings, "entities", "person_links"), _src(settings, "entities", "person_mentions")
    if links and ments:
        con.execute(f"CREATE OR REPLACE TEMP TABLE pl AS SELECT DISTINCT m.dataset, m.record_id, l.master_id "
                    f"FROM {links} l JOIN {ments} m USING (mention_id)")  # fmt: skip
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE pl (dataset VARCHAR, record_id VARCHAR, master_id VARCHAR)")
    con.register("terminals_in", pa.table({"name": list(TERMINALS), "lon": [v[0] for v in TERMINALS.values()],
                                           "lat": [v[1] for v in TERMINALS.values()]}))  # fmt: skip
    con.execute("CREATE OR REPLACE TEMP TABLE terminals AS SELECT * FROM terminals_in")
    reg, reads = _src(settings, "clean", "vehicle_registration"), _src(settings, "clean", "checkpoint_read")
    acc = _src(settings, "clean", "traffic_accident")
    raws = [f"SELECT DISTINCT plate AS raw FROM {reads}"] if reads else []
    raws += [f"SELECT DISTINCT 号牌号码 AS raw FROM {acc}"] if acc else []
    registered = f"SELECT DISTINCT 号牌号码 AS plate FROM {reg} WHERE 号牌号码 IS NOT NULL" if reg else "SELECT NULL::VARCHAR AS plate WHERE false"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE read_plate AS
        WITH raw AS ({' UNION '.join(raws) or 'SELECT NULL::VARCHAR AS raw WHERE false'}),
             reg AS ({registered}),
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


def _publish_sorted(settings, con: duckdb.DuckDBPyConnection, name: str, order: str, span: float) -> int:
    stage = staging_dir(settings, name)
    path = stage / "part-0.parquet"
    con.execute(f"COPY (SELECT * FROM presence_all ORDER BY {order}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP})")
    lineage = {"job": "workbench.presence", "order": order, "inputs": ["clean/*", "entities/person_links", "entities/vehicles_master"],
               "max_span_s": span}  # fmt: skip
    return publish(settings, "derived", name, [path], lineage, mode="replace").rows


def max_span(settings) -> float | None:
    """The longest ``ts_end − ts`` in the current presence table (None if unknown): a row
    that ends at or after t0 starts at or after t0 − this, so a time window can bound ``ts``
    from below too and the time-sorted copy is read only for the row groups of its span."""
    manifest = current_manifest(settings, "derived", "presence_by_time")
    span = manifest.lineage.get("max_span_s") if manifest else None
    return float(span) if span is not None else None


def build(settings, con: duckdb.DuckDBPyConnection | None = None) -> int:
    """Rebuild ``derived/presence`` (sorted by subject: trajectories) and
    ``derived/presence_by_time`` (sorted by time: collision, companions) from the current
    clean and entity versions; returns rows."""
    con = con or job_connection(settings)
    con.execute("SET enable_progress_bar = false")
    prepare(con, settings)
    sql = parts(settings)
    if not sql:
        return 0
    con.execute("CREATE OR REPLACE TEMP TABLE presence_all AS SELECT * FROM (" + " UNION ALL ".join(sql) + ") WHERE subject IS NOT NULL")
    span = con.execute("SELECT coalesce(max(epoch(ts_end) - epoch(ts)), 0) FROM presence_all WHERE ts_end > ts").fetchall()[0][0]
    _publish_sorted(settings, con, "presence_by_time", "ts, place_id", float(span))
    return _publish_sorted(settings, con, "presence", "subject_kind, subject, ts", float(span))


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
