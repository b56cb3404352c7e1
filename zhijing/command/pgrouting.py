"""The production router: the same street graph in PostgreSQL with PostGIS and pgRouting
(Debian's postgresql-15-postgis-3 and postgresql-15-pgrouting), answering the same question
as networkit in process — the time from each unit's street node to the incident's.

Why both: a county laptop routes in process (no database to run); a city whose dispatch
centre already runs PostgreSQL keeps the streets beside its other tables and routes there.
The streets are loaded from the lake's roles through the same cleaning as networkit's graph
(``roads.segments``), so the two give the same answers (tests/command/test_pgrouting.py).
Vertices are the dense node numbers of that cleaning; ``road_nodes.node_id`` keeps the
lake's id.
"""

from __future__ import annotations

import re
import threading

import sqlalchemy as sa

from zhijing.command import roads
from zhijing.errors import ZhijingError

SCHEMA = "routing"


def _schema(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ZhijingError(f"routing schema must be a plain lower-case SQL name, not {name!r}")
    return name


def available(engine: sa.Engine) -> str | None:
    """None when PostGIS and pgRouting can be used on ``engine``; else why not (one line)."""
    try:
        with engine.connect() as c:
            have = set(c.execute(sa.text("SELECT name FROM pg_available_extensions WHERE name IN ('postgis', 'pgrouting')")).scalars())
    except sa.exc.SQLAlchemyError as exc:
        return f"PostgreSQL not reachable ({type(exc).__name__})"
    missing = {"postgis", "pgrouting"} - have
    return f"extension not installed: {', '.join(sorted(missing))}" if missing else None


def load(settings, engine: sa.Engine, schema: str = SCHEMA) -> str | None:
    """Load the lake's streets into ``schema`` (road_nodes, road_edges, meta) unless that
    version is there already; returns the version loaded, None when the lake has no streets.
    One transaction: readers see the old streets or the new, never half."""
    s = _schema(schema)
    key = "\n".join(roads.version(settings))
    with engine.begin() as c:
        c.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": f"zhijing.routing.{s}"})
        if _loaded(c, s) == key:
            return key
        read = roads.segments(settings)
        if read is None:
            return None
        nodes, edges = read
        c.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        c.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pgrouting"))
        c.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {s}"))
        c.execute(sa.text(f"DROP TABLE IF EXISTS {s}.road_edges, {s}.road_nodes, {s}.meta"))
        c.execute(sa.text(f"CREATE TABLE {s}.road_nodes (vid bigint PRIMARY KEY, node_id text NOT NULL UNIQUE, "
                          f"lon double precision, lat double precision, geog geography(Point, 4326))"))  # fmt: skip
        c.execute(sa.text(f"CREATE TABLE {s}.road_edges (id bigint PRIMARY KEY, source bigint NOT NULL, target bigint NOT NULL, "
                          f"cost double precision NOT NULL, reverse_cost double precision NOT NULL, length_m double precision, "
                          f"speed_kmh double precision, road_class text)"))  # fmt: skip
        c.execute(sa.text(f"CREATE TABLE {s}.meta (version text NOT NULL)"))
        cur = c.connection.dbapi_connection.cursor()
        with cur.copy(f"COPY {s}.road_nodes (vid, node_id, lon, lat) FROM STDIN") as cp:
            for vid, row in enumerate(nodes.itertuples(index=False)):
                cp.write_row((vid, row.id, float(row.lon), float(row.lat)))
        with cur.copy(f"COPY {s}.road_edges (id, source, target, cost, reverse_cost, length_m, speed_kmh, road_class) FROM STDIN") as cp:
            for i, e in enumerate(edges.itertuples(index=False)):
                cp.write_row((i, int(e.u), int(e.v), float(e.seconds), float(e.seconds) if e.both else -1.0,
                              float(e.length_m), float(e.speed_kmh), e.road_class))  # fmt: skip
        c.execute(sa.text(f"UPDATE {s}.road_nodes SET geog = ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography"))
        c.execute(sa.text(f"CREATE INDEX ON {s}.road_nodes USING gist (geog)"))
        c.execute(sa.text(f"CREATE INDEX ON {s}.road_edges (source)"))
        c.execute(sa.text(f"INSERT INTO {s}.meta VALUES (:v)"), {"v": key})
        c.execute(sa.text(f"ANALYZE {s}.road_nodes"))
    return key


def _loaded(c: sa.Connection, s: str) -> str | None:
    if c.execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{s}.meta"}).scalar() is None:
        return None
    return c.execute(sa.text(f"SELECT version FROM {s}.meta")).scalar()


class PgStreets:
    """One loaded version of the streets in PostgreSQL, answering as ``roads.Streets`` does
    (node keys are the vertex numbers)."""

    def __init__(self, engine: sa.Engine, schema: str, vids: dict[str, int]):
        self.engine, self.schema, self.vids = engine, _schema(schema), vids

    def nearest(self, lon: float, lat: float) -> tuple[int, float]:
        """(vertex nearest the point, its distance in metres) by the GiST index on geography."""
        with self.engine.connect() as c:
            row = c.execute(sa.text(f"""WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS g)
                SELECT vid, ST_Distance(geog, p.g, false) FROM {self.schema}.road_nodes, p ORDER BY geog <-> p.g LIMIT 1"""),
                {"lon": float(lon), "lat": float(lat)}).one()  # fmt: skip
        return int(row[0]), float(row[1])

    def node(self, node_id) -> int | None:
        if node_id is None:
            return None
        key = str(node_id)
        return self.vids.get(key[:-2] if key not in self.vids and key.endswith(".0") else key)

    def seconds_to(self, target: int, sources: list[int], mode: roads.Mode = "drive") -> dict[int, float]:
        """Seconds from each source that can reach ``target``: ``pgr_dijkstraCost`` one-to-many
        from the target over the edges turned round (pgRouting's many-to-one runs one search
        per source)."""
        sources = sorted({int(v) for v in sources})
        out = {target: 0.0} if target in sources else {}
        others = [v for v in sources if v != target]
        if not others:
            return out
        if mode == "walk":  # on foot: the shortest way, one-way streets both ways
            edges_sql = (f"SELECT id, source, target, length_m * {3.6 / roads.WALK_KMH!r} AS cost, "
                         f"length_m * {3.6 / roads.WALK_KMH!r} AS reverse_cost FROM {self.schema}.road_edges")  # fmt: skip
        else:
            edges_sql = f"SELECT id, target AS source, source AS target, cost, reverse_cost FROM {self.schema}.road_edges"
        with self.engine.connect() as c:
            rows = c.execute(sa.text("SELECT end_vid, agg_cost FROM pgr_dijkstraCost(:edges, CAST(:start AS bigint), "
                                     "CAST(:ends AS bigint[]), directed => true)"),
                             {"edges": edges_sql, "start": int(target), "ends": others}).all()  # fmt: skip
        out.update({int(v): float(cost) for v, cost in rows})
        return out


class PgCache:
    """Held like ``roads.StreetCache``: loads the lake's current streets into PostgreSQL when
    their version changes, and answers with a ``PgStreets``."""

    def __init__(self, url: str, schema: str = SCHEMA):
        self.engine, self.schema = sa.create_engine(url), _schema(schema)
        self._lock = threading.Lock()
        self._key: str | None = None
        self._streets: PgStreets | None = None

    def get(self, settings) -> PgStreets | None:
        with self._lock:
            key = load(settings, self.engine, self.schema)
            if key != self._key:
                self._key, self._streets = key, None
                if key is not None:
                    with self.engine.connect() as c:
                        vids = dict(c.execute(sa.text(f"SELECT node_id, vid FROM {self.schema}.road_nodes")).tuples().all())
                    self._streets = PgStreets(self.engine, self.schema, vids)
            return self._streets
