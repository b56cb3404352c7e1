"""The audit tables, and the upgrade of a format-1 database to format 2 in place.

Format 2 keeps every entry hash: the chain is not rewritten (it cannot be without breaking
it). What changes is derived data: the ``records`` and ``unit`` copy columns are rewritten
from each entry's hashed body (so tampering done to them before the upgrade is undone, not
blessed), the heads table gains the columns of version-2 heads, and the heads already made
are written to a new witness file, which from then on holds every head.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from zhijing.access.audit import witness as wit

FORMAT = 2
GENESIS = "0" * 64
meta = sa.MetaData()
events = sa.Table(
    "audit_events", meta,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("time", sa.String(32), nullable=False, index=True),
    sa.Column("actor", sa.String(64), nullable=False, index=True),
    sa.Column("unit", sa.String(32)),
    sa.Column("operation", sa.String(16), nullable=False),
    sa.Column("purpose", sa.String(96)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("records", sa.Text),  # the body's records as a JSON array
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)  # fmt: skip
HEAD_V2 = {  # columns version-2 heads add (a format-1 database gets them by ALTER TABLE)
    "version": "integer not null default 1",
    "prev_first": "bigint",
    "prev_size": "bigint",
    "prev_root": "varchar(64)",
    "consistency": "text",  # RFC 6962 proof from the previous seal of the same tree (JSON list of hex)
}
heads = sa.Table(
    "audit_heads", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # seal | checkpoint
    sa.Column("first_seq", sa.BigInteger, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),  # entries covered: seq first_seq .. first_seq+size-1
    sa.Column("root", sa.String(64), nullable=False),
    sa.Column("chain_hash", sa.String(64), nullable=False),  # hash of the last covered entry
    sa.Column("signed_at", sa.String(32), nullable=False),
    sa.Column("algorithm", sa.String(16), nullable=False),
    sa.Column("public_key", sa.Text, nullable=False),  # informative only: verify uses the pinned key
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("prev_first", sa.BigInteger),
    sa.Column("prev_size", sa.BigInteger),
    sa.Column("prev_root", sa.String(64)),
    sa.Column("consistency", sa.Text),
)  # fmt: skip
commit_head = sa.Table(  # one row: the newest commit head (commits.py)
    "audit_commit", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("chain_hash", sa.String(64), nullable=False),
    sa.Column("signed_at", sa.String(32), nullable=False),
    sa.Column("algorithm", sa.String(16), nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
)  # fmt: skip
info = sa.Table("audit_meta", meta, sa.Column("key", sa.String(32), primary_key=True), sa.Column("value", sa.String(64)))


def upgrade(conn, witness_file: Path) -> None:
    """Bring the database to FORMAT inside the caller's write transaction (so concurrent
    starters upgrade once; on PostgreSQL an advisory lock, as creating tables takes no lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("select pg_advisory_xact_lock(6962)"))
    meta.create_all(conn)
    done = conn.execute(sa.select(info.c.value).where(info.c.key == "format")).scalar()
    if done is not None and int(done) >= FORMAT:
        return
    cols = {c["name"] for c in sa.inspect(conn).get_columns("audit_heads")}
    for name, ddl in HEAD_V2.items():
        if name not in cols:
            conn.execute(sa.text(f"alter table audit_heads add column {name} {ddl}"))
    _rewrite_copies(conn)
    old = conn.execute(sa.select(heads).order_by(heads.c.id)).all()
    if old and wit.read(witness_file) is None:
        for h in old:
            wit.append(witness_file, h)
    conn.execute(sa.delete(info).where(info.c.key == "format"))
    conn.execute(sa.insert(info).values(key="format", value=str(FORMAT)))


def _rewrite_copies(conn, chunk: int = 50_000) -> None:
    """``records`` and ``unit`` from each body (a body that is not JSON is left for verify to report)."""
    after = -1
    while rows := conn.execute(sa.select(events.c.seq, events.c.body).where(events.c.seq > after)
                               .order_by(events.c.seq).limit(chunk)).all():  # fmt: skip
        fixed = []
        for seq, body in rows:
            try:
                b = json.loads(body)
                fixed.append({"s": seq, "r": json.dumps(b.get("records") or [], ensure_ascii=False, separators=(",", ":")),
                              "u": b.get("unit")})  # fmt: skip
            except (ValueError, AttributeError):
                continue
        if fixed:
            conn.execute(sa.text("update audit_events set records = :r, unit = :u where seq = :s"), fixed)
        after = rows[-1].seq

