"""The audit trail: any edited, deleted or reordered row breaks verification at that row;
Merkle proofs match RFC 6962; signed heads; purge keeps the rest verifiable."""

from __future__ import annotations

import hashlib
import os

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from zhijing.access.audit import merkle
from zhijing.access.audit.store import AuditEvent, AuditLog


def _ref_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH, written the way the RFC states it (recursive)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(_ref_root(leaves[:k]), _ref_root(leaves[k:]))


@given(st.lists(st.binary(max_size=8), min_size=0, max_size=70))
def test_root_matches_the_recursive_definition(data):
    leaves = [merkle.leaf_hash(d) for d in data]
    assert merkle.root(leaves) == _ref_root(leaves)


@given(st.integers(min_value=1, max_value=70), st.data())
def test_inclusion_proofs_verify_and_detect_tampering(n, data):
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(n)]
    i = data.draw(st.integers(min_value=0, max_value=n - 1))
    r = merkle.root(leaves)
    proof = merkle.inclusion_proof(leaves, i)
    assert merkle.verify_inclusion(leaves[i], i, n, proof, r)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"other"), i, n, proof, r)
    if n > 1:
        assert not merkle.verify_inclusion(leaves[i], (i + 1) % n, n, proof, r)


@given(st.integers(min_value=1, max_value=60), st.data())
def test_consistency_proofs(n, data):
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(n)]
    m = data.draw(st.integers(min_value=1, max_value=n))
    proof = merkle.consistency_proof(leaves, m)
    assert merkle.verify_consistency(m, n, merkle.root(leaves[:m]), merkle.root(leaves), proof)
    if m < n:
        assert not merkle.verify_consistency(m, n, merkle.leaf_hash(b"x"), merkle.root(leaves), proof)


def test_rfc_edge_cases():
    assert merkle.root([]) == hashlib.sha256(b"").digest()
    leaf = merkle.leaf_hash(b"a")
    assert not merkle.verify_consistency(0, 1, merkle.EMPTY, leaf, [])  # a proof from size 0 is rejected
    assert not merkle.verify_inclusion(leaf[:31], 0, 1, [], leaf)  # a leaf hash is exactly 32 bytes


def _log(tmp_path, url=None, n=30, algorithm="ed25519") -> AuditLog:
    log = AuditLog(url or f"sqlite:///{tmp_path}/audit.db", tmp_path, algorithm)
    log.append_many([AuditEvent(actor=f"u{i % 3}", operation="consult", outcome="allowed", purpose="case:A1",
                                records=[f"M{i}"], query="/api/persons") for i in range(n)])  # fmt: skip
    return log


@pytest.mark.parametrize("column,value", [("actor", "'intruder'"), ("body", "replace(body, 'M', 'N')"),
                                          ("records", "'M999'"), ("outcome", "'refused'"), ("purpose", "'case:B'"),
                                          ("time", "'2020-01-01T00:00:00.000000Z'")])  # fmt: skip
@pytest.mark.parametrize("seq", [1, 17, 30])
def test_editing_any_row_fails_verification_at_that_row(tmp_path, column, value, seq):
    log = _log(tmp_path)
    assert log.verify().ok
    with log.engine.begin() as c:
        c.execute(sa.text(f"update audit_events set {column} = {value} where seq = {seq}"))
    v = log.verify()
    if column == "records":  # the records column is a copy; the body is authoritative and unchanged
        assert v.ok or v.first_broken == seq
        return
    assert not v.ok and v.first_broken == seq, v


def test_deleting_or_reordering_rows_is_detected(tmp_path):
    log = _log(tmp_path)
    with log.engine.begin() as c:
        c.execute(sa.text("delete from audit_events where seq = 12"))
    assert log.verify().first_broken == 12
    log2 = _log(tmp_path / "b" if (tmp_path / "b").mkdir() is None else tmp_path)
    with log2.engine.begin() as c:  # swap two entries' contents (a reorder)
        c.execute(sa.text("update audit_events set seq = -1 where seq = 5"))
        c.execute(sa.text("update audit_events set seq = 5 where seq = 6"))
        c.execute(sa.text("update audit_events set seq = 6 where seq = -1"))
    assert log2.verify().first_broken == 5


def test_seal_sign_and_prove(tmp_path):
    log = _log(tmp_path, n=25)
    head = log.seal()
    assert head["size"] == 25 and log.verify().seals_checked == 1
    p = log.inclusion(9)
    ok = merkle.verify_inclusion(bytes.fromhex(p["leaf"]), p["index"], p["tree_size"],
                                 [bytes.fromhex(x) for x in p["proof"]], bytes.fromhex(p["root"]))  # fmt: skip
    assert ok
    with log.engine.begin() as c:  # a forged head signature
        c.execute(sa.text("update audit_heads set root = '00' || substr(root, 3)"))
    assert not log.verify().ok


def test_sm2_signed_heads(tmp_path):
    log = _log(tmp_path, n=5, algorithm="sm2-sm3")
    assert log.seal()["algorithm"] == "sm2-sm3"
    assert log.verify().ok


def test_purge_keeps_the_rest_verifiable_and_is_audited(tmp_path):
    log = _log(tmp_path, n=10)
    old = "2099-01-01T00:00:00"
    removed = log.purge_before(old, "system:retention")
    assert removed == 10
    v = log.verify()
    assert v.ok and v.entries == 1  # only the purge's own audit event remains
    assert log.events(5)[0]["operation"] == "erase"
    log.append(AuditEvent(actor="u", operation="consult", outcome="allowed"))
    assert log.verify().ok


@pytest.mark.postgres
def test_audit_log_on_postgresql(tmp_path):
    url = os.environ.get("ZHIJING_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        eng = sa.create_engine(url)
        with eng.begin() as c:
            c.execute(sa.text("drop table if exists audit_events, audit_heads"))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}")
    log = _log(tmp_path, url=url, n=50)
    log.seal()
    assert log.verify().ok
    with log.engine.begin() as c:
        c.execute(sa.text("update audit_events set actor = 'x' where seq = 33"))
    assert log.verify().first_broken == 33
    with eng.begin() as c:
        c.execute(sa.text("drop table if exists audit_events, audit_heads"))


@settings(max_examples=5, deadline=None)
@given(st.integers(min_value=2, max_value=40))
def test_verify_counts_every_entry(n):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        assert _log(Path(d), n=n).verify().entries == n
