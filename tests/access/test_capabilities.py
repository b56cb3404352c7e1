"""The console shows only what the role may do (issue 21): ``/api/me/capabilities`` answers
from the policy the guard enforces, under the stated purpose — and agrees with the guard."""

from __future__ import annotations

from zhijing.access.seed import DEMO_CASE, DEMO_TICKET, STATION_CASE


def _may(api, user: str, purpose: str | None) -> dict:
    r = api.get("/api/me/capabilities", headers=api.headers(user, purpose))
    assert r.status_code == 200, r.text
    return r.json()


def test_a_station_officer_under_a_ticket_gets_no_analysis_links(module_api):
    ticket = _may(module_api, "paichusuo01", DEMO_TICKET)
    assert ticket["usable"] and ticket["kind"] == "ticket"
    may = ticket["may"]
    assert may["person.read"] and not (may["trajectory"] or may["companions"] or may["graph"] or may["person.export"] or may["case.write"])
    h = module_api.headers("paichusuo01", DEMO_TICKET)  # and the guard agrees: the link would have failed
    refused = module_api.get("/api/trajectory", headers=h, params={"subject": "person:PM1"})
    assert refused.status_code == 403 and refused.json()["detail"] == "not permitted: trajectory:read"
    case = _may(module_api, "paichusuo01", STATION_CASE)["may"]
    assert case["trajectory"] and case["companions"] and case["case.write"] and not case["person.export"]  # clearance 1


def test_export_and_approval_follow_clearance_and_role(module_api):
    assert _may(module_api, "xingzhen01", DEMO_CASE)["may"]["person.export"]
    assert not _may(module_api, "xingzhen01", DEMO_CASE)["may"]["person.approve"]
    assert _may(module_api, "kezhang01", DEMO_CASE)["may"]["person.approve"]


def test_without_a_usable_purpose_nothing_personal_is_offered(module_api):
    for purpose in (None, "case:NOPE", "case:A330200000000003"):  # none, unknown, closed
        out = _may(module_api, "xingzhen01", purpose)
        assert not out["usable"] and out["reason"]
        assert not any(out["may"][k] for k in ("person.read", "trajectory", "graph", "person.export"))
        assert out["may"]["case.list"]  # what needs no purpose stays
    assert _may(module_api, "ducha01", None)["may"]["audit"] and not _may(module_api, "xingzhen01", None)["may"]["audit"]
