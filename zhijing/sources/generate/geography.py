"""The city's map: real districts of 宁波市 (GB/T 2260), synthetic police-station
jurisdictions inside them, and standard addresses (一标三实 标准地址) with coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zhijing.standards.divisions import divisions

CITY_CODE = "330200"
ROADS = ["中山", "解放", "人民", "天童", "四明", "百丈", "江东", "环城", "世纪", "学士", "鄞州", "文化", "桑田", "兴宁", "钱湖", "福明", "宁穿", "通途", "甬江", "长春"]
ROAD_KINDS = ["路", "街", "大道"]
ESTATES = ["阳光", "锦绣", "翠柏", "金色", "和美", "书香", "东方", "春江", "湖畔", "樱花", "紫郡", "华府", "悦府", "名苑", "新村"]
STATIONS_PER_DISTRICT = 3
CELL = 0.03  # degrees: half-width of a district's square around its centroid


@dataclass(frozen=True)
class Geography:
    districts: pd.DataFrame  # code, name, lon, lat
    stations: pd.DataFrame  # station_code, name, district_code, lon0, lat0, lon1, lat1
    addresses: pd.DataFrame  # address_id, dzbm, text, district_code, station_code, lon, lat, kind


def districts_of_city() -> pd.DataFrame:
    rows = [d for c, d in divisions().items() if c.startswith(CITY_CODE[:4]) and not c.endswith("00") and d.lon > 0]
    return pd.DataFrame(rows, columns=["code", "name", "lon", "lat"]).sort_values("code").reset_index(drop=True)


def build(rng: np.random.Generator, n_addresses: int) -> Geography:
    d = districts_of_city()
    stations = []
    for _, row in d.iterrows():
        # split the district square into vertical strips, one per station
        x0, x1 = row.lon - CELL, row.lon + CELL
        edges = np.linspace(x0, x1, STATIONS_PER_DISTRICT + 1)
        for k in range(STATIONS_PER_DISTRICT):
            code = f"{row.code}{k + 1:02d}"
            stations.append((code, f"{row['name']}第{k + 1}派出所", row.code, edges[k], row.lat - CELL, edges[k + 1], row.lat + CELL))
    st = pd.DataFrame(stations, columns=["station_code", "name", "district_code", "lon0", "lat0", "lon1", "lat1"])
    pick = rng.integers(0, len(st), n_addresses)
    s = st.iloc[pick].reset_index(drop=True)
    lon = rng.uniform(s.lon0, s.lon1)
    lat = rng.uniform(s.lat0, s.lat1)
    dname = d.set_index("code")["name"]
    road = rng.choice(np.array(ROADS), n_addresses)
    kind = rng.choice(np.array(ROAD_KINDS), n_addresses, p=[0.6, 0.3, 0.1])
    num = rng.integers(1, 999, n_addresses)
    estate = rng.choice(np.array(ESTATES), n_addresses)
    bldg = rng.integers(1, 30, n_addresses)
    unit = rng.integers(1, 4, n_addresses)
    room = rng.integers(1, 30, n_addresses) * 100 + rng.integers(1, 5, n_addresses)
    text = (
        "浙江省宁波市" + s.district_code.map(dname).to_numpy().astype(object) + road + kind + num.astype(str) + "号"
        + estate + "小区" + bldg.astype(str) + "幢" + unit.astype(str) + "单元" + room.astype(str) + "室"
    )
    addr = pd.DataFrame({
        "address_id": np.arange(n_addresses),
        "dzbm": [f"DZ{c}{i:09d}" for c, i in zip(s.district_code, range(n_addresses), strict=True)],
        "text": text, "district_code": s.district_code, "station_code": s.station_code,
        "lon": lon.round(6), "lat": lat.round(6),
    })  # fmt: skip
    return Geography(d, st, addr)


def stations_geojson(geo: Geography) -> dict:
    feats = []
    for r in geo.stations.itertuples():
        ring = [[r.lon0, r.lat0], [r.lon1, r.lat0], [r.lon1, r.lat1], [r.lon0, r.lat1], [r.lon0, r.lat0]]
        feats.append({"type": "Feature", "properties": {"code": r.station_code, "name": r.name,
                      "district_code": r.district_code}, "geometry": {"type": "Polygon", "coordinates": [ring]}})  # fmt: skip
    return {"type": "FeatureCollection", "features": feats}


def districts_geojson(geo: Geography) -> dict:
    feats = []
    for r in geo.districts.itertuples():
        x0, x1, y0, y1 = r.lon - CELL, r.lon + CELL, r.lat - CELL, r.lat + CELL
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        feats.append({"type": "Feature", "properties": {"code": r.code, "name": r.name},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})  # fmt: skip
    return {"type": "FeatureCollection", "features": feats}


def jitter(rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray, metres: float) -> tuple[np.ndarray, np.ndarray]:
    """Points scattered around (lon, lat) with a standard deviation in metres."""
    deg = metres / 111_000
    return (lon + rng.normal(0, deg, len(lon))).round(6), (lat + rng.normal(0, deg, len(lat))).round(6)
