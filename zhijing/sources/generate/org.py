"""Reference data beside the department records: police units and officers, hotels and
checkpoints (点位)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zhijing.sources.generate.geography import Geography, station_at
from zhijing.sources.generate.names import draw_names

DEPARTMENTS = ["刑侦", "治安", "交警", "经侦", "网安", "指挥中心", "法制", "督察"]


def units(geo: Geography) -> pd.DataFrame:
    rows = [("330200000000", "宁波市公安局", "市局", "", "330200")]
    for d in geo.districts.itertuples():
        rows.append((f"{d.code}000000", f"宁波市公安局{d.name}分局", "分局", "330200000000", d.code))
    for s in geo.stations.itertuples():
        rows.append((f"{s.station_code}0000", s.name, "派出所", f"{s.district_code}000000", s.district_code))
    return pd.DataFrame(rows, columns=["unit_code", "name", "tier", "parent_code", "division_code"])


def officers(rng: np.random.Generator, unit_table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for u in unit_table.itertuples():
        n = 12 if u.tier == "市局" else 6 if u.tier == "分局" else 4
        sur, giv = draw_names(rng, n)
        for k in range(n):
            dept = DEPARTMENTS[k % len(DEPARTMENTS)] if u.tier != "派出所" else ("治安" if k % 2 else "刑侦")
            rows.append((f"{len(rows) + 1:06d}", sur[k] + giv[k], u.unit_code, dept))
    return pd.DataFrame(rows, columns=["police_no", "name", "unit_code", "department"])


def hotels(rng: np.random.Generator, geo: Geography, n: int) -> pd.DataFrame:
    a = geo.addresses.iloc[rng.integers(0, len(geo.addresses), n)].reset_index(drop=True)
    brands = np.array(["如家", "汉庭", "锦江之星", "格林豪泰", "全季", "7天"])
    return pd.DataFrame({"hotel_code": [f"H{i:05d}" for i in range(n)],
                         "name": [f"{b}酒店(宁波{t[6:9]}店)" for b, t in zip(rng.choice(brands, n), a.text, strict=True)],
                         "address": a.text.str.replace(r"小区.*$", "", regex=True), "lon": a.lon, "lat": a.lat,
                         "station_code": a.station_code})  # fmt: skip


def checkpoints(rng: np.random.Generator, geo: Geography, n: int) -> pd.DataFrame:
    """Checkpoints (卡口) on the nodes of main roads and expressways, named after the road."""
    seg = geo.roads.segments[geo.roads.segments.road_class.isin(["主干路", "快速路"])]
    ends = pd.DataFrame({"node_id": np.r_[seg.from_node, seg.to_node], "road": np.r_[seg.name, seg.name]}).drop_duplicates("node_id")
    ends = ends.sort_values("node_id").reset_index(drop=True)
    pick = rng.choice(len(ends), n, replace=n > len(ends))
    nodes = geo.roads.nodes.set_index("node_id").reindex(ends.node_id.to_numpy()[pick])
    lon, lat = nodes.lon.to_numpy(), nodes.lat.to_numpy()
    return pd.DataFrame({"checkpoint_id": [f"KK{i:04d}" for i in range(n)], "name": ends.road.to_numpy()[pick] + "卡口",
                         "lon": lon, "lat": lat, "node_id": nodes.index.to_numpy(), "station_code": station_at(geo, lon, lat)})  # fmt: skip
