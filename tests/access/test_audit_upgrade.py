"""A format-1 audit database (records as a comma list, unchained heads, the key in the state
folder, no witness) is upgraded in place on first open: no entry hash changes, the copy
columns are rewritten from the hashed bodies, the old heads are witnessed, the key is moved
under keys/ with its public half beside it, and new heads chain onto the old ones."""

from __future__ import annotations

import sqlalchemy as sa
from nacl.signing import SigningKey

from zhijing.access.audit import merkle
from zhijing.access.audit.store import GENESIS, AuditEvent, chain_hash, log_for
from zhijing.config import Settings

OLD = [
    "create table audit_events (seq integer primary key, time varchar(32) not null, actor varchar(64) not null, "
    "unit varchar(32), operation varchar(16) not null, purpose varchar(96), outcome varchar(16) not null, records text, "
    "body text not null, prev_hash varchar(64) not null, hash varchar(64) not null)",
    "create table audit_heads (id integer primary key autoincrement, kind varchar(16) not null, first_seq bigint not null, "
    "size bigint not null, root varchar(64) not null, chain_hash varchar(64) not null, signed_at varchar(32) not null, "
    "algorithm varchar(16) not null, public_key text not null, signature text not null)",
]  # fmt: skip


def _format_1(s: Settings, n: int = 10) -> str:
    """An audit database as the previous version wrote it; returns its public key."""
    s.state_dir.mkdir(parents=True)
    key = SigningKey.generate()
    (s.state_dir / "audit_ed25519.key").write_bytes(bytes(key))
    eng = sa.create_engine(s.sqlalchemy_url("audit"))
    prev, hashes = GENESIS, []
    with eng.begin() as c:
        for ddl in OLD:
            c.execute(sa.text(ddl))
        for i in range(1, n + 1):
            ev = AuditEvent(actor="u1", operation="consult", outcome="allowed", unit="330203", purpose="case:A1",
                            records=[f"PM{i}", f"PX{i}"], time=f"2026-11-01T00:00:{i:02d}.000000Z")  # fmt: skip
            body = ev.canonical()
            prev = chain_hash(prev, body)
            hashes.append(prev)
            c.execute(sa.text("insert into audit_events values (:s, :t, 'u1', :u, 'consult', 'case:A1', 'allowed', :r, :b, :p, :h)"),
                      {"s": i, "t": ev.time, "u": "330203" if i != 4 else "TAMPERED", "r": ",".join(ev.records), "b": body,
                       "p": GENESIS if i == 1 else hashes[-2], "h": prev})  # fmt: skip
        root = merkle.root(merkle.leaf_hashes([bytes.fromhex(h) for h in hashes])).hex()
        signed_at = "2026-11-01T00:10:00Z"
        sig = key.sign(f"seal|1|{n}|{root}|{prev}|{signed_at}".encode()).signature.hex()
        c.execute(sa.text("insert into audit_heads (kind, first_seq, size, root, chain_hash, signed_at, algorithm, public_key, "
                          "signature) values ('seal', 1, :n, :r, :c, :t, 'ed25519', :k, :g)"),
                  {"n": n, "r": root, "c": prev, "t": signed_at, "k": bytes(key.verify_key).hex(), "g": sig})  # fmt: skip
    eng.dispose()
    return bytes(key.verify_key).hex()


def test_a_format_1_database_is_upgraded_in_place(tmp_path):
    s = Settings(home=tmp_path)
    public = _format_1(s)
    log = log_for(s)
    assert not (s.state_dir / "audit_ed25519.key").exists()  # moved under keys/, 0600
    assert (tmp_path / "keys" / "audit_signing.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys" / "audit_signing.pub").read_text().strip() == public
    assert len(log.trust.witness_file.read_text().splitlines()) == 1  # the old head, witnessed
    with log.engine.connect() as c:
        assert c.execute(sa.text("select records, unit from audit_events where seq = 4")).one() == ('["PM4","PX4"]', "330203")
    v = log.verify()
    assert v.ok and v.entries == 10 and v.seals_checked == 1, v
    log.append(AuditEvent(actor="u2", operation="consult", outcome="allowed", records=["PM11"]))
    head = log.seal()
    assert (head["version"], head["prev_size"]) == (2, 10)  # the new head chains onto the old one
    assert log.verify().ok


def test_an_old_head_deleted_after_the_upgrade_is_found_by_the_witness(tmp_path):
    s = Settings(home=tmp_path)
    _format_1(s)
    log = log_for(s)
    with log.engine.begin() as c:
        c.execute(sa.text("delete from audit_heads"))
    v = log.verify()
    assert not v.ok and v.missing_heads == 1
