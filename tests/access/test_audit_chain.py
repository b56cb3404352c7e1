"""The audit trail: any edited, deleted or reordered row breaks verification at that row;
Merkle proofs match RFC 6962; signed heads; purge keeps the rest verifiable."""

from __future__ import annotations

import hashlib
import random

import pytest
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from zhijing.access.audit import merkle
from zhijing.access.audit.signing import Sm2Signer
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
def test_prefix_roots_from_the_levels_of_a_larger_tree(n, data):
    """A seal that ends inside a batch: its root comes from the batch's levels in O(log n)."""
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(n)]
    k = data.draw(st.integers(min_value=0, max_value=n))
    tree = merkle.levels(leaves)
    assert tree[-1] == [merkle.root(leaves)]
    assert merkle.prefix_root(tree, k) == _ref_root(leaves[:k])


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


def _log(tmp_path, url=None, n=30, algorithm="ed25519", seal=True) -> AuditLog:
    log = AuditLog(url or f"sqlite:///{tmp_path}/audit.db", tmp_path, algorithm)
    log.append_many([AuditEvent(actor=f"u{i % 3}", operation="consult", outcome="allowed", purpose="case:A1",
                                unit="U1", records=[f"M{i}"], query="/api/persons") for i in range(n)])  # fmt: skip
    if seal:
        log.seal()
    return log


@pytest.mark.parametrize("column,value", [("actor", "'intruder'"), ("body", "replace(body, 'M', 'N')"),
                                          ("records", "'[\"M999\"]'"), ("unit", "'U9'"), ("unit", "null"),
                                          ("outcome", "'refused'"), ("purpose", "'case:B'"),
                                          ("time", "'2020-01-01T00:00:00.000000Z'")])  # fmt: skip
@pytest.mark.parametrize("seq", [1, 17, 30])
def test_editing_any_row_fails_verification_at_that_row(tmp_path, column, value, seq):
    log = _log(tmp_path)
    assert log.verify().ok
    with log.engine.begin() as c:
        c.execute(sa.text(f"update audit_events set {column} = {value} where seq = {seq}"))
    v = log.verify()
    assert not v.ok and v.first_broken == seq, v  # every column is covered: a copy column too


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
    log = _log(tmp_path, n=25, seal=False)
    head = log.seal()
    assert head["size"] == 25 and log.verify().seals_checked == 1
    p = log.inclusion(9)
    ok = merkle.verify_inclusion(bytes.fromhex(p["leaf"]), p["index"], p["tree_size"],
                                 [bytes.fromhex(x) for x in p["proof"]], bytes.fromhex(p["root"]))  # fmt: skip
    assert ok
    with log.engine.begin() as c:  # a forged head: its root's first byte changed (a root already starting 00 is one in 256)
        c.execute(sa.text("update audit_heads set root = (case when substr(root, 1, 2) = '00' then 'ff' else '00' end) || substr(root, 3)"))
    assert not log.verify().ok


def test_sm2_signed_heads(tmp_path):
    log = _log(tmp_path, n=5, algorithm="sm2-sm3", seal=False)
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
def test_audit_log_on_postgresql(tmp_path, monkeypatch, audit_pg):
    from zhijing.access.audit import store

    url, eng = audit_pg
    monkeypatch.setattr(store, "CHUNK", 8)  # several batches and tasks, a seal inside a batch
    monkeypatch.setattr(store, "TASK", 16)
    log = _log(tmp_path, url=url, n=45)
    log.append(AuditEvent(actor="u", operation="consult", outcome="allowed"))
    v = log.verify()
    assert v.ok and v.entries == 46 and v.seals_checked == 1
    with log.engine.begin() as c:
        c.execute(sa.text("update audit_events set actor = 'x' where seq = 33"))
    assert log.verify().first_broken == 33
    with log.engine.begin() as c:
        c.execute(sa.text("delete from audit_events where seq = 20"))
    v = log.verify()
    assert (v.ok, v.entries, v.first_broken, v.reason) == _reference_verify(log) == (False, 19, 20, "missing or reordered entry")
    with eng.begin() as c:
        c.execute(sa.text("drop table if exists audit_events, audit_heads, audit_meta, audit_commit"))


@settings(max_examples=5, deadline=None)
@given(st.integers(min_value=2, max_value=40))
def test_verify_counts_every_entry(n):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        assert _log(Path(d), n=n).verify().entries == n


