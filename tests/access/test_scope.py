"""Need to know by place and by purpose (DESIGN.md §2.3): a service ticket opens only the
persons of the caller's jurisdiction or those the ticket names; a case grants more; a
control order opens only its named persons; every refusal is audited with the record."""

from __future__ import annotations

import duckdb
import pytest

from zhijing.access import policy
from zhijing.access.scope import in_jurisdiction, jurisdiction
from zhijing.access.seed import DEMO_CASE
from zhijing.lake.store import current_files

TICKET = "ticket:GD2026000001"


@pytest.mark.parametrize(("unit", "prefix"), [("330212010000", "33021201"), ("330212000000", "330212"),
                                              ("330200000000", "3302"), ("330000000000", "33"), ("EXT-WJW", None), ("", None)])  # fmt: skip
def test_a_units_jurisdiction(unit, prefix):
    assert jurisdiction(unit) == prefix


def test_persons_are_placed_by_station_district_name_or_code():
    assert in_jurisdiction("330212", ["鄞州区"]) and in_jurisdiction("3302", [None, "330203"])
    assert not in_jurisdiction("330212", ["海曙区", None]) and not in_jurisdiction(None, ["鄞州区"])
    assert not in_jurisdiction("330212", [])
    assert in_jurisdiction("33021201", ["33021201"]) and in_jurisdiction("330212", ["33021203"])
    assert not in_jurisdiction("33021201", ["33021203", "330212", "鄞州区"])  # a station sees its own jurisdiction only


def test_record_rules_are_policy_data():
    officer = policy.Subject("u", "330212010000", "治安", 1)
    rule = lambda kind, inside, named: policy.allowed(officer, "person:record", "read",  # noqa: E731
                                                      policy.Context(True, kind, True, inside, named))  # fmt: skip
    assert rule("case", False, False) and rule("emergency", False, False)  # the case grants more
    assert rule("ticket", True, False) and rule("ticket", False, True) and not rule("ticket", False, False)
    assert rule("order", False, True) and not rule("order", True, False)  # an order opens its named persons only


def _masters(settings) -> list[tuple[str, str, str | None, set[str]]]:
    """(master_id, name, registered district, places) of every placed master, most records first."""
    from zhijing.serving.person_file import places_of

    files = current_files(settings, "entities", "persons_master")
    rows = duckdb.sql(f"SELECT master_id, name, district FROM read_parquet({files!r}) WHERE district IS NOT NULL "
                      "ORDER BY mentions DESC, master_id").fetchall()  # fmt: skip
    places = places_of(settings, [r[0] for r in rows])
    return [(*r, set(places.get(r[0], []))) for r in rows]


def _inside_outside(settings, user: str = "paichusuo01"):
    """A person placed in the user's station and one placed only elsewhere."""
    from zhijing.access.guard import load_user

    station = jurisdiction(load_user(settings, user).unit)
    masters = _masters(settings)
    inside = next(m for m in masters if any(p.startswith(station) for p in m[3]))
    outside = next(m for m in masters if m[3] and not any(p.startswith(station) for p in m[3]))
    return station, masters, inside, outside


