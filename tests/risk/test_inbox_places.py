"""The risk inbox names places as an officer says them (a street and the station whose
jurisdiction holds it, never an H3 id or coordinates alone) and shows one gathering as one
item with its windows beside it."""

from __future__ import annotations

import json

import duckdb
import h3
import shapely

from zhijing.derived import placename
from zhijing.derived.risk import crowd, loop
from zhijing.model import places


def test_a_point_is_named_by_its_street_and_its_station(risk_city):
    settings, _ = risk_city
    con = duckdb.connect()
    roads = con.execute(f"SELECT name, geometry FROM {places.source(settings, 'road')} USING SAMPLE 200 ROWS (reservoir, 7)").fetchall()
    stations = con.execute(f"SELECT name, geometry FROM {places.source(settings, 'station')}").fetchall()
    namer = placename.namer(settings)
    mids = [shapely.line_interpolate_point(shapely.from_geojson(g), 0.5, normalized=True) for _, g in roads]
    named = namer.names([p.x for p in mids], [p.y for p in mids])
    assert all(n["street"] == name for n, (name, _) in zip(named, roads, strict=True))  # a segment's midpoint: that street
    for name, geom in stations[:10]:
        inside = shapely.point_on_surface(shapely.from_geojson(geom))
        assert namer.name(inside.x, inside.y)["station"] == name
    far = namer.name(116.40, 39.90)  # Beijing: no street or station of this city
    assert far == {"street": None, "station": None, "text": None}
    cell = h3.latlng_to_cell(mids[0].y, mids[0].x, 9)
    assert placename.point_of(f"{cell} 2026-03-14T19:15+08:00 door_access", {}) == h3.cell_to_latlng(cell)[::-1]
    assert placename.point_of("121.5,29.8", {}) == (121.5, 29.8) and placename.point_of("PM123", {"hidden": "x"}) is None


def test_a_gathering_is_one_item_with_its_windows_and_places_are_named(risk_home, make_api):
    for name in ("crowd", "blackspots"):
        assert loop.run(risk_home, name)["status"] == "ok"
    api = make_api(risk_home.home)
    h = api.headers("admin")
    flat = api.get("/api/risk/inbox", params={"model": "crowd", "limit": 500}, headers=h).json()
    grouped = api.get("/api/risk/inbox", params={"model": "crowd", "limit": 500, "grouped": True}, headers=h).json()
    gatherings = {crowd.group(w["subject"]) for w in flat["items"]}
    assert flat["total"] > len(gatherings) >= 1  # the planted gathering fills several windows
    assert grouped["total"] == len(gatherings) == len(grouped["items"])
    for item in grouped["items"]:
        members = item.get("members", [item])
        assert {crowd.group(m["subject"]) for m in members} == {crowd.group(item["subject"])}
        assert item["score"] == max(m["score"] for m in members)  # led by its fullest window
    assert sum(len(i.get("members", [i])) for i in grouped["items"]) == flat["total"]
    spots = api.get("/api/risk/inbox", params={"model": "blackspots", "grouped": True}, headers=h).json()["items"]
    for w in [*grouped["items"], *spots]:
        assert w["place"]["station"] and w["place"]["text"] and w["place"]["text"] != w["subject"], w
    one = api.get(f"/api/risk/warnings/{spots[0]['id']}", headers=h).json()
    assert one["place"] == spots[0]["place"]
    assert api.get("/api/risk/inbox", params={"grouped": "maybe"}, headers=h).status_code == 422
    json.dumps(grouped)  # plain JSON throughout
