"""The city's map: real districts of 宁波市 (GB/T 2260) with their real outlines, a street
graph inside them (``streets``), police-station jurisdictions that tile each district,
and standard addresses (一标三实 标准地址) that lie on the streets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from zhijing.sources.generate import streets
from zhijing.standards.divisions import divisions

CITY_CODE = "330200"
ROAD_KINDS = ["路", "街", "大道"]
ESTATES = ["阳光", "锦绣", "翠柏", "金色", "和美", "书香", "东方", "春江", "湖畔", "樱花", "紫郡", "华府", "悦府", "名苑", "新村"]
STATIONS_PER_DISTRICT = 3  # 4 in the urban districts


@dataclass(frozen=True)
class Geography:
    districts: pd.DataFrame  # code, name, lon, lat
    stations: pd.DataFrame  # station_code, name, district_code, lon, lat, node_id
    addresses: pd.DataFrame  # address_id, dzbm, text, district_code, station_code, lon, lat, segment_id
    roads: streets.RoadNetwork
    outlines: dict  # district code -> shapely geometry
    cells: list  # one jurisdiction polygon per station row


def districts_of_city() -> pd.DataFrame:
    rows = [d for c, d in divisions().items() if c.startswith(CITY_CODE[:4]) and not c.endswith("00") and d.lon > 0]
    return pd.DataFrame(rows, columns=["code", "name", "lon", "lat"]).sort_values("code").reset_index(drop=True)


def build(rng: np.random.Generator, n_addresses: int) -> Geography:
    d = districts_of_city()
    shapes = streets.outlines(d)
    roads = streets.grow(rng, d, shapes)
    per = {c: STATIONS_PER_DISTRICT + (c in streets.URBAN) for c in d.code}
    st = streets.station_nodes(roads, d, per)
    cells = streets.jurisdictions(st, shapes)
    s = streets.place(rng, roads, shapes, n_addresses)
    dname = d.set_index("code")["name"]
    num = rng.integers(1, 999, n_addresses)
    estate = rng.choice(np.array(ESTATES), n_addresses)
    bldg = rng.integers(1, 30, n_addresses)
    unit = rng.integers(1, 4, n_addresses)
    room = rng.integers(1, 30, n_addresses) * 100 + rng.integers(1, 5, n_addresses)
    text = (
        "浙江省宁波市" + s.district_code.map(dname).to_numpy().astype(object) + s.road.to_numpy().astype(object) + num.astype(str) + "号"
        + estate + "小区" + bldg.astype(str) + "幢" + unit.astype(str) + "单元" + room.astype(str) + "室"
    )
    addr = pd.DataFrame({
        "address_id": np.arange(n_addresses),
        "dzbm": [f"DZ{c}{i:09d}" for c, i in zip(s.district_code, range(n_addresses), strict=True)],
        "text": text, "district_code": s.district_code,
        "station_code": streets.nearest_station(st, s.district_code.to_numpy(), s.lon.to_numpy(), s.lat.to_numpy()),
        "lon": s.lon, "lat": s.lat, "segment_id": s.segment_id,
    })  # fmt: skip
    return Geography(d, st, addr, roads, shapes, cells)


def station_at(geo: Geography, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The station whose jurisdiction holds each point; a point outside every district (at
    sea) goes to the nearest station."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    code = np.full(len(lon), None, dtype=object)
    for c, geom in geo.outlines.items():
        code[(code == None) & shapely.contains_xy(geom, lon, lat)] = c  # noqa: E711 - elementwise
    out = streets.nearest_station(geo.stations, code, lon, lat)
    miss = code == None  # noqa: E711
    if miss.any():
        st = geo.stations
        d = (lon[miss, None] - st.lon.to_numpy()[None, :]) ** 2 + (lat[miss, None] - st.lat.to_numpy()[None, :]) ** 2
        out[miss] = st.station_code.to_numpy()[d.argmin(axis=1)]
    return out


def stations_geojson(geo: Geography) -> dict:
    feats = [{"type": "Feature", "properties": {"code": r.station_code, "name": r.name, "district_code": r.district_code,
                                                "lon": r.lon, "lat": r.lat, "node_id": int(r.node_id)},
              "geometry": streets.rounded(cell)}
             for r, cell in zip(geo.stations.itertuples(), geo.cells, strict=True)]  # fmt: skip
    return {"type": "FeatureCollection", "features": feats}


def districts_geojson(geo: Geography) -> dict:
    feats = [{"type": "Feature", "properties": {"code": r.code, "name": r.name},
              "geometry": streets.rounded(geo.outlines[r.code])} for r in geo.districts.itertuples()]  # fmt: skip
    return {"type": "FeatureCollection", "features": feats}


def jitter(rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray, metres: float) -> tuple[np.ndarray, np.ndarray]:
    """Points scattered around (lon, lat) with a standard deviation in metres."""
    deg = metres / 111_000
    return (lon + rng.normal(0, deg, len(lon))).round(6), (lat + rng.normal(0, deg, len(lat))).round(6)
