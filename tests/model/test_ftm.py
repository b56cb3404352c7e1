"""FollowTheMoney interchange (issue 19 item 6): a case or a graph neighbourhood exported as
FtM entities that pass followthemoney's schema validation, masked to the caller's clearance
and audited as an export; an FtM entity stream declared as a source comes back in."""

from __future__ import annotations

import json

import duckdb
import pytest
from followthemoney import model as ftm_model

from zhijing.lake.store import current_files
from zhijing.model import read

CASE = "case:A330200000000019"
REASON = {"reason": "移交经侦支队核查资金"}


def _entities(text: str) -> list[dict]:
    """Every line an FtM entity that its schema accepts (values and required properties)."""
    out = []
    for line in text.splitlines():
        data = json.loads(line)
        proxy = ftm_model.get_proxy(data)
        proxy.schema.validate(data)
        assert not [p for p in proxy.schema.required if not proxy.has(p)], data
        out.append(data)
    return out


@pytest.fixture(scope="module")
def city(resolved_city):
    """The small city with its model and relationship graph, and one payment to follow."""
    from zhijing.derived.graph import edges

    settings = resolved_city[0]
    edges.run(settings, "duckdb")
    src = read.source(settings, "payment")
    links = current_files(settings, "entities", "person_links")
    own = read.source(settings, "ownership")
    # a payment between two accounts whose holders are resolved persons
    row = duckdb.sql(f"""
        SELECT p.dataset, p.record_id, p.payer, p.payee, lo.master_id AS payer_master
        FROM {src} p JOIN {own} o ON o.account = p.payer JOIN read_parquet({links!r}) lo ON lo.mention_id = o.owner
        ORDER BY p.record_id LIMIT 1""").fetchall()[0]  # fmt: skip
    return settings, row


@pytest.fixture()
def case_api(city, make_api):
    from zhijing.access.guard import load_user
    from zhijing.access.seed import add_purpose
    from zhijing.config import get_settings

    api = make_api(city[0].home)
    s = get_settings()
    add_purpose(s, CASE, "资金往来核查", load_user(s, "xingzhen01").unit, ["xingzhen01", "paichusuo01"])
    dataset, record_id, payer, payee, master = city[1]
    h = api.headers("xingzhen01", CASE)
    base = f"/api/cases/{CASE}"
    assert api.post(f"{base}/items", json={"kind": "subject", "title": "付款人", "payload": {"master_ids": [master]}}, headers=h).status_code == 200
    pin = {"kind": "pin", "title": "转账", "payload": {"evidence": [{"dataset": dataset, "record_id": record_id}]}}
    assert api.post(f"{base}/items", json=pin, headers=h).status_code == 200
    return api, s, city[1]


def test_a_case_exports_as_valid_ftm_entities_audited(case_api):
    from zhijing.access.audit.store import log_for

    api, s, (dataset, record_id, payer, payee, master) = case_api
    r = api.get(f"/api/cases/{CASE}/ftm", params=REASON, headers=api.headers("xingzhen01", CASE))
    assert r.status_code == 200, r.text
    ents = _entities(r.text)
    by_schema = {}
    for e in ents:
        by_schema.setdefault(e["schema"], []).append(e)
    person = next(e for e in by_schema["Person"] if f"master:{master}" in e["properties"]["keywords"])
    pay = by_schema["Payment"][0]
    accounts = {e["id"]: e for e in by_schema["BankAccount"]}
    assert accounts[pay["properties"]["payerAccount"][0]]["properties"]["accountNumber"] == [payer]
    assert accounts[pay["properties"]["beneficiaryAccount"][0]]["properties"]["accountNumber"] == [payee]
    assert pay["properties"]["publisher"] == [dataset] and pay["properties"]["recordId"]
    assert person["properties"]["idNumber"][0][-4:].isalnum()
    assert all("智警导出 xingzhen01" in e["properties"]["summary"][0] for e in ents)  # the watermark on every entity
    assert all(payer not in e["id"] for e in ents)  # ids carry no identifier
    disclosed = next(e for e in log_for(s).events(20) if e["operation"] == "disclose")
    assert master in disclosed["records"] and r.headers["x-export-id"] in disclosed["query"]


def test_a_graph_neighbourhood_exports_masked_below_clearance(city):
    """Built for a clearance-1 officer, no account number, citizen ID or phone is whole."""
    from zhijing.access.guard import AccessContext, User
    from zhijing.config import get_settings, reset_settings
    from zhijing.derived.graph.routes import ftm_export

    settings, (_, _, payer, _, master) = city
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_HOME", str(settings.home))
        reset_settings()
        user = User("t", "t", "330200000000", "刑侦", ("officer",), 1, "internal", None)
        ctx = AccessContext("person:export", user, "emergency:t", "emergency", client="test")
        ready = ftm_export(ctx, f"2:person:{master}", "test")
        text = ready.write("html")[0]
    reset_settings()
    ents = _entities(text)
    assert {e["schema"] for e in ents} >= {"Person", "BankAccount"}
    assert payer not in text and master in ready.persons
    assert ready.grade == "internal"
