"""The tamper list of issue 11: each rewrite of the audit database that `zhijing audit verify`
once passed is now found, because verification trusts only what is outside the database
(the pinned public key, the witness file) and every column of an entry is covered."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from zhijing.access.audit.store import AuditEvent, AuditLog, chain_hash, records_column


def _ev(i: int, **kw) -> AuditEvent:
    return AuditEvent(**{"actor": f"u{i % 3}", "operation": "consult", "outcome": "allowed", "unit": "330203",
                         "purpose": "case:A1", "records": [f"PM{i}"], "query": "/api/persons", "client": "10.0.0.1", **kw})  # fmt: skip


@pytest.fixture()
def log(tmp_path) -> AuditLog:
    """30 entries sealed at 20 and at 30, as the server's clock would."""
    log = AuditLog(f"sqlite:///{tmp_path}/audit.db", tmp_path)
    log.append_many([_ev(i) for i in range(20)])
    log.seal()
    log.append_many([_ev(i) for i in range(20, 30)])
    log.seal()
    v = log.verify()
    assert v.ok and v.seals_checked == 2 and v.tail == 0, v
    return log


def _sql(log: AuditLog, *statements: str) -> None:
    with log.engine.begin() as c:
        for s in statements:
            c.execute(sa.text(s))


def _rewrite(log: AuditLog, seq: int, **changes) -> None:
    """What an attacker holding the database can do: change an event and recompute every hash
    from it on, copy columns included, so the chain itself is whole again."""
    with log.engine.begin() as c:
        rows = c.execute(sa.text("select seq, body, prev_hash from audit_events where seq >= :s order by seq"), {"s": seq}).all()
        prev = rows[0].prev_hash
        for r in rows:
            b = json.loads(r.body) | (changes if r.seq == seq else {})
            body = json.dumps(b, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            h = chain_hash(prev, body)
            c.execute(sa.text("update audit_events set body = :b, prev_hash = :p, hash = :h, records = :r, unit = :u, "
                              "actor = :a where seq = :s"),
                      {"b": body, "p": prev, "h": h, "r": records_column(b["records"]), "u": b["unit"], "a": b["actor"],
                       "s": r.seq})  # fmt: skip
            prev = h


def test_editing_the_records_column_fails(log):
    _sql(log, """update audit_events set records = '["PM999"]' where seq = 7""")
    v = log.verify()
    assert not v.ok and v.first_broken == 7 and "columns differ" in v.reason


def test_editing_the_unit_column_fails(log):
    _sql(log, "update audit_events set unit = '330100' where seq = 12")
    v = log.verify()
    assert not v.ok and v.first_broken == 12 and "columns differ" in v.reason


def test_deleting_all_seals_fails(log):
    _sql(log, "delete from audit_heads")
    v = log.verify()
    assert not v.ok and v.missing_heads == 2 and v.tail == 0  # the witness still names both heads


def test_deleting_seals_rewriting_and_rechaining_fails(log):
    _sql(log, "delete from audit_heads")
    _rewrite(log, 5, records=["PM_OTHER"])
    v = log.verify()
    assert not v.ok and v.missing_heads == 2 and "witnessed heads are missing" in v.reason
    assert "the commit head names another entry 30 than the chain holds" in v.problems


def test_resigning_with_ones_own_key_fails(log, tmp_path):
    """Rewrite, recompute, and seal again with an Ed25519 key of one's own: the heads are
    valid under the key their rows name, but not under the pinned one, nor in the witness."""
    _sql(log, "delete from audit_heads")
    _rewrite(log, 5, records=["PM_OTHER"])
    own = AuditLog(log.engine.url.render_as_string(hide_password=False), tmp_path / "attacker")
    own.append_many([_ev(99)])  # a commit head of the attacker's own
    own.seal()
    assert own.verify().ok  # by the attacker's own key and witness it all holds together
    v = log.verify()
    assert not v.ok and v.reason.startswith("bad signature on seal head") and v.missing_heads == 2


def test_deleting_the_newest_seal_and_truncating_fails(log):
    _sql(log, "delete from audit_heads where id = (select max(id) from audit_heads)",
         "delete from audit_events where seq > 20")  # fmt: skip
    v = log.verify()
    assert not v.ok and v.missing_heads == 1 and v.truncated == 10 and v.tail == 0
    assert "cover 10 entries past the database's last" in v.reason


def test_deleting_a_middle_seal_breaks_the_chain_of_heads(log):
    log.append_many([_ev(i) for i in range(30, 35)])
    log.seal()
    _sql(log, "delete from audit_heads where id = 2")
    v = log.verify()
    assert not v.ok and v.missing_heads == 1 and "follows a head missing" in v.reason


def _forge(log: AuditLog, ev: AuditEvent) -> None:
    """What one holding the database (not the key) can append: an event chained correctly."""
    with log.engine.begin() as c:
        seq, prev = c.execute(sa.text("select seq, hash from audit_events order by seq desc limit 1")).one()
        body = ev.canonical()
        c.execute(sa.text("insert into audit_events (seq, time, actor, unit, operation, purpose, outcome, records, body, "
                          "prev_hash, hash) values (:s, :t, :a, :u, :o, :p, :out, :r, :b, :prev, :h)"),
                  {"s": seq + 1, "t": ev.time, "a": ev.actor, "u": ev.unit, "o": ev.operation, "p": ev.purpose,
                   "out": ev.outcome, "r": records_column(ev.records), "b": body, "prev": prev,
                   "h": chain_hash(prev, body)})  # fmt: skip


def test_a_forged_event_after_the_last_head_fails_and_is_never_sealed(log):
    log.append_many([_ev(i) for i in range(30, 33)])  # signed by their commit, not sealed yet
    assert log.verify().ok
    _forge(log, _ev(99, records=["PM_FORGED"]))
    v = log.verify()
    assert not v.ok and v.tail == 1 and v.first_broken == 34 and "1 entries past the last signed head" in v.reason
    assert log.seal()["size"] == 33  # the seal stops at the last signed entry: the forgery stays outside history
    assert log.verify().tail == 1


def test_deleting_the_tail_fails(log):
    """Entries no seal covers yet, deleted: the commit head (and its witness) still names the last."""
    log.append_many([_ev(i) for i in range(30, 35)])
    _sql(log, "delete from audit_events where seq > 30")
    v = log.verify()
    assert not v.ok and v.truncated == 5 and "the commit head covers 5 entries past the database's last" in v.reason
    _sql(log, "delete from audit_commit")  # and the head with them: the witness still knows it
    v = log.verify()
    assert not v.ok and v.truncated == 5 and "the witnessed commit head covers 5 entries" in v.reason


def test_an_old_commit_head_restored_fails(log):
    """Replay: keep the commit head of entry 32, append two more, restore it and delete them."""
    log.append_many([_ev(i) for i in range(30, 32)])
    old = dict(_row(log, "select * from audit_commit"))
    log.append_many([_ev(i) for i in range(32, 34)])
    _sql(log, "delete from audit_events where seq > 32", "delete from audit_commit")
    with log.engine.begin() as c:
        c.execute(sa.text("insert into audit_commit values (:id, :seq, :chain_hash, :signed_at, :algorithm, :signature)"), old)
    v = log.verify()
    assert not v.ok and v.truncated == 2 and "older than the witnessed one" in " ".join(v.problems)


def test_a_commit_head_signed_by_another_key_fails(log):
    _forge(log, _ev(99))
    _sql(log, "update audit_commit set seq = 31, chain_hash = (select hash from audit_events where seq = 31)")
    v = log.verify()
    assert not v.ok and "bad signature on the commit head (entry 31)" in v.problems


def _row(log: AuditLog, sql: str):
    with log.engine.connect() as c:
        return c.execute(sa.text(sql)).one()._mapping


def test_a_consistency_proof_that_does_not_hold_fails(log):
    _sql(log, "update audit_heads set consistency = '[]' where id = 2")
    v = log.verify()
    assert not v.ok and "not consistent" in v.reason


def test_a_witness_line_rewritten_fails(log):
    lines = log.trust.witness_file.read_text().splitlines()
    first = json.loads(lines[0]) | {"size": 19}
    log.trust.witness_file.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    v = log.verify()
    assert not v.ok and v.unwitnessed_heads == 1 and v.missing_heads == 1


def test_the_pinned_key_in_configuration_wins_over_the_key_file(tmp_path):
    from zhijing.access.audit.trust import Trust
    from zhijing.errors import ZhijingError

    log = AuditLog(f"sqlite:///{tmp_path}/audit.db", tmp_path)
    log.append_many([_ev(i) for i in range(3)])
    log.seal()
    other = "ab" * 32
    pinned = AuditLog(f"sqlite:///{tmp_path}/audit.db", tmp_path, trust=Trust.under(tmp_path, pinned=other))
    v = pinned.verify()
    assert not v.ok and "bad signature" in v.reason
    with pytest.raises(ZhijingError, match="does not match the pinned"):
        pinned.seal()  # never signs heads that could not verify


def test_zhijing_audit_verify_exits_1_on_tampering_and_on_a_forged_tail(tmp_path, monkeypatch):
    from rich.console import Console

    from zhijing import cli
    from zhijing.access.audit.store import log_for
    from zhijing.config import get_settings, reset_settings

    monkeypatch.setenv("ZHIJING_HOME", str(tmp_path))
    monkeypatch.setattr("zhijing.access.cli.console", Console(width=250))
    reset_settings()
    log = log_for(get_settings())
    log.append_many([_ev(i) for i in range(5)])
    log.seal()
    log.append(_ev(5))  # signed by its commit: no tail
    runner = CliRunner()
    out = runner.invoke(cli.app, ["audit", "verify"])
    assert out.exit_code == 0 and "entries no head signs 0" in out.output, out.output
    _forge(log, _ev(6))
    out = runner.invoke(cli.app, ["audit", "verify"])
    assert out.exit_code == 1 and "1 entries past the last signed head" in out.output and "entries no head signs 1" in out.output
    from zhijing.access.routes import audit_verify

    api = audit_verify(ctx=None)  # GET /api/audit/verify: as strict (it once allowed a fresh tail)
    assert api["ok"] is False and api["tail"] == 1
    _sql(log, "update audit_events set unit = 'X' where seq = 2")
    out = runner.invoke(cli.app, ["audit", "verify"])
    assert out.exit_code == 1 and "BROKEN" in out.output and "entry 2" in out.output
    reset_settings()


@pytest.mark.postgres
def test_the_tamper_list_on_postgresql(tmp_path, audit_pg):
    """The same checks where PostgreSQL holds the trail (its JSON operators compare the columns)."""

    url, eng = audit_pg
    try:
        log = AuditLog(url, tmp_path)
        log.append_many([_ev(i) for i in range(20)])
        log.seal()
        log.append_many([_ev(i) for i in range(20, 30)])
        log.seal()
        assert log.verify().ok
        for edit, undo in [("""records = '["PM999"]'""", """records = '["PM6"]'"""), ("unit = '330100'", "unit = '330203'")]:
            _sql(log, f"update audit_events set {edit} where seq = 7")
            v = log.verify()
            assert not v.ok and v.first_broken == 7 and "columns differ" in v.reason
            _sql(log, f"update audit_events set {undo} where seq = 7")
        v = log.verify()
        assert v.ok, v
        log.append_many([_ev(i) for i in range(30, 33)])
        _forge(log, _ev(99, records=["PM_FORGED"]))
        v = log.verify()
        assert not v.ok and v.tail == 1 and v.first_broken == 34
        assert log.seal()["size"] == 33
        _sql(log, "delete from audit_events where seq > 31")  # the forgery and two signed entries
        v = log.verify()
        assert not v.ok and v.truncated == 2 and v.tail == 0
        _sql(log, "delete from audit_heads where id = (select max(id) from audit_heads)", "delete from audit_events where seq > 20")
        v = log.verify()
        assert not v.ok and v.missing_heads == 1 and v.truncated == 13
    finally:
        with eng.begin() as c:
            c.execute(sa.text("drop table if exists audit_events, audit_heads, audit_meta, audit_commit"))
