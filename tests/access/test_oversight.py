"""Misuse rules fire on planted misuse in a generated audit history and stay quiet on
normal work; flags are reviewed and the review is audited."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from zhijing.access import oversight, synthetic_audit


def _detect(history):
    events = [{"seq": i, **asdict(e)} for i, e in enumerate(history.events)]
    found = oversight.detect(events, lambda p: history.subjects.get(p, set()), history.household.get, history.home.get)
    return {(f["rule"], f["actor"], f["subject"]) for f in found}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_rule_finds_its_planted_misuse_and_nothing_else(seed):
    h = synthetic_audit.build(seed=seed)
    got = _detect(h)
    for rule in ("unrelated_read", "bulk_read", "after_hours", "many_officers", "relatives"):
        planted = {t for t in h.truth if t[0] == rule}
        found = {t for t in got if t[0] == rule}
        tp = len(planted & found)
        precision = tp / len(found) if found else 0.0
        recall = tp / len(planted)
        assert (precision, recall) == (1.0, 1.0), (rule, precision, recall, planted ^ found)


def test_normal_work_raises_no_flags():
    h = synthetic_audit.build(seed=4)
    planted_actors = {"officer01", "officer02", "officer03", "officer04"} | {f"officer{o:02d}" for o in range(10, 17)}
    normal = [e for e in h.events if e.actor not in planted_actors]
    h.events = normal
    assert _detect(h) == set()


def test_flags_are_stored_reviewed_and_audited(settings):
    from zhijing.access.audit.store import AuditLog, log_for

    h = synthetic_audit.build(seed=1)
    log: AuditLog = log_for(settings)
    log.append_many(h.events)
    new = oversight.run(settings, lambda p: h.subjects.get(p, set()), h.household.get, h.home.get)
    assert new == len(h.truth)
    assert oversight.run(settings, lambda p: h.subjects.get(p, set()), h.household.get, h.home.get) == 0  # idempotent
    flag = oversight.list_flags(settings, "open")[0]
    assert flag["evidence"]
    oversight.review(settings, flag["id"], "confirmed", "ducha01", "核实属实")
    assert oversight.list_flags(settings, "confirmed")[0]["reviewed_by"] == "ducha01"
    assert log.events(1)[0]["query"].startswith(f"oversight flag {flag['id']}")
    log.seal()  # the history is months old: unsealed it would be a stale tail
    assert log.verify().ok


def test_only_the_oversight_department_reviews_flags_through_the_api(api):
    from zhijing.access.audit.store import log_for
    from zhijing.config import get_settings

    s = get_settings()
    h = synthetic_audit.build(seed=2)
    log_for(s).append_many(h.events)
    assert oversight.run(s, lambda p: h.subjects.get(p, set()), h.household.get, h.home.get) > 0
    duty = api.headers("ducha01")
    assert api.get("/api/oversight/flags", headers=api.headers("xingzhen01")).status_code == 403  # officers cannot see them
    flag = api.get("/api/oversight/flags", params={"status": "open"}, headers=duty).json()["flags"][0]
    url = f"/api/oversight/flags/{flag['id']}/review"
    assert api.post(url, data={"decision": "confirmed"}, headers=api.headers("xingzhen01")).status_code == 403
    assert api.post(url, data={"decision": "maybe"}, headers=duty).status_code == 422
    assert api.post("/api/oversight/flags/999999/review", data={"decision": "dismissed"}, headers=duty).status_code == 404
    r = api.post(url, data={"decision": "dismissed", "note": "正常办案"}, headers=duty)
    assert r.status_code == 200 and r.json()["reviewed_by"] == "ducha01"
    assert {f["id"] for f in api.get("/api/oversight/flags", params={"status": "dismissed"}, headers=duty).json()["flags"]} == {flag["id"]}
    watched = [e for e in log_for(s).events(20) if e["actor"] == "ducha01" and e["query"] == "/api/oversight/flags"]
    assert watched and all(e["operation"] == "consult" for e in watched)  # the overseers are audited too
