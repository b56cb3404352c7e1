"""Administrative divisions (GB/T 2260), from the table cpca ships (code, name, lon, lat)."""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from typing import NamedTuple


class Division(NamedTuple):
    code: str  # six digits
    name: str
    lon: float
    lat: float


@lru_cache(maxsize=1)
def divisions() -> dict[str, Division]:
    """Six-digit code -> division, for every province, city and county level entry."""
    out: dict[str, Division] = {}
    with resources.files("cpca.resources").joinpath("adcodes.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["adcode"][:6]
            out.setdefault(code, Division(code, row["name"], float(row["longitude"] or 0), float(row["latitude"] or 0)))
    return out


def is_known(code: str) -> bool:
    """True if ``code`` is a known division, or a known prefecture / province with a
    county part that was later abolished (old IDs keep their birth-time division)."""
    table = divisions()
    return code in table or code[:4] + "00" in table or code[:2] + "0000" in table


def counties() -> list[Division]:
    """County-level divisions (the kind a citizen ID's first six digits name)."""
    return [d for c, d in divisions().items() if not c.endswith("00")]
