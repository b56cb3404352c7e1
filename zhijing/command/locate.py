"""Where a call is: standard address → coordinates → H3 cell (res 9) → station jurisdiction.

The standard addresses are the geography role ``address`` (its place gazetteer: code, name,
lon, lat, station), the jurisdictions the role ``station`` (code, GeoJSON geometry): a
deployment's own layers work the same way. A spoken or typed address is matched as it is said —
without the province and city, cut short, with a homophone in the street name, in traditional
characters or full-width digits — first exactly (as a prefix of a standard address), then by
edit distance (rapidfuzz) among the addresses with the same house number. A call that cannot be
placed is kept with a flag for a person: ``unparsed`` (an address that matches nothing),
``bad_coords`` (coordinates that are not numbers), ``outside_city`` (in no jurisdiction).
"""

from __future__ import annotations

import bisect
import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import duckdb
import h3
import numpy as np
import shapely
from rapidfuzz import fuzz, process

from zhijing.command.classify import normalise
from zhijing.model import places

H3_RES = 9
FUZZY_CUTOFF = 80  # rapidfuzz ratio (0–100) an address must reach to count as the one meant
MAX_PREFIX_HITS = 200  # a prefix matching more standard addresses names a street, not a place
_ADMIN = re.compile(r"^.{2,7}?(?:省|自治区|市|区|县)")
_NUMBER = re.compile(r"(\d+)号")
_TRAILING = re.compile(r"(附近|门口|旁边|对面|这里|那边|楼下|路口)+$")
_PUNCT = re.compile(r"[\s,，。、;；:：!！?？()（）\-—~]+")


def normal_address(text: str | None) -> str:
    """The matching form: normalised script, no spaces or punctuation, no trailing 附近/门口."""
    t = _PUNCT.sub("", normalise(unicodedata.normalize("NFKC", "" if text is None else str(text))))
    return _TRAILING.sub("", t)


@dataclass
class Gazetteer:
    """Standard addresses and jurisdictions of one lake version (loaded once per Intake)."""

    prefix: list[str]  # the administrative units every standard address starts with (浙江省, 宁波市)
    keys: list[str]  # matching forms without that prefix, sorted
    rows: list[tuple[str, float, float, str | None]]  # (code, lon, lat, station) in the order of keys
    by_number: dict[str, list[int]] = field(default_factory=dict)
    station_codes: list[str] = field(default_factory=list)
    station_shapes: list = field(default_factory=list)
    tree: shapely.STRtree | None = None

    def strip(self, key: str) -> str:
        """``key`` without the leading administrative units all addresses share."""
        for unit in self.prefix:  # said in full (宁波市) or without its suffix (宁波)
            for form in (unit, unit[:-1]):
                if key.startswith(form):
                    key = key[len(form) :]
                    break
        return key

    def station_at(self, lon: float, lat: float) -> str | None:
        if self.tree is None:
            return None
        pt = shapely.Point(lon, lat)
        for i in self.tree.query(pt, predicate="intersects"):
            return self.station_codes[int(i)]
        return None


def _common_units(keys: list[str]) -> list[str]:
    """Leading administrative units (…省, …市) that every address shares."""
    units, rest = [], keys
    while rest and (m := _ADMIN.match(rest[0])) and all(k.startswith(m.group(0)) for k in rest):
        units.append(m.group(0))
        rest = [k[len(m.group(0)) :] for k in rest]
    return units


