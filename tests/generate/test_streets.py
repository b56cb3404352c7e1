"""The city's streets and jurisdictions, and what is planted for the workbench: a road
graph inside the real district outlines, station cells that tile each district, every
address in its station's cell (read back from the written files), and the crew and the
fugitive pair in the department records."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from zhijing.sources.generate import geography, streets
from zhijing.standards import citizen_id


@pytest.fixture(scope="module")
def geo():
    return geography.build(np.random.default_rng(5), 3000)


def test_jurisdictions_tile_every_district(geo):
    for code, outline in geo.outlines.items():
        cells = [c for c, d in zip(geo.cells, geo.stations.district_code, strict=True) if d == code]
        assert len(cells) >= 3 and all(c.geom_type in ("Polygon", "MultiPolygon") and c.area > 0 for c in cells)
        assert sum(c.area for c in cells) == pytest.approx(outline.area, rel=1e-6)  # no overlaps
        assert shapely.union_all(cells).symmetric_difference(outline).area < 1e-6 * outline.area  # no gaps


def test_addresses_lie_on_streets_in_their_station_cell(geo):
    a = geo.addresses
    cell = dict(zip(geo.stations.station_code, geo.cells, strict=True))
    for code, group in a.groupby("station_code"):
        assert shapely.contains_xy(cell[code], group.lon.to_numpy(), group.lat.to_numpy()).all(), code
    seg = geo.roads.segments.set_index("segment_id")
    xy = geo.roads.nodes.set_index("node_id")[["lon", "lat"]]
    lines = shapely.linestrings(np.stack([xy.reindex(seg.from_node[a.segment_id]).to_numpy(),
                                          xy.reindex(seg.to_node[a.segment_id]).to_numpy()], axis=1))  # fmt: skip
    metres = shapely.distance(lines, shapely.points(a.lon, a.lat)) * 111_000
    assert (metres < 60).all()
    assert [r for r in a.text.head(50) if not any(name in r for name in streets.STREET_NAMES)] == []


def test_road_graph_is_one_network_of_classed_roads(geo):
    nodes, seg = geo.roads.nodes, geo.roads.segments
    n = int(nodes.node_id.max()) + 1
    assert connected_components(coo_matrix((np.ones(len(seg)), (seg.from_node, seg.to_node)), shape=(n, n)), directed=False)[0] == 1
    assert set(seg.road_class) == set(streets.CLASSES)
    assert (seg.length_m > 0).all() and seg.speed_kmh.isin([30, 40, 60, 80]).all()
    inside = [shapely.contains_xy(geo.outlines[c], g.lon.to_numpy(), g.lat.to_numpy()).all() for c, g in nodes.groupby("district_code") if c != "330200"]
    assert all(inside) and len(inside) == 10


def test_written_reference_data_agree(small_city):
    geo_dir = small_city / "sources" / "geo"
    stations = json.loads((geo_dir / "stations.geojson").read_text(encoding="utf-8"))["features"]
    cells = {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in stations}
    addresses = pd.read_csv(geo_dir / "addresses.csv", dtype={"station_code": str, "district_code": str})
    inside = [shapely.contains_xy(cells[c], g.lon.to_numpy(), g.lat.to_numpy()).all() for c, g in addresses.groupby("station_code")]
    assert all(inside)
    nodes = pd.read_csv(geo_dir / "road_nodes.csv")
    segments = json.loads((geo_dir / "road_segments.geojson").read_text(encoding="utf-8"))["features"]
    assert len(segments) > 5000 and {"road_class", "speed_kmh", "name"} <= set(segments[0]["properties"])
    checkpoints = pd.read_csv(geo_dir / "checkpoints.csv")
    assert checkpoints.node_id.isin(nodes.node_id).all()
    main_nodes = {p["properties"][k] for p in segments if p["properties"]["road_class"] in ("主干路", "快速路") for k in ("from_node", "to_node")}
    assert checkpoints.node_id.isin(main_nodes).all()
    districts = json.loads((geo_dir / "districts.geojson").read_text(encoding="utf-8"))["features"]
    assert len(districts) == 10 and all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in districts)


def test_crew_plate_is_read_near_each_scene_before_and_after(small_city):
    truth = small_city / "truth"
    crew = json.loads((truth / "structures" / "burglary_crew.json").read_text())
    events = pd.read_parquet(truth / "structures" / "crime_events.parquet").set_index("event_id")
    rows = []
    for line in (small_city / "sources" / "streams" / "checkpoint_reads.jsonl").read_text(encoding="utf-8").splitlines():
        if crew["plate"] in line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a planted malformed line
    mine = pd.DataFrame(rows)
    mine = mine[mine.plate == crew["plate"]]
    mine["local"] = pd.to_datetime(mine.ts, unit="ms") + pd.Timedelta(hours=8)
    assert 2 <= len(crew["members"]) <= 3 and len(crew["event_ids"]) >= 3
    seen = []
    for e in crew["event_ids"]:
        t = pd.Timestamp(events.time[e])
        near = mine[(mine.local - t).abs() <= pd.Timedelta(hours=1)]
        seen.append((near.local < t).any() and (near.local > t).any())
    assert np.mean(seen) >= 0.8, seen  # a read may be misread (OCR) or malformed, as real ones are


def test_crew_lodges_together_and_the_fugitive_uses_id_variants(small_city):
    structures = small_city / "truth" / "structures"
    crew = json.loads((structures / "burglary_crew.json").read_text())
    fug = json.loads((structures / "fugitive.json").read_text())
    lodging = pd.concat(pd.read_csv(p, encoding="gbk", dtype=str, on_bad_lines="skip", encoding_errors="replace")
                        for p in sorted((small_city / "sources" / "lodging").glob("*.csv")))  # fmt: skip
    ids = {r["record_id"] for r in crew["records"] if r["dataset"] == "lodging"}
    stays = lodging[lodging["入住单号"].isin(ids)]
    assert len(stays) >= 0.9 * len(ids) >= 6
    night = {r["record_id"]: r["tag"] for r in crew["records"] if r["dataset"] == "lodging"}
    per_night = stays.groupby(stays["入住单号"].map(night))["旅馆编码"].agg(["nunique", "size"])  # (dates come in many formats)
    assert (per_night["nunique"] == 1).all() and (per_night["size"] >= 2).all()

    mine = {r["record_id"] for r in fug["records"] if r["person_id"] == fug["fugitive"] and r["dataset"] == "lodging"}
    written = lodging[lodging["入住单号"].isin(mine)]["证件号码"].dropna()
    assert (written.str.len() == 15).any()  # the legacy form
    assert not all(citizen_id.normalize(x).ok for x in written if len(x) == 15) or written.nunique() >= 2
    faults = pd.read_parquet(small_city / "truth" / "record_faults.parquet")
    everywhere = {r["record_id"] for r in fug["records"] if r["person_id"] == fug["fugitive"]}
    planted = set(faults[faults.record_id.isin(everywhere)].fault)
    assert planted >= {"id_legacy_15", "id_typo", "id_transposed"}  # in the fault truth, like every other fault
