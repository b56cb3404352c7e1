"""Separation of duties (DESIGN.md §2.8): administrators and auditors manage accounts,
policy and the audit trail; they read a person's data only when assigned to the case —
supervising the unit that holds it is not enough."""

from __future__ import annotations

import duckdb

from zhijing.access import policy
from zhijing.access.seed import DEMO_CASE
from zhijing.lake.store import current_files


def _master(settings) -> str:
    files = current_files(settings, "entities", "persons_master")
    return duckdb.sql(f"SELECT master_id FROM read_parquet({files!r}) ORDER BY mentions DESC, master_id LIMIT 1").fetchall()[0][0]


def test_the_policy_denies_supervision_to_administrators_and_auditors():
    case = policy.Context(True, "case", True)
    for admin, auditor in ((True, False), (False, True)):
        who = policy.Subject("u", "330200000000", "督察", 3, True, admin, auditor)
        assert not policy.allowed(who, "person:api", "read", case)
        assert not policy.allowed(who, "person:record", "read", case)
        assert policy.allowed(who, "person:api", "read", policy.Context(True, "case", True, assigned=True))
    officer = policy.Subject("u", "330200000000", "刑侦", 2)  # a supervising officer keeps the unit's cases
    assert policy.allowed(officer, "person:api", "read", case)


def test_admin_and_auditor_read_no_person_unless_assigned(resolved_city, make_api):
    from zhijing.access.audit.store import log_for
    from zhijing.access.guard import load_user
    from zhijing.access.seed import add_purpose
    from zhijing.config import get_settings

    api = make_api(resolved_city[0].home)
    s = get_settings()
    mid = _master(s)
    for who in ("admin", "ducha01"):
        h = api.headers(who, DEMO_CASE)  # 市局 supervises the 分局 that holds the case
        for path in (f"/api/persons/{mid}", f"/api/persons/{mid}/timeline", f"/api/persons/{mid}/export"):
            r = api.get(path, headers=h, params={"reason": "核查"})
            assert r.status_code == 403 and mid not in r.text, (who, path, r.status_code)
        assert api.get("/api/persons/search", params={"q": "张伟"}, headers=h).status_code == 403
        assert api.get("/api/quarantine/hukou_person", headers=h).status_code == 403
    assert api.get("/api/audit/events", headers=api.headers("ducha01")).status_code == 200  # the trail stays theirs
    refused = [e for e in log_for(s).events(20) if e["actor"] in ("admin", "ducha01") and e["outcome"] == "refused"]
    assert len(refused) >= 8

    unit = load_user(s, "xingzhen01").unit
    add_purpose(s, "case:SOD-T", "督察专案", unit, ["ducha01"])  # assigned to a case like anyone else
    assert api.get(f"/api/persons/{mid}", headers=api.headers("ducha01", "case:SOD-T")).status_code == 200
    assert api.get(f"/api/persons/{mid}", headers=api.headers("xingzhen01", DEMO_CASE)).status_code == 200