def load(settings) -> Gazetteer:
    """The gazetteer of the current lake (empty when the lake has no address or station layer)."""
    con = duckdb.connect()
    try:
        src = places.gazetteer(settings, "address")
        raw = con.execute(f"SELECT name, code, lon, lat, station FROM {src} WHERE name IS NOT NULL "
                          "AND lon IS NOT NULL AND lat IS NOT NULL").fetchall() if src else []  # fmt: skip
        stations = places.source(settings, "station")
        shapes = con.execute(f"SELECT code, geometry FROM {stations} WHERE geometry IS NOT NULL").fetchall() if stations else []
    finally:
        con.close()
    full = [normal_address(r[0]) for r in raw]
    prefix = _common_units(full)
    gaz = Gazetteer(prefix, [], [])
    keyed = sorted(((gaz.strip(k), (r[1], float(r[2]), float(r[3]), r[4])) for k, r in zip(full, raw, strict=True)), key=lambda x: x[0])
    gaz.keys = [k for k, _ in keyed]
    gaz.rows = [r for _, r in keyed]
    for i, k in enumerate(gaz.keys):
        for num in set(_NUMBER.findall(k)):
            gaz.by_number.setdefault(num, []).append(i)
    if shapes:
        gaz.station_codes = [str(c) for c, _ in shapes]
        gaz.station_shapes = [shapely.from_geojson(g if isinstance(g, str) else json.dumps(g)) for _, g in shapes]
        gaz.tree = shapely.STRtree(gaz.station_shapes)
    return gaz


def match_address(gaz: Gazetteer, text: str | None) -> tuple[list[int], float]:
    """Indices of the standard addresses ``text`` names, and how sure (100 exact)."""
    key = gaz.strip(normal_address(text))
    if len(key) < 4 or not gaz.keys:
        return [], 0.0
    lo = bisect.bisect_left(gaz.keys, key)
    hi = bisect.bisect_right(gaz.keys, key + "\uffff")
    if 0 < hi - lo <= MAX_PREFIX_HITS:
        return list(range(lo, hi)), 100.0
    if hi - lo > MAX_PREFIX_HITS:
        return [], 0.0
    block = []
    for num in set(_NUMBER.findall(key)):
        block += gaz.by_number.get(num, [])
    if not block:
        return [], 0.0
    # compare with each candidate cut to the length said (a call names the building, not the flat)
    choices = {i: gaz.keys[i][: len(key) + 1] for i in block}
    best = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
    if best is None:
        return [], 0.0
    _, score, i = best
    near = [j for j in block if gaz.keys[j][: len(key) + 1] == choices[i]]
    return near, float(score)


def _number(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def locate(gaz: Gazetteer, address: str | None = None, lon=None, lat=None) -> dict:
    """located (address|coords|none), lon, lat, cell, station, address_code, match, flags."""
    out = {"located": "none", "lon": None, "lat": None, "cell": None, "station": None, "address_code": None,
           "match": None, "flags": []}  # fmt: skip
    hits, score = match_address(gaz, address) if address and str(address).strip() else ([], 0.0)
    if hits:
        rows = [gaz.rows[i] for i in hits]
        x, y = float(np.mean([r[1] for r in rows])), float(np.mean([r[2] for r in rows]))
        stations = Counter(r[3] for r in rows if r[3])
        out.update(located="address", lon=round(x, 6), lat=round(y, 6), address_code=rows[0][0], match=round(score, 1),
                   station=stations.most_common(1)[0][0] if stations else gaz.station_at(x, y))  # fmt: skip
    else:
        if address and str(address).strip():
            out["flags"].append("unparsed")
        x, y = _number(lon), _number(lat)
        if x is None or y is None or not (-180 <= x <= 180 and -90 <= y <= 90):
            if lon is not None or lat is not None:
                out["flags"].append("bad_coords")
            return out  # no place said at all: located none, the city commands it (no flag: nothing went wrong)
        out.update(lon=x, lat=y)
        station = gaz.station_at(x, y)
        if station is None:
            out["flags"].append("outside_city")
        else:
            out.update(located="coords", station=station)
    out["cell"] = h3.latlng_to_cell(out["lat"], out["lon"], H3_RES)
    return out


def hit_rate(gaz: Gazetteer, calls: list[dict], truth: list[str]) -> float:
    """Share of ``calls`` (address / lon / lat) located to their true station."""
    right = sum(locate(gaz, c.get("address"), c.get("lon"), c.get("lat"))["station"] == t for c, t in zip(calls, truth, strict=True))
    return right / max(1, len(calls))
