"""Judgements and explanations of a pair of mentions (issue 11, 4): only by those who may
see both persons, only on mentions that exist, and an unknown pair answers exactly like a
refused one — no existence oracle for account numbers or IDs. And the person file's
relation graph names no phone number in its node IDs below the clearance that shows it."""

from __future__ import annotations

import duckdb

from zhijing.access.seed import DEMO_CASE, STATION_CASE
from zhijing.lake.store import current_files

TICKET = "ticket:GD2026000001"
INVENTED = ("bank_account:6222000000000000000", "case_person:A3302999999999999")


def _mentions(settings, dataset: str | None = None, limit: int = 4000) -> list[dict]:
    """Linked mentions (of one dataset) with the places need to know reads for their person,
    asked of the served person store the routes use."""
    from zhijing.entities.routes import person_file

    links, ments = (current_files(settings, "entities", d) for d in ("person_links", "person_mentions"))
    ids = [m for (m,) in duckdb.execute(
        f"SELECT mention_id FROM read_parquet({ments!r}) m JOIN read_parquet({links!r}) l USING (mention_id) "
        "WHERE $d IS NULL OR dataset = $d ORDER BY mention_id LIMIT $n", {"d": dataset, "n": limit}).fetchall()]  # fmt: skip
    return person_file.mentions_placed(settings, ids)


def _pick(settings, inside: bool | None, dataset: str | None = None, n: int = 1, user: str = "paichusuo01") -> list[str]:
    """``n`` mentions whose person lies in ``user``'s jurisdiction (``inside``), does not, or either (None)."""
    from zhijing.access.guard import load_user
    from zhijing.access.scope import in_jurisdiction, jurisdiction

    station = jurisdiction(load_user(settings, user).unit)
    out = []
    for r in _mentions(settings, dataset):
        places = r.get("places") or [r.get("district")]
        if inside is None or in_jurisdiction(station, places) == inside:
            out.append(r["mention_id"])
    return out[:n]


def _name(settings, mention_ids: list[str]) -> None:
    """The station's ticket names the persons behind these mentions (it opens nobody else)."""
    from zhijing.access.seed import name_subjects
    from zhijing.entities.routes import person_file

    name_subjects(settings, TICKET, [r["master_id"] for r in person_file.mentions_placed(settings, mention_ids)])


def _setup(resolved_city, make_api):
    from zhijing.config import get_settings

    api = make_api(resolved_city[0].home)
    return api, get_settings()


def _same(r1, r2) -> None:
    assert r1.status_code == r2.status_code == 403
    assert r1.json() == r2.json() and r1.headers.get("content-length") == r2.headers.get("content-length")


def test_judgements_only_on_existing_mentions_the_caller_may_see(resolved_city, make_api):
    from zhijing.access.audit.store import log_for
    from zhijing.entities import judgements

    api, s = _setup(resolved_city, make_api)
    suspect, account = _pick(s, None, "case_person")[0], _pick(s, None, "bank_account")[0]
    before = judgements.active(s)
    invented = {"a": INVENTED[0], "b": INVENTED[1], "verdict": "same"}

    ext = api.headers("weijian01", TICKET)  # the external department joins a suspect to a bank account
    _same(api.post("/api/persons/judgements", json={"a": suspect, "b": account, "verdict": "same"}, headers=ext),
          api.post("/api/persons/judgements", json=invented, headers=ext))  # fmt: skip

    low = api.headers("paichusuo01", TICKET)  # a station's ticket: a pair with a person it does not name
    inside, outside = _pick(s, True, n=2), _pick(s, False)[0]
    _name(s, inside)
    refused = api.post("/api/persons/judgements", json={"a": inside[0], "b": outside, "verdict": "different"}, headers=low)
    _same(refused, api.post("/api/persons/judgements", json=invented, headers=low))
    assert judgements.active(s) == before  # nothing was recorded
    last = log_for(s).events(3)
    assert any(e["operation"] == "alter" and e["outcome"] == "refused" and outside in e["records"] for e in last)

    ok = api.post("/api/persons/judgements", json={"a": inside[0], "b": inside[1], "verdict": "unsure"}, headers=low)
    assert ok.status_code == 200
    case = api.headers("xingzhen01", DEMO_CASE)  # a case opens both; an invented pair is still refused alike
    _same(api.post("/api/persons/judgements", json=invented, headers=case), refused)
    assert api.post("/api/persons/judgements", json={"a": inside[0], "b": inside[0], "verdict": "same"}, headers=case).status_code == 403


def test_explain_is_no_existence_oracle(resolved_city, make_api):
    api, s = _setup(resolved_city, make_api)
    account = _pick(s, None, "bank_account")[0]
    other = next(m for m in _pick(s, False, n=5) if m != account)
    invented = {"a": INVENTED[0], "b": INVENTED[1]}
    for who in ("weijian01", "paichusuo01"):
        h = api.headers(who, TICKET)
        _same(api.get("/api/persons/explain", params={"a": account, "b": other}, headers=h),
              api.get("/api/persons/explain", params=invented, headers=h))  # fmt: skip
    case = api.headers("xingzhen01", DEMO_CASE)
    assert api.get("/api/persons/explain", params={"a": account, "b": other}, headers=case).status_code == 200
    assert api.get("/api/persons/explain", params=invented, headers=case).status_code == 403


def test_relation_graph_node_ids_name_no_phone(resolved_city, make_api):
    import json

    api, s = _setup(resolved_city, make_api)
    phones = {r["master_id"]: r["phone"] for r in _mentions(s, "phone_subscriber") if r.get("phone")}
    inside = set(_pick(s, True, n=4000))
    mid = next(r["master_id"] for r in _mentions(s) if r["mention_id"] in inside and r["master_id"] in phones)
    f = api.get(f"/api/persons/{mid}", headers=api.headers("paichusuo01", STATION_CASE)).json()  # clearance 1
    rel = f["relations"]
    phone_nodes = [n for n in rel["nodes"] if n["kind"] == "phone"]
    assert phone_nodes and all(n["label"].count("*") == 4 for n in phone_nodes)
    assert phones[mid] not in json.dumps(rel) and phones[mid] not in json.dumps(f)
    ids = {n["id"] for n in rel["nodes"]}
    assert all(x["source"] in ids and x["target"] in ids for x in rel["links"])  # the graph still holds together
