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
        WHERE p.memo <> '' ORDER BY p.record_id LIMIT 1""").fetchall()[0]  # fmt: skip
    return settings, row


@pytest.fixture()
def case_api(city, make_api):
    from zhijing.access.guard import load_user
    from zhijing.access.seed import add_purpose
    from zhijing.config import get_settings

    api = make_api(city[0].home)
    s = get_settings()
    add_purpose(s, CASE, "资金往来核查", load_user(s, "fenxi01").unit, ["fenxi01"])
    dataset, record_id, payer, payee, master = city[1]
    h = api.headers("fenxi01", CASE)
    base = f"/api/cases/{CASE}"
    assert api.post(f"{base}/items", json={"kind": "subject", "title": "付款人", "payload": {"master_ids": [master]}}, headers=h).status_code == 200
    pin = {"kind": "pin", "title": "转账", "payload": {"evidence": [{"dataset": dataset, "record_id": record_id}]}}
    assert api.post(f"{base}/items", json=pin, headers=h).status_code == 200
    return api, s, city[1]


def test_a_case_exports_as_valid_ftm_entities_audited(case_api):
    from zhijing.access.audit.store import log_for

    api, s, (dataset, record_id, payer, payee, master) = case_api
    r = api.get(f"/api/cases/{CASE}/ftm", params=REASON, headers=api.headers("fenxi01", CASE))
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
    assert pay["properties"]["amount"] and pay["properties"]["purpose"] == ["***"]  # as its dataset grades them: a memo is secret
    assert person["properties"]["idNumber"][0][-4:].isalnum()
    assert all("智警导出 fenxi01" in e["properties"]["summary"][0] for e in ents)  # the watermark on every entity
    assert all(payer not in e["id"] for e in ents)  # ids carry no identifier
    disclosed = next(e for e in log_for(s).events(20) if e["operation"] == "disclose")
    assert master in disclosed["records"] and r.headers["x-export-id"] in disclosed["query"]


def test_a_graph_neighbourhood_exports_masked_below_clearance(city):
    """Built for a clearance-1 officer: no account number, citizen ID or phone is whole, and
    the export discloses nothing above ``internal``."""
    settings, (_, _, payer, _, master) = city
    ready = _export(settings, f"2:person:{master}", 1)
    text = ready.write("html")[0]
    ents = _entities(text)
    assert {e["schema"] for e in ents} >= {"Person", "BankAccount", "Payment"}
    assert payer not in text and payer[:4] + "*" * (len(payer) - 8) + payer[-4:] in text
    assert master in ready.persons and ready.grade == "internal" and ready.rows == len(ents)
    assert all("amount" not in e["properties"] for e in ents if e["schema"] == "Payment")  # a transfer's amount is sensitive
    for e in ents:
        for prop in ("idNumber", "phone", "accountNumber", "birthDate"):
            assert all("*" in v for v in e["properties"].get(prop, [])), (prop, e)


def _export(settings, target: str, clearance: int):
    """The graph export prepared for an officer of ``clearance`` under an emergency."""
    from zhijing.access.guard import AccessContext, User
    from zhijing.config import reset_settings
    from zhijing.derived.graph.routes import ftm_export

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_HOME", str(settings.home))
        reset_settings()
        user = User("t", "t", "330200000000", "刑侦", ("officer",), clearance, "internal", None)
        ready = ftm_export(AccessContext("person:export", user, "emergency:t", "emergency", client="test"), target, "test")
    reset_settings()
    return ready


def test_an_export_declared_as_an_ftm_source_gives_the_same_persons_and_payments(city, tmp_path):
    """Round trip: the documented declaration (docs/model.md) ingests an export: the clean
    zone holds the same persons (citizen ID and name), the model the same payments."""
    import re
    from pathlib import Path

    from zhijing.config import Settings
    from zhijing.governance.ingest import ingest_city
    from zhijing.model import build

    settings, (_, _, _, _, master) = city
    text = _export(settings, f"2:person:{master}", 3).write("html")[0]
    ents = _entities(text)
    doc = (Path(__file__).parents[2] / "docs" / "model.md").read_text(encoding="utf-8")
    declaration = re.search(r"<!-- ftm-source-example -->\n```yaml\n(.*?)```", doc, re.S).group(1)
    home = Settings(home=tmp_path / "home")
    (home.home / "sources" / "exchange").mkdir(parents=True)
    (home.home / "sources" / "ftm.yaml").write_text(declaration, encoding="utf-8")
    (home.home / "sources" / "exchange" / "case.ftm.json").write_text(text + "not an entity\n", encoding="utf-8")
    out = {d["dataset"]: d for d in ingest_city(home, tmp_path / "none", progress=False, datasets=["ftm_persons", "ftm_payments"])["datasets"]}
    build.build(home)

    persons = {(p["idNumber"][0], p["name"][0]) for e in ents if e["schema"] == "Person" for p in [e["properties"]]}
    clean = current_files(home, "clean", "ftm_persons")
    assert {tuple(r) for r in duckdb.sql(f"SELECT idNumber, name FROM read_parquet({clean!r})").fetchall()} == persons
    by_id = {e["id"]: e["properties"] for e in ents}
    sent = sorted((by_id[p["payerAccount"][0]]["accountNumber"][0], by_id[p["beneficiaryAccount"][0]]["accountNumber"][0],
                   float(p["amount"][0]), p["date"][0]) for e in ents if e["schema"] == "Payment" for p in [e["properties"]])  # fmt: skip
    got = duckdb.sql(f"SELECT payer, payee, amount, strftime(ts AT TIME ZONE 'Asia/Shanghai', '%Y-%m-%dT%H:%M:%S') "
                     f"FROM {read.source(home, 'payment')}").fetchall()  # fmt: skip
    assert sent and sorted((a, b, float(m), t) for a, b, m, t in got) == sent
    assert out["ftm_payments"]["quarantined"] == 1 and out["ftm_persons"]["quarantined"] == 1  # the line that is no entity


def test_the_command_line_export_waits_for_a_second_officer_above_the_threshold(case_api, monkeypatch, tmp_path):
    """``zhijing export ftm``: the API's export as the named user — above the row threshold it
    is a request, downloaded once after another officer approved it; each step audited."""
    from typer.testing import CliRunner

    from zhijing.access import exports
    from zhijing.access.audit.store import log_for
    from zhijing.cli import app
    from zhijing.config import get_settings, reset_settings

    monkeypatch.setenv("ZHIJING_EXPORTS__APPROVAL_ROWS", "2")
    reset_settings()
    out = tmp_path / "case.ftm.json"
    args = ["export", "ftm", "--case", CASE, "--user", "fenxi01", "--reason", REASON["reason"], "--out", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code != 0 and not out.exists()
    request_id = exports.listed(get_settings(), "fenxi01", CASE, False)[0]["id"]
    assert exports.get(get_settings(), request_id)["status"] == "pending"
    exports.approve(get_settings(), request_id, "kezhang01")
    r = CliRunner().invoke(app, ["export", "ftm", "--case", CASE, "--user", "fenxi01", "--request", request_id, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert {e["schema"] for e in _entities(out.read_text(encoding="utf-8"))} >= {"Person", "Payment", "BankAccount"}
    last = log_for(get_settings()).events(5)
    disclosed = next(e for e in last if e["operation"] == "disclose")
    assert disclosed["client"] == "cli" and f"request {request_id} approved by kezhang01" in disclosed["query"]
    assert CliRunner().invoke(app, ["export", "ftm", "--case", CASE, "--user", "fenxi01", "--request", request_id,
                                    "--out", str(out)]).exit_code != 0  # once  # fmt: skip


def test_every_packaged_type_names_ftm_schemata_and_properties_followthemoney_knows():
    from zhijing.model import types

    m = types.packaged()
    for name, et in m.entities.items():
        if et.ftm:
            assert ftm_model.get(et.ftm) is not None, name
            assert et.ftm_key in ftm_model.get(et.ftm).properties, name
    for name, ev in m.events.items():
        schema = ftm_model.get(ev.ftm or "Event")
        for col, prop in ev.ftm_map.items():
            assert col in ev.roles or col in ev.properties, (name, col)
            holder, _, own = prop.partition(".")
            assert (own and holder in ev.roles) or prop in schema.properties, (name, prop)


def test_sources_check_refuses_what_followthemoney_does_not_know():
    from zhijing.sources.connectors.ftm import property_problems

    assert property_problems("Payment", ["id", "amount", "payerAccount.accountNumber", "payer.name"]) == []
    assert property_problems("Payement", ["amount"])[0].startswith("ftm_schema 'Payement'")
    assert "no property 'amont'" in property_problems("Payment", ["amont"])[0]
    assert "refers to no entity" in property_problems("Payment", ["amount.value"])[0]