def test_a_ticket_sees_its_jurisdiction_and_named_persons_a_case_sees_more(resolved_city, make_api):
    from zhijing.access.audit.store import log_for
    from zhijing.access.guard import load_user
    from zhijing.access.seed import add_purpose
    from zhijing.config import get_settings

    settings = resolved_city[0]
    api = make_api(settings.home)
    s = get_settings()
    station, _, inside, outside = _inside_outside(s)
    low = api.headers("paichusuo01", TICKET)
    assert api.get(f"/api/persons/{inside[0]}", headers=low).status_code == 200
    r = api.get(f"/api/persons/{outside[0]}", headers=low)
    assert r.status_code == 403 and "jurisdiction" in r.json()["detail"] and outside[1] not in r.text
    assert api.get(f"/api/persons/{outside[0]}/timeline", headers=low).status_code == 403
    found = api.get("/api/persons/search", params={"q": outside[1]}, headers=low).json()["results"]
    assert outside[0] not in {x["master_id"] for x in found}
    assert found is not None and outside[0] not in {x["master_id"] for x in found}
    assert api.get(f"/api/persons/{outside[0]}", headers=api.headers("xingzhen01", DEMO_CASE)).status_code == 200

    refused = [e for e in log_for(s).events(30) if e["outcome"] == "refused" and outside[0] in e["records"]]
    assert refused and refused[0]["purpose"] == TICKET and refused[0]["reason"]

    # the external department sees nobody until its ticket names the person
    ext = api.headers("weijian01", TICKET)
    assert api.get(f"/api/persons/{inside[0]}", headers=ext).status_code == 403
    add_purpose(s, TICKET, "户籍证明开具工单", load_user(s, "paichusuo01").unit, ["paichusuo01", "weijian01"],
                subjects=[outside[0]])  # fmt: skip
    assert api.get(f"/api/persons/{outside[0]}", headers=api.headers("weijian01", TICKET)).status_code == 200
    assert log_for(s).verify().ok  # every request's event signed by its commit


def test_the_cli_applies_the_same_need_to_know_and_masking(resolved_city, make_api):
    import pytest

    from zhijing.access.audit.store import log_for
    from zhijing.config import get_settings
    from zhijing.entities.cli_access import consult
    from zhijing.errors import AccessDenied

    make_api(resolved_city[0].home)  # seeds the demo organisation
    s = get_settings()
    _, _, inside, outside = _inside_outside(s)
    f = consult(s, "paichusuo01", TICKET, "person:read", inside[0])
    ids = [v["value"] for v in f["facts"].get("citizen_id", [])]
    assert ids and all("*" in v for v in ids)  # clearance 1: masked, as in the API
    with pytest.raises(AccessDenied, match="jurisdiction"):
        consult(s, "paichusuo01", TICKET, "person:read", outside[0])
    last = log_for(s).events(1)[0]
    assert last["outcome"] == "refused" and last["client"] == "cli" and last["records"] == [outside[0]]


def test_a_station_sees_its_own_jurisdiction_not_its_whole_district(resolved_city, make_api):
    """海曙 station 1 must not open a person of 海曙 station 3 under a 户籍证明 ticket; the
    branch (分局) of the district may, under the same kind of purpose."""
    from zhijing.config import get_settings

    api = make_api(resolved_city[0].home)
    s = get_settings()
    station, masters, _, _ = _inside_outside(s)
    district = station[:6]
    neighbour = next(m for m in masters if any(p.startswith(district) and len(p) == 8 for p in m[3])
                     and not any(p.startswith(station) or p == district for p in m[3]))  # fmt: skip
    assert api.get(f"/api/persons/{neighbour[0]}", headers=api.headers("paichusuo01", TICKET)).status_code == 403


def test_a_non_local_resident_is_seen_where_they_live(resolved_city, make_api):
    """A person whose records put them in the station's jurisdiction (a standard address, a
    hotel, a door card) is inside it, whatever their registered district."""
    from zhijing.access.guard import load_user
    from zhijing.config import get_settings
    from zhijing.standards.divisions import divisions

    api = make_api(resolved_city[0].home)
    s = get_settings()
    station, masters, _, _ = _inside_outside(s)
    registered_elsewhere = [m for m in masters if any(p.startswith(station) for p in m[3])
                            and m[2] != divisions()[station[:6]].name]  # fmt: skip
    assert registered_elsewhere, "the city has persons living or staying away from their registered district"
    assert load_user(s, "paichusuo01").unit.startswith(station[:6])
    r = api.get(f"/api/persons/{registered_elsewhere[0][0]}", headers=api.headers("paichusuo01", TICKET))
    assert r.status_code == 200
