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


def gazetteer_sql(p: PlaceSource, files: list[str]) -> str:
    """One row per code of a declared place source: (code, name, lon, lat, station, district)."""
    src = f"read_parquet({files!r}, union_by_name=true)"
    code = f"substr(CAST({_q(p.code)} AS VARCHAR), 1, {p.prefix})" if p.prefix else f"CAST({_q(p.code)} AS VARCHAR)"

    def first(col: str | None) -> str:
        return f"any_value(CAST({_q(col)} AS VARCHAR))" if col else "NULL::VARCHAR"

    return f"""SELECT {code} AS code, {first(p.name)} AS name, avg(TRY_CAST({_q(p.lon)} AS DOUBLE)) AS lon,
                      avg(TRY_CAST({_q(p.lat)} AS DOUBLE)) AS lat, {first(p.station)} AS station, {first(p.district)} AS district
               FROM {src} WHERE {_q(p.code)} IS NOT NULL GROUP BY 1"""


def gazetteer(settings, kind: str) -> str | None:
    """The places of ``kind`` (a ``places:`` declaration: hotel, checkpoint, terminal, ...) as a
    table expression of (code, name, lon, lat, station, district); None when none is declared or it has no data."""
    for p in load_spec(settings).places:
        if p.kind == kind and (found := current_files(settings, "clean", p.dataset)):
            return f"({gazetteer_sql(p, found)})"
    return None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source(settings, role: str) -> str | None:
    """The reference data of ``role`` as a DuckDB table expression (None when absent)."""
    found = files(settings, role)
    return f"read_parquet({found!r}, union_by_name=true)" if found else None
