"""The analyst's review screen through the access layer: the held-apart conflicts with
their persons, a pair's waterfall, a judgement — each limited to what the purpose opens,
and every linked record masked by the grade of the field it names."""

from __future__ import annotations

import json

import duckdb

from zhijing.access.seed import DEMO_CASE
from zhijing.lake.store import current_files

TICKET = "ticket:GD2026000001"


def _queue_conflicts(settings, station: str) -> tuple[list[str], list[str]]:
    """Put two conflicts on the review queue beside the run's own: one between two persons
    placed in ``station``'s jurisdiction, one involving a person placed only elsewhere."""
    import sqlalchemy as sa

    from zhijing.entities import judgements
    from zhijing.serving.person_file import places_of

    links, ments = (current_files(settings, "entities", d) for d in ("person_links", "person_mentions"))
    firsts = duckdb.sql(f"SELECT l.master_id, min(m.mention_id) FROM read_parquet({links!r}) l "
                        f"JOIN read_parquet({ments!r}) m USING (mention_id) GROUP BY 1 ORDER BY 2").fetchall()  # fmt: skip
    places = places_of(settings, [mid for mid, _ in firsts])
    rows = [(any(p.startswith(station) for p in places[mid]), m) for mid, m in firsts if places.get(mid)]
    inside = [m for ok, m in rows if ok][:2]
    mixed = [inside[0], next(m for ok, m in rows if not ok)]
    with judgements._engine(settings).begin() as conn:
        conn.execute(sa.insert(judgements.review), [
            {"run_id": "test", "kind": "id_conflict", "reason": "planted for the test", "mentions": json.dumps(ms)}
            for ms in (inside, mixed)])  # fmt: skip
    return inside, mixed


def test_review_explain_and_judge_follow_need_to_know(resolved_city, make_api):
    from zhijing.access.guard import load_user
    from zhijing.access.scope import jurisdiction
    from zhijing.config import get_settings
    from zhijing.entities import judgements
    settings = resolved_city[0]
    api = make_api(settings.home)
    s = get_settings()
    station = jurisdiction(load_user(s, "paichusuo01").unit)
    inside, mixed = _queue_conflicts(s, station)

    case = api.headers("xingzhen01", DEMO_CASE)
    items = {tuple(i["mentions"]): i for i in api.get("/api/persons/review", headers=case).json()["items"]}
    assert tuple(inside) in items and tuple(mixed) in items  # a case sees both
    rows = items[tuple(inside)]["rows"]
    assert {r["mention_id"] for r in rows} == set(inside) and all(r["master_id"] and any(p.startswith(station) for p in r["places"]) for r in rows)
    a, b = inside
    ex = api.get("/api/persons/explain", params={"a": a, "b": b}, headers=case)
    assert ex.status_code == 200
    steps = ex.json()["waterfall"]
    assert steps[0]["comparison"] == "prior" and abs(sum(x["match_weight"] for x in steps) - ex.json()["match_weight"]) < 1e-6
    assert api.post("/api/persons/judgements", json={"a": a, "b": b, "verdict": "different"}, headers=case).status_code == 200
    _, cannot = judgements.active(s)
    assert tuple(sorted((a, b))) in {tuple(sorted(p)) for p in cannot}

    from zhijing.access.masking import mask_identifiers
    from zhijing.access.seed import name_subjects
    from zhijing.serving.person_file import mentions_placed

    name_subjects(s, TICKET, [r["master_id"] for r in mentions_placed(s, list(inside))])
    low = api.headers("paichusuo01", TICKET)  # a ticket: only conflicts between persons it names
    seen = {tuple(i["mentions"]) for i in api.get("/api/persons/review", headers=low).json()["items"]}
    shown = lambda ids: tuple(mask_identifiers(list(ids), 1))  # noqa: E731 -- a mention id holding an account is masked at clearance 1
    assert shown(inside) in seen and shown(mixed) not in seen
    assert api.get("/api/persons/explain", params={"a": mixed[0], "b": mixed[1]}, headers=low).status_code == 403
    assert api.get("/api/persons/explain", params={"a": a, "b": b}, headers=low).status_code == 200


def test_linked_records_are_masked_by_the_grade_of_their_key(resolved_city, make_api):
    from zhijing.config import get_settings

    settings = resolved_city[0]
    api = make_api(settings.home)
    s = get_settings()
    links, ments = (current_files(s, "entities", d) for d in ("person_links", "person_mentions"))
    mid, account = duckdb.sql(f"SELECT l.master_id, m.record_id FROM read_parquet({links!r}) l JOIN read_parquet({ments!r}) m "
                              "USING (mention_id) WHERE m.dataset = 'bank_account' ORDER BY 1 LIMIT 1").fetchall()[0]  # fmt: skip
    high = api.get(f"/api/persons/{mid}", headers=api.headers("xingzhen01", DEMO_CASE)).json()
    rec = next(r for r in high["records"] if r["dataset"] == "bank_account")
    assert rec["record_id"] == account  # clearance 2 sees sensitive fields
    assert rec["summary"] == "***"  # 开户行 of a 核心 dataset is graded secret

    from zhijing.access.seed import add_purpose, add_user

    add_user(s, "jianxi01", "钱见习", load_unit(s), "刑侦", "pw-jianxi-0001", "officer", 1, "officer")
    add_purpose(s, "case:MASK-T", "脱敏测试案", load_unit(s), ["jianxi01"])
    api.logins["jianxi01"] = "pw-jianxi-0001"
    low = api.get(f"/api/persons/{mid}", headers=api.headers("jianxi01", "case:MASK-T")).json()
    rec = next(r for r in low["records"] if r["dataset"] == "bank_account")
    assert rec["record_id"] != account and rec["record_id"].startswith(account[:4]) and rec["record_id"].endswith(account[-4:])
    assert account not in str(low)


def load_unit(settings) -> str:
    from zhijing.access.guard import load_user

    return load_user(settings, "xingzhen01").unit