# --- the batched, parallel verifier agrees with the chain walk as first written -----------------------
def _reference_verify(log: AuditLog) -> tuple:
    """verify() as first written: one row at a time, columns through json.loads, every seal's root
    over all its leaves, then the commit head (a cut tail). The fast verifier must give the same
    answer on any tampering."""
    import json

    from zhijing.access.audit.heads import message
    from zhijing.access.audit.signing import SIGNERS
    from zhijing.access.audit.store import heads

    with log.engine.connect() as c:
        start, prev = log._checkpoint_start(c), log._checkpoint_hash(c)
        rows = c.execute(sa.text("select seq, body, prev_hash, hash, actor, unit, operation, outcome, purpose, records, time "
                                 "from audit_events where seq > :s order by seq"), {"s": start}).all()  # fmt: skip
        hs = c.execute(sa.select(heads).order_by(heads.c.id)).all()
    expected, n = start + 1, 0
    for seq, body, p, h, *cols in rows:
        if seq != expected:
            return False, n, expected, "missing or reordered entry"
        if p != prev or hashlib.sha256(bytes.fromhex(p) + body.encode()).hexdigest() != h:
            return False, n, seq, "hash chain broken"
        b = json.loads(body)
        b["records"] = json.dumps(b["records"], ensure_ascii=False, separators=(",", ":"))
        if [b.get(k) for k in ("actor", "unit", "operation", "outcome", "purpose", "records", "time")] != cols:
            return False, n, seq, "columns differ from the signed body"
        prev, expected, n = h, expected + 1, n + 1
    leaves = [merkle.leaf_hash(bytes.fromhex(r[3])) for r in rows]
    for h in hs:
        if not SIGNERS[h.algorithm].verify(h.public_key, message(h), h.signature):
            return False, n, h.first_seq, f"bad signature on {h.kind} head {h.id}"
        off = h.first_seq - start - 1
        if h.kind == "seal" and off >= 0 and merkle.root(leaves[off : off + h.size]) != bytes.fromhex(h.root):
            return False, n, h.first_seq, f"seal {h.id} does not match the entries it covers"
    with log.engine.connect() as c:  # every committed entry is signed: a commit head past the last is a cut tail
        signed = c.execute(sa.text("select seq from audit_commit")).scalar()
    if signed is not None and signed > start + n:
        return False, n, None, f"the commit head covers {signed - start - n:,} entries past the database's last"
    return True, n, None, None


_TAMPER = {
    "actor": "update audit_events set actor = 'intruder' where seq = {s}",
    "purpose": "update audit_events set purpose = null where seq = {s}",
    "body": "update audit_events set body = replace(body, 'M', 'N') where seq = {s}",
    "bad json": "update audit_events set body = 'not json' where seq = {s}",
    "prev": "update audit_events set prev_hash = '{z}' where seq = {s}",
    "hash": "update audit_events set hash = '{z}' where seq = {s}",
    "hash upper": "update audit_events set hash = upper(hash) where seq = {s}",
    "hash and next prev": "update audit_events set hash = 'zz' where seq = {s}; update audit_events set prev_hash = 'zz' where seq = {s} + 1",
    "delete": "delete from audit_events where seq = {s}",
    "delete tail": "delete from audit_events where seq >= {s}",
    "swap": "update audit_events set seq = -1 where seq = {s}; update audit_events set seq = {s} where seq = {s} + 1; "
            "update audit_events set seq = {s} + 1 where seq = -1",
}  # fmt: skip


def _sealed_log(d, sizes: list[int]) -> AuditLog:
    log = AuditLog(f"sqlite:///{d}/audit.db", d)
    for k, size in enumerate(sizes):
        log.append_many([AuditEvent(actor=f"u{i % 3}", operation="consult", outcome="allowed",
                                    purpose=None if i % 5 == 0 else "case:A1", records=[f"M{i}"]) for i in range(size)])  # fmt: skip
        if k % 2 == 0:
            log.seal()
    return log


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=23), min_size=1, max_size=5),
       st.lists(st.tuples(st.sampled_from(sorted(_TAMPER)), st.integers(min_value=1, max_value=120)), max_size=2))  # fmt: skip
@example([1, 15], [("delete", 16)])  # the last committed entry deleted: the commit head names it (CI, stop 25)
def test_batched_verify_matches_the_row_by_row_walk(sizes, edits):
    """Small batches (4 entries) and tasks (8) so every boundary is crossed: a break on a batch or
    task edge, two breaks (the first wins), seals ending inside a batch."""
    import tempfile
    from pathlib import Path

    from zhijing.access.audit import store

    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        mp.setattr(store, "CHUNK", 4)
        mp.setattr(store, "TASK", 8)
        log = _sealed_log(Path(d), sizes)
        with log.engine.begin() as c:
            for kind, s in edits:
                for stmt in _TAMPER[kind].format(s=s, z="0" * 64).split("; "):
                    c.execute(sa.text(stmt))
        v = log.verify(workers=1)
        assert (v.ok, v.entries, v.first_broken, v.reason) == _reference_verify(log)


