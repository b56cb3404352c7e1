"""Contact tracing reads the model, so any dataset mapped to it counts: a travel mode the
generated city does not have, a dwelling for a record that names no household, and never a
gate passed minutes apart (a ``near`` rule is passing by, not sharing a space)."""

from __future__ import annotations

import duckdb

from zhijing.derived.risk import contacts

TS = "TIMESTAMPTZ '2026-03-01 08:00:00+08'"


def _model() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"""CREATE TABLE trip AS SELECT * FROM (VALUES
        ('ferry_log', 'f1', 'ferry', 'F7@2026-03-01', NULL, '12', 'ferry_log|f1|passenger'),
        ('ferry_log', 'f2', 'ferry', 'F7@2026-03-01', NULL, '40', 'ferry_log|f2|passenger'))
        t(dataset, record_id, place_kind, place_id, carriage, seat, passenger), (SELECT {TS} AS ts)""")  # fmt: skip
    con.execute("""CREATE TABLE family AS SELECT * FROM (VALUES ('hk', 'h1', 'HH1', 'hk|h1|person'))
        t(dataset, record_id, household, person)""")  # fmt: skip
    con.execute("""CREATE TABLE residence AS SELECT * FROM (VALUES
        ('rent', 'r1', 'D9', 'rent|r1|resident'), ('rent', 'r2', 'D9', 'rent|r2|resident'),
        ('hk', 'h1', 'D9', 'hk|h1|resident'))
        t(dataset, record_id, "addressCode", resident)""")  # fmt: skip
    con.execute(f"""CREATE TABLE access AS SELECT * FROM (VALUES
        ('door', 'a1', 'gate1', 'door|a1|holder'), ('door', 'a2', 'gate1', 'door|a2|holder'))
        t(dataset, record_id, place_id, holder), (SELECT {TS} AS ts, NULL::TIMESTAMPTZ AS ts_end)""")  # fmt: skip
    con.execute("""CREATE TABLE person_links AS SELECT * FROM (VALUES
        ('ferry_log|f1|passenger', 'P1'), ('ferry_log|f2|passenger', 'P2'), ('rent|r1|resident', 'P1'),
        ('rent|r2|resident', 'P3'), ('hk|h1|person', 'P4'), ('hk|h1|resident', 'P4'),
        ('door|a1|holder', 'P1'), ('door|a2|holder', 'P5')) t(mention_id, master_id)""")  # fmt: skip
    return con


def test_any_mapped_travel_mode_and_dwelling_count_and_a_gate_does_not():
    found = contacts.trace_on(_model(), ["P1"])
    by = {(r.contact_master, r.channel): r for r in found.itertuples()}
    assert ("P2", "ferry") in by  # a mode the city has none of: its place kind is the channel
    assert by[("P2", "ferry")].score == contacts.OTHER_WEIGHT / (1 + 28)  # 28 rows apart: any seat counts, further is weaker
    assert ("P3", "household") in by  # one dwelling, no household named: they live together
    assert "P4" not in set(found.contact_master)  # a hukou record names its household: the dwelling is not it
    assert "P5" not in set(found.contact_master)  # one gate a minute apart is passing by
