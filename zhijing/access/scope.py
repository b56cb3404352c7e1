"""Need to know by place (DESIGN.md §2.3): the divisions a unit's jurisdiction covers and
whether a person lies inside it.

A station or branch covers its district, the city bureau its city, the provincial
department its province; an external department covers no place at all (it sees only the
persons its ticket names). Persons are placed by the districts of their known addresses,
the finest place the lake resolves for everyone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from zhijing.standards.divisions import divisions


def jurisdiction(unit_code: str | None) -> str | None:
    """The division-code prefix a unit covers: 330212010000 (a station) → ``330212``,
    330200000000 (the city bureau) → ``3302``; ``None`` for units outside the police tree."""
    division = (unit_code or "")[:6]
    if len(division) < 6 or not division.isdigit():
        return None
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
    """True if any of a person's districts (names or six-digit codes) lies under ``prefix``."""
    if not prefix:
        return False
    for d in districts:
        codes = (d,) if d and d.isdigit() else _codes_by_name().get(d or "", ())
        if any(c.startswith(prefix) for c in codes):
            return True
    return False