def test_parallel_verify_in_worker_processes(tmp_path, monkeypatch):
    """The same answers from two worker processes, tasks checked out of order by the pool."""
    from zhijing.access.audit import store

    monkeypatch.setattr(store, "CHUNK", 8)
    monkeypatch.setattr(store, "TASK", 16)
    log = _sealed_log(tmp_path, [37, 27, 13, 40])  # seals at 37 and 77 (inside a batch), 117 entries
    v = log.verify(workers=2)
    assert v.ok and v.entries == 117 and v.seals_checked == 2 and v.tail == 0  # the last 40 unsealed, signed by their commit
    with log.engine.begin() as c:  # a forged seal, validly signed: the root must not match
        bad = log._sign_head("seal", 1, 77, merkle.leaf_hash(b"forged"), "0" * 64)
        c.execute(sa.insert(store.heads).values(**bad))
    v = log.verify(workers=2)
    assert not v.ok and v.reason.startswith("seal 3 does not match")
    with log.engine.begin() as c:
        c.execute(sa.text("delete from audit_heads where id = 3"))
        c.execute(sa.text("update audit_events set outcome = 'refused' where seq = 100"))  # task 7
        c.execute(sa.text("delete from audit_events where seq = 49"))  # task 4, first of its batch
    v = log.verify(workers=2)
    assert (v.ok, v.first_broken, v.reason) == (False, 49, "missing or reordered entry")
    assert (v.entries, v.first_broken, v.reason) == _reference_verify(log)[1:]


def test_a_far_away_seq_is_a_gap(tmp_path):
    """The walk covers as many seqs as there are entries: a row moved far away leaves a gap."""
    log = _log(tmp_path, n=5)
    with log.engine.begin() as c:
        c.execute(sa.text("update audit_events set seq = 1000000000000 where seq = 3"))
    v = log.verify()
    assert (v.ok, v.entries, v.first_broken, v.reason) == (False, 2, 3, "missing or reordered entry")


def test_a_signed_seal_naming_another_last_entry_is_reported(tmp_path):
    from zhijing.access.audit.store import heads

    log = _log(tmp_path, n=8, seal=False)
    good = log.seal()
    forged = log._sign_head("seal", good["first_seq"], good["size"], bytes.fromhex(good["root"]), "ab" * 32)
    with log.engine.begin() as c:  # right root, valid signature, wrong chain head
        c.execute(sa.insert(heads).values(**forged))
    v = log.verify()
    assert not v.ok and v.first_broken == good["first_seq"] + good["size"] - 1 and "last entry" in v.reason


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=13), min_size=2, max_size=5))
def test_seals_carry_the_rfc_consistency_proof_built_from_chunks(sizes):
    """seal() builds each proof from chunk roots and the levels of two chunks (CHUNK = 4 here,
    so proofs cross chunk bounds): it equals the proof over all leaves, and verify checks it."""
    import json
    import tempfile
    from pathlib import Path

    from zhijing.access.audit import store

    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        mp.setattr(store, "CHUNK", 4)
        log = _sealed_log(Path(d), [])
        for k, size in enumerate(sizes):
            log.append_many([AuditEvent(actor="u", operation="consult", outcome="allowed", records=[f"M{k}-{i}"]) for i in range(size)])
            log.seal()
        with log.engine.connect() as c:
            hs = c.execute(sa.select(store.heads).order_by(store.heads.c.id)).all()
            leaves = merkle.leaf_hashes(bytes.fromhex(h) for (h,) in c.execute(sa.text("select hash from audit_events order by seq")))
        for before, h in zip(hs, hs[1:], strict=False):
            assert json.loads(h.consistency) == [p.hex() for p in merkle.consistency_proof(leaves[: h.size], before.size)]
        assert log.verify(workers=1).ok


@pytest.mark.parametrize("private", [6, 11, 65, 67])  # public halves start 09…, 04b…, 40…, 47…
def test_sm2_keys_whose_public_half_starts_with_0_or_4_verify(tmp_path, private):
    """gmssl strips a public key with lstrip("04"): such keys once never verified (1 in 8 of all keys)."""
    path = tmp_path / "sm2.key"
    path.write_text(f"{private:064x}")
    signer = Sm2Signer(path)
    assert signer.public_key[0] in "04" and len(signer.public_key) == 128
    signature = signer.sign(b"head 1")
    assert Sm2Signer.verify(signer.public_key, b"head 1", signature)
    assert Sm2Signer.verify("04" + signer.public_key, b"head 1", signature)  # the uncompressed-point form
    assert not Sm2Signer.verify(signer.public_key, b"head 2", signature)
    other = tmp_path / "other.key"
    other.write_text(f"{private + 1:064x}")
    assert not Sm2Signer.verify(Sm2Signer(other).public_key, b"head 1", signature)


def test_sm2_nonce_is_not_from_the_random_module(tmp_path):
    """gmssl's own nonce comes from random.choice: reseeding random would repeat it and give away the key."""
    signer = Sm2Signer(tmp_path / "sm2.key")
    random.seed(7)
    first = signer.sign(b"same message")
    random.seed(7)
    assert signer.sign(b"same message") != first
