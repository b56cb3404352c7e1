"""Judgements and explanations of a pair of mentions (issue 11, 4): only by those who may
see both persons, only on mentions that exist, and an unknown pair answers exactly like a
refused one — no existence oracle for account numbers or IDs."""

from __future__ import annotations

import duckdb

from zhijing.access.seed import DEMO_CASE
from zhijing.lake.store import current_files

TICKET = "ticket:GD2026000001"
INVENTED = ("bank_account:6222000000000000000", "case_person:A3302999999999999")


def _mentions(settings) -> duckdb.DuckDBPyRelation:
    links, ments, masters = (current_files(settings, "entities", d) for d in ("person_links", "person_mentions", "persons_master"))
    return duckdb.sql(f"SELECT m.mention_id, m.dataset, l.master_id, p.district FROM read_parquet({ments!r}) m "
                      f"JOIN read_parquet({links!r}) l USING (mention_id) JOIN read_parquet({masters!r}) p USING (master_id) "
                      "WHERE p.district IS NOT NULL ORDER BY m.mention_id")  # fmt: skip


def _pick(settings, where: str, n: int = 1) -> list[tuple[str, str]]:
    rel = _mentions(settings)
    return [(m, mid) for m, mid in rel.filter(where).project("mention_id, master_id").limit(n).fetchall()]


def _setup(resolved_city, make_api):
    from zhijing.access.guard import load_user
    from zhijing.access.scope import jurisdiction
    from zhijing.config import get_settings
    from zhijing.standards.divisions import divisions

    api = make_api(resolved_city[0].home)
    s = get_settings()
    home = divisions()[jurisdiction(load_user(s, "paichusuo01").unit)].name
    return api, s, home


def _same(r1, r2) -> None:
    assert r1.status_code == r2.status_code == 403
    assert r1.json() == r2.json() and r1.headers.get("content-length") == r2.headers.get("content-length")


def test_judgements_only_on_existing_mentions_the_caller_may_see(resolved_city, make_api):
    from zhijing.access.audit.store import log_for
    from zhijing.entities import judgements

    api, s, home = _setup(resolved_city, make_api)
    (suspect, _), = _pick(s, "dataset = 'case_person'")
    (account, _), = _pick(s, "dataset = 'bank_account'")
    before = judgements.active(s)
    invented = {"a": INVENTED[0], "b": INVENTED[1], "verdict": "same"}

    ext = api.headers("weijian01", TICKET)  # the external department joins a suspect to a bank account
    _same(api.post("/api/persons/judgements", json={"a": suspect, "b": account, "verdict": "same"}, headers=ext),
          api.post("/api/persons/judgements", json=invented, headers=ext))  # fmt: skip

    low = api.headers("paichusuo01", TICKET)  # a station's ticket: a pair with a person outside its district
    inside = [m for m, _ in _pick(s, f"district = '{home}'", 2)]
    (outside, _), = _pick(s, f"district <> '{home}'")
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
    api, s, home = _setup(resolved_city, make_api)
    (account, _), = _pick(s, "dataset = 'bank_account'")
    (other, _), = _pick(s, f"dataset = 'case_person' AND district <> '{home}'")
    invented = {"a": INVENTED[0], "b": INVENTED[1]}
    for who in ("weijian01", "paichusuo01"):
        h = api.headers(who, TICKET)
        _same(api.get("/api/persons/explain", params={"a": account, "b": other}, headers=h),
              api.get("/api/persons/explain", params=invented, headers=h))  # fmt: skip
    case = api.headers("xingzhen01", DEMO_CASE)
    assert api.get("/api/persons/explain", params={"a": account, "b": other}, headers=case).status_code == 200
    assert api.get("/api/persons/explain", params=invented, headers=case).status_code == 403
