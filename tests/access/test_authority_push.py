"""Push scopes (issue 11, 4): a department pushes only the datasets granted to it (data, not
code), every push is audited as a collection naming the dataset and the pushed record
keys, and a record whose fields hold lists or objects is quarantined, never landed clean."""

from __future__ import annotations

from zhijing.access import grants

SUSPECT = [{"AJBH": "A3302000000099", "SFZH": "330203199001011234", "XM": "张三", "RYLX": "嫌疑人"}]
CALLS = [{"jjdbh": "JP1", "bjsj": "2024-03-05 13:04:05", "bjrxm": "王伟", "bjrdh": "13812345678", "sfdz": "宁波市海曙区中山西路1号"},
         {"jjdbh": "JP2", "bjsj": "2024-03-05 14:00:00", "bjrxm": ["王伟", "李四"], "bjrdh": "13812345679"},
         {"jjdbh": "JP3", "bjsj": "2024-03-05 15:00:00", "bjrxm": "赵六", "sfdz": {"district": "海曙区"}}]  # fmt: skip


def _last(settings, n: int = 5) -> list[dict]:
    from zhijing.access.audit.store import log_for

    return log_for(settings).events(n)


def test_an_external_department_pushes_only_its_granted_datasets(api):
    from zhijing.config import get_settings

    s = get_settings()
    h = api.headers("weijian01")
    r = api.post("/api/ingest/push/case_person", json=SUSPECT, headers=h)
    assert r.status_code == 403 and set(r.json()) == {"detail"}
    refused = _last(s, 1)[0]
    assert (refused["actor"], refused["operation"], refused["outcome"]) == ("weijian01", "collect", "refused")
    assert "case_person" in refused["query"]

    grants.grant(s, "卫健委", "ingest:push", "incident_110")
    assert api.post("/api/ingest/push/case_person", json=SUSPECT, headers=h).status_code == 403  # still not that one
    assert api.post("/api/ingest/push/incident_110", json=CALLS[:1], headers=h).status_code == 200
    assert api.post("/api/ingest/push/incident_110", json=CALLS[:1], headers=api.headers("admin")).status_code == 403
    grants.revoke(s, "卫健委", "ingest:push", "incident_110")
    assert api.post("/api/ingest/push/incident_110", json=CALLS[1:], headers=h).status_code == 403


def test_every_push_is_audited_as_a_collection_of_its_records(api):
    from zhijing.access.audit.store import log_for
    from zhijing.config import get_settings

    s = get_settings()
    grants.grant(s, "卫健委", "ingest:push", "*")
    r = api.post("/api/ingest/push/incident_110", json={"records": CALLS}, headers=api.headers("weijian01"))
    assert r.status_code == 200
    collected = [e for e in _last(s, 5) if e["operation"] == "collect" and e["outcome"] == "allowed"]
    assert len(collected) == 1
    assert collected[0]["records"] == ["incident_110:JP1", "incident_110:JP2", "incident_110:JP3"]
    assert "incident_110" in collected[0]["query"] and collected[0]["actor"] == "weijian01"
    assert log_for(s).verify().ok


def test_nested_values_in_a_push_are_quarantined_with_a_reason(api):
    from zhijing.config import get_settings
    from zhijing.governance import quarantine

    s = get_settings()
    grants.grant(s, "卫健委", "ingest:push", "incident_110")
    r = api.post("/api/ingest/push/incident_110", json=CALLS, headers=api.headers("weijian01")).json()
    assert (r["rows_in"], r["clean"], r["quarantined"]) == (3, 1, 2) and r["balanced"]
    rows = quarantine.rows(s, "incident_110")
    assert sorted(q["reason"] for q in rows) == ["nested_value", "nested_value"]
    assert all("list or object" in q["reason_text"] for q in rows)


def test_push_scopes_are_administered_from_the_shell(api):
    from typer.testing import CliRunner

    from zhijing import cli
    from zhijing.config import get_settings

    runner = CliRunner()
    assert runner.invoke(cli.app, ["access", "grant-push", "卫健委", "incident_110"]).exit_code == 0
    assert grants.holds(get_settings(), "卫健委", "ingest:push", "incident_110")
    assert not grants.holds(get_settings(), "卫健委", "ingest:push", "case_person")
    assert runner.invoke(cli.app, ["access", "grants"]).exit_code == 0
    assert api.post("/api/ingest/push/incident_110", json=CALLS[:1], headers=api.headers("weijian01")).status_code == 200
    assert runner.invoke(cli.app, ["access", "revoke-push", "卫健委", "incident_110"]).exit_code == 0
    assert grants.listed(get_settings(), "ingest:push") == []
