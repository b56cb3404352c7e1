"""The map's reference data by role (DESIGN §10): district and station boundaries, standard
addresses, roads, units — analyses ask for a role, the registry's ``geography`` names the
dataset (a deployment may declare its own)."""

from __future__ import annotations

from zhijing.lake.store import current_files
from zhijing.sources.spec import PlaceSource, load_spec

ROLES = ("district", "station", "address", "road", "road_node", "unit", "officer", "checkpoint", "hotel", "terminal")


def dataset(settings, role: str) -> str | None:
    """The reference dataset playing ``role`` (None when the deployment declares none)."""
    return load_spec(settings).geography.get(role)


def files(settings, role: str) -> list[str]:
    name = dataset(settings, role)
    return current_files(settings, "clean", name) if name else []


def declared(settings, kind: str, spec=None) -> list[tuple[PlaceSource, list[str]]]:
    """The declared place sources of ``kind`` that have data, with their files."""
    found = [(p, current_files(settings, "clean", p.dataset)) for p in (spec or load_spec(settings)).places if p.kind == kind]
    return [(p, f) for p, f in found if f]


def gazetteer_sql(sources: list[tuple[PlaceSource, list[str]]]) -> str:
    """One row per code of the place sources of one kind — several sources are one gazetteer
    (two hotel chains' lists): (code, name, lon, lat, station, district)."""

    def rows(p: PlaceSource, files: list[str]) -> str:
        code = f"substr(CAST({_q(p.code)} AS VARCHAR), 1, {p.prefix})" if p.prefix else f"CAST({_q(p.code)} AS VARCHAR)"

        def text(col: str | None) -> str:
            return f"CAST({_q(col)} AS VARCHAR)" if col else "NULL::VARCHAR"

        return (f"SELECT {code} AS code, {text(p.name)} AS name, TRY_CAST({_q(p.lon)} AS DOUBLE) AS lon, "
                f"TRY_CAST({_q(p.lat)} AS DOUBLE) AS lat, {text(p.station)} AS station, {text(p.district)} AS district "
                f"FROM read_parquet({files!r}, union_by_name=true) WHERE {_q(p.code)} IS NOT NULL")  # fmt: skip

    union = " UNION ALL ".join(rows(p, f) for p, f in sources)
    return f"""SELECT code, any_value(name) AS name, avg(lon) AS lon, avg(lat) AS lat, any_value(station) AS station,
                      any_value(district) AS district FROM ({union}) GROUP BY 1"""


def gazetteer(settings, kind: str) -> str | None:
    """The places of ``kind`` (a ``places:`` declaration: hotel, checkpoint, terminal, ...) as a
    table expression of (code, name, lon, lat, station, district); None when none is declared or it has no data."""
    sources = declared(settings, kind)
    return f"({gazetteer_sql(sources)})" if sources else None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source(settings, role: str) -> str | None:
    """The reference data of ``role`` as a DuckDB table expression (None when absent)."""
    found = files(settings, role)
    return f"read_parquet({found!r}, union_by_name=true)" if found else None
