"""The person API end to end: purpose required, clearance masks, every read audited."""

from __future__ import annotations

import duckdb

from zhijing.access.seed import DEMO_CASE, STATION_CASE
from zhijing.lake.store import current_files


def test_person_file_through_the_access_layer(resolved_city, make_api):
    settings, _, _ = resolved_city
    api = make_api(settings.home)
    from zhijing.access.audit.store import log_for as _log

    before = max((e["seq"] for e in _log(settings).events(1)), default=0)  # the home is shared: this test's events come after
    from zhijing.access.guard import load_user
    from zhijing.access.scope import jurisdiction
    from zhijing.config import get_settings
    from zhijing.serving.person_file import places_of

    station = jurisdiction(load_user(get_settings(), "paichusuo01").unit)  # the station's own case, at clearance 1
    masters = duckdb.sql(f"SELECT * FROM read_parquet({current_files(get_settings(), 'entities', 'persons_master')!r}) "
                         "WHERE citizen_id IS NOT NULL AND phone IS NOT NULL ORDER BY mentions DESC, master_id").df()  # fmt: skip
    placed = places_of(get_settings(), masters.master_id.tolist())
    masters = masters[[any(p.startswith(station) for p in placed.get(m, [])) for m in masters.master_id]].reset_index()
    mid, name, cid, phone = masters.master_id[0], masters.name[0], masters.citizen_id[0], masters.phone[0]
    assert api.get(f"/api/persons/{mid}", headers=api.headers("xingzhen01")).status_code == 403  # no purpose

    low = api.get("/api/persons/search", params={"q": name}, headers=api.headers("paichusuo01", STATION_CASE))
    assert low.status_code == 200
    row = next(r for r in low.json()["results"] if r["master_id"] == mid)
    assert row["citizen_id"] == cid[:4] + "*" * 10 + cid[-4:] and row["phone"] == phone[:3] + "****" + phone[-4:]

    high = api.get(f"/api/persons/{mid}", headers=api.headers("xingzhen01", DEMO_CASE))
    assert high.status_code == 200
    f = high.json()
    assert f["facts"]["citizen_id"][0]["value"] == cid  # clearance 2 sees sensitive fields
    assert f["records"] and f["relations"]["nodes"]

    tl = api.get(f"/api/persons/{mid}/timeline", headers=api.headers("xingzhen01", DEMO_CASE)).json()
    assert tl["events"]

    from zhijing.access.audit.store import log_for

    events = log_for(get_settings()).events(50)
    reads = [e for e in events if e["seq"] > before and e["operation"] == "consult" and e["outcome"] == "allowed" and mid in e["records"]]
    assert len(reads) >= 3 and all(e["purpose"] for e in reads)
    assert any(e["outcome"] == "refused" for e in events)
    assert log_for(get_settings()).verify().ok  # every request's event signed by its commit
