"""The map's reference data by role (DESIGN §10): district and station boundaries, standard
addresses, roads, units — analyses ask for a role, the registry's ``geography`` names the
dataset (a deployment may declare its own)."""

from __future__ import annotations

from zhijing.lake.store import current_files
from zhijing.sources.spec import load_spec

ROLES = ("district", "station", "address", "road", "road_node", "unit", "officer", "checkpoint", "hotel", "terminal")


def dataset(settings, role: str) -> str | None:
    """The reference dataset playing ``role`` (None when the deployment declares none)."""
    return load_spec(settings).geography.get(role)


def files(settings, role: str) -> list[str]:
    name = dataset(settings, role)
    return current_files(settings, "clean", name) if name else []


def source(settings, role: str) -> str | None:
    """The reference data of ``role`` as a DuckDB table expression (None when absent)."""
    found = files(settings, role)
    return f"read_parquet({found!r}, union_by_name=true)" if found else None
