"""The police-GIS aggregates behind the overview map: counts only, never a person, and
every clean incident with a place and a time counted exactly once."""

from __future__ import annotations

import duckdb

from zhijing.lake.store import current_files


def test_incident_layer_counts_every_incident_once_and_names_nobody(resolved_city, make_api):
    settings = resolved_city[0]
    api = make_api(settings.home)
    assert api.get("/api/geo/incidents").status_code == 401  # a known caller, even for aggregates
    r = api.get("/api/geo/incidents", headers=api.headers("paichusuo01"))  # no purpose needed: no person in it
    assert r.status_code == 200, r.text
    body = r.json()
    files = current_files(settings, "clean", "incident_110")
    con = duckdb.connect()
    expected, = con.execute(f"SELECT count(*) FROM read_parquet({files!r}, union_by_name=true) "
                            "WHERE jd IS NOT NULL AND wd IS NOT NULL AND bjsj IS NOT NULL").fetchone()  # fmt: skip
    assert expected > 0
    assert body["total"] == expected
    assert sum(c[2] for c in body["cells"]) == expected
    assert sum(body["categories"].values()) == expected == sum(body["months"].values())
    lon = [c[0] for c in body["cells"]]
    assert 120 < min(lon) <= max(lon) < 123  # 宁波市, not swapped lat/lon
    rows = con.execute(f"SELECT bjrxm, bjrdh FROM read_parquet({files!r}, union_by_name=true)").fetchall()
    callers = {v for row in rows for v in row if v and len(v) >= 2}
    assert callers and not [v for v in callers if v in r.text]
