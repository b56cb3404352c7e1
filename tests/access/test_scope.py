"""Need to know by place and by purpose (DESIGN.md §2.3): a service ticket opens only the
persons it names (never the rest of the caller's jurisdiction), and of them only the fields
its service needs; a case grants more; a control order opens only its named persons; every
refusal is audited with the record."""

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
    assert rule("ticket", False, True) and rule("ticket", True, True) and not rule("ticket", True, False)  # named only
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


def test_a_ticket_opens_the_persons_it_names_a_case_sees_more(resolved_city, make_api):
    """A 户籍证明 ticket does not open a burglary suspect of the station's own jurisdiction;
    it opens the applicant it names, wherever they live."""
    from zhijing.access.audit.store import log_for
    from zhijing.access.seed import name_subjects
    from zhijing.config import get_settings

    settings = resolved_city[0]
    api = make_api(settings.home)
    s = get_settings()
    station, _, inside, outside = _inside_outside(s)
    low = api.headers("paichusuo01", TICKET)
    for person in (inside, outside):
        r = api.get(f"/api/persons/{person[0]}", headers=low)
        assert r.status_code == 403 and "not named" in r.json()["detail"] and person[1] not in r.text
        assert api.get(f"/api/persons/{person[0]}/timeline", headers=low).status_code == 403
        found = api.get("/api/persons/search", params={"q": person[1]}, headers=low).json()["results"]
        assert person[0] not in {x["master_id"] for x in found}
    assert api.get(f"/api/persons/{outside[0]}", headers=api.headers("xingzhen01", DEMO_CASE)).status_code == 200
    refused = [e for e in log_for(s).events(40) if e["outcome"] == "refused" and inside[0] in e["records"]]
    assert refused and refused[0]["purpose"] == TICKET and refused[0]["reason"]

    name_subjects(s, TICKET, [outside[0]])
    assert api.get(f"/api/persons/{outside[0]}", headers=low).status_code == 200
    assert api.get(f"/api/persons/{inside[0]}", headers=low).status_code == 403
    # the health commission's account does not hold the station's ticket
    assert api.get(f"/api/persons/{outside[0]}", headers=api.headers("weijian01", TICKET)).status_code == 403
    assert log_for(s).verify().ok  # every request's event signed by its commit


def test_a_ticket_opens_only_the_fields_its_service_needs(resolved_city, make_api):
    """Under a 户籍证明 ticket the file holds identity and household registration: no hotel
    stays, trips, accounts, phones or vehicles, no timeline beyond the household register;
    no relationship graph, no trajectory; search finds the person's household record only."""
    from zhijing.access.seed import STATION_CASE, name_subjects
    from zhijing.config import get_settings

    api = make_api(resolved_city[0].home)
    s = get_settings()
    full = None
    for mid, *_ in _masters(s)[:50]:
        f = api.get(f"/api/persons/{mid}", headers=api.headers("xingzhen01", DEMO_CASE)).json()
        if {"hukou_person", "lodging"} <= {r["dataset"] for r in f["records"]}:
            full = f
            break
    assert full is not None
    mid = full["master_id"]
    name_subjects(s, TICKET, [mid])
    h = api.headers("paichusuo01", TICKET)
    f = api.get(f"/api/persons/{mid}", headers=h).json()
    assert f["service"] == "户籍证明" and set(f["facts"]) <= {"name", "citizen_id", "sex", "address_district"}
    assert {r["dataset"] for r in f["records"]} == {"hukou_person"} and {e["dataset"] for e in f["timeline"]} <= {"hukou_person"}
    assert {n["kind"] for n in f["relations"]["nodes"]} <= {"person", "household"} and not f["vehicles"] and not f["companies"]
    assert all(set(v["datasets"]) <= {"hukou_person"} for vals in f["facts"].values() for v in vals)
    assert api.get("/api/graph/expand", params={"subject": f"person:{mid}"}, headers=h).status_code == 403
    assert api.get("/api/trajectory", params={"subject": f"person:{mid}"}, headers=h).status_code == 403
    found = api.get("/api/persons/search", params={"q": full["name"]}, headers=h).json()["results"]
    assert found and all(set(r) <= {"master_id", "name", "citizen_id", "sex", "birth_date", "district"} for r in found)
    case = api.get(f"/api/persons/{mid}", headers=api.headers("paichusuo01", STATION_CASE)).json()
    assert "lodging" in {r["dataset"] for r in case["records"]}  # the same officer under a case sees the file


def test_the_cli_applies_the_same_need_to_know_and_masking(resolved_city, make_api):
    import pytest

    from zhijing.access.audit.store import log_for
    from zhijing.access.seed import name_subjects
    from zhijing.config import get_settings
    from zhijing.entities.cli_access import consult
    from zhijing.errors import AccessDenied

    make_api(resolved_city[0].home)  # seeds the demo organisation
    s = get_settings()
    _, _, inside, outside = _inside_outside(s)
    name_subjects(s, TICKET, [inside[0]])
    f = consult(s, "paichusuo01", TICKET, "person:read", inside[0])
    ids = [v["value"] for v in f["facts"].get("citizen_id", [])]
    assert ids and all("*" in v for v in ids)  # clearance 1: masked, as in the API
    with pytest.raises(AccessDenied, match="not named"):
        consult(s, "paichusuo01", TICKET, "person:read", outside[0])
    last = log_for(s).events(1)[0]
    assert last["outcome"] == "refused" and last["client"] == "cli" and last["records"] == [outside[0]]


def test_a_station_sees_its_own_jurisdiction_not_its_whole_district(resolved_city, make_api):
    """海曙 station 1's jurisdiction does not hold a person of 海曙 station 3; the branch
    (分局) of the district's does (jurisdiction remains an attribute the policy may read)."""
    from zhijing.config import get_settings

    make_api(resolved_city[0].home)
    s = get_settings()
    station, masters, _, _ = _inside_outside(s)
    district = station[:6]
    neighbour = next(m for m in masters if any(p.startswith(district) and len(p) == 8 for p in m[3])
                     and not any(p.startswith(station) or p == district for p in m[3]))  # fmt: skip
    assert not in_jurisdiction(station, neighbour[3]) and in_jurisdiction(district, neighbour[3])


def test_a_non_local_resident_is_placed_where_they_live(resolved_city, make_api):
    """A person whose records put them in the station's jurisdiction (a standard address, a
    hotel, a door card) is inside it, whatever their registered district."""
    from zhijing.access.guard import load_user
    from zhijing.config import get_settings
    from zhijing.standards.divisions import divisions

    make_api(resolved_city[0].home)
    s = get_settings()
    station, masters, _, _ = _inside_outside(s)
    registered_elsewhere = [m for m in masters if any(p.startswith(station) for p in m[3])
                            and m[2] != divisions()[station[:6]].name]  # fmt: skip
    assert registered_elsewhere, "the city has persons living or staying away from their registered district"
    assert load_user(s, "paichusuo01").unit.startswith(station[:6])
    assert in_jurisdiction(station, registered_elsewhere[0][3])


def test_the_demo_ticket_names_a_resident_of_its_station(resolved_city, make_api):
    from zhijing.config import get_settings
    from zhijing.demo import name_applicant

    api = make_api(resolved_city[0].home)
    applicant = name_applicant(get_settings())
    f = api.get(f"/api/persons/{applicant}", headers=api.headers("paichusuo01", TICKET))
    assert f.status_code == 200 and f.json()["service"] == "户籍证明"
