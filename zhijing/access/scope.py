"""Need to know by place (DESIGN.md §2.3): the divisions a unit's jurisdiction covers and
whether a person lies inside it.

The seeds' three tiers: a station (派出所) covers its own jurisdiction, a branch (分局) its
district, the city bureau its city, the provincial department its province; an external
department covers no place at all (it sees only the persons its ticket names). Persons are
placed by every place the lake knows them by (the serving store's ``person_places``): the
station of a standard address or a hotel stayed at, else the district of an address — so a
station sees a person only where a record puts them in its own jurisdiction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from zhijing.standards.divisions import divisions


def jurisdiction(unit_code: str | None) -> str | None:
    """The place-code prefix a unit covers: 330212010000 (a station) → ``33021201`` (its
    jurisdiction's code), 330212000000 (a branch) → ``330212``, 330200000000 (the city
    bureau) → ``3302``; ``None`` for units outside the police tree."""
    code = unit_code or ""
    division = code[:6]
    if len(division) < 6 or not division.isdigit():
        return None
    if code[6:8].isdigit() and code[6:8] != "00":
        return code[:8]
    while division.endswith("00"):
        division = division[:-2]
    return division or None


@lru_cache(maxsize=1)
def _codes_by_name() -> dict[str, tuple[str, ...]]:
    names: dict[str, list[str]] = defaultdict(list)
    for code, d in divisions().items():
        names[d.name].append(code)
    return {k: tuple(v) for k, v in names.items()}


def in_jurisdiction(prefix: str | None, districts: Iterable[str | None]) -> bool:
    """True if any of a person's places (station or district codes, or district names) lies
    under ``prefix``."""
    if not prefix:
        return False
    for d in districts:
        codes = (d,) if d and d.isdigit() else _codes_by_name().get(d or "", ())
        if any(c.startswith(prefix) for c in codes):
            return True
    return False
