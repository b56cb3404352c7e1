"""The audit log: append-only, hash-chained, sealed by signed Merkle tree heads.

Each event is stored as canonical JSON (``body``) with ``hash = SHA-256(prev_hash ||
body)``; the indexed columns (actor, operation, time...) are copies for queries and are
checked against the body by ``verify``. A seal signs the RFC 6962 root over every entry
hash so far; consistency between seals proves nothing was rewritten in between.
A purge removes old entries but keeps a signed checkpoint of the chain at the boundary.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa

from zhijing.access.audit import merkle
from zhijing.access.audit.signing import SIGNERS

Operation = Literal["collect", "alter", "consult", "disclose", "combine", "erase"]
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
    sa.Column("records", sa.Text),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)  # fmt: skip
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
    sa.Column("public_key", sa.Text, nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
)  # fmt: skip


@dataclass
class AuditEvent:
    """One use of person-level data (EU LED Art. 25 / CJIS shape)."""

    actor: str
    operation: Operation
    outcome: str  # allowed | refused | error
    unit: str | None = None
    purpose: str | None = None
    records: list[str] = field(default_factory=list)
    query: str | None = None
    client: str | None = None
    reason: str | None = None
    time: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))

    def canonical(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def chain_hash(prev: str, body: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev) + body.encode("utf-8")).hexdigest()


@dataclass
class Verification:
    ok: bool
    entries: int
    first_broken: int | None = None
    reason: str | None = None
    seals_checked: int = 0


class AuditLog:
    def __init__(self, url: str, state_dir, algorithm: str = "ed25519"):
        self.engine = sa.create_engine(url, future=True)
        meta.create_all(self.engine)
        self.signer = SIGNERS[algorithm](state_dir)

    # --- writing -------------------------------------------------------------------------
    def append(self, event: AuditEvent) -> int:
        return self.append_many([event])[-1]

    def append_many(self, batch: list[AuditEvent]) -> list[int]:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("LOCK TABLE audit_events IN EXCLUSIVE MODE"))
            last = conn.execute(sa.select(events.c.seq, events.c.hash).order_by(events.c.seq.desc()).limit(1)).first()
            seq, prev = (last.seq, last.hash) if last else (self._checkpoint_start(conn), self._checkpoint_hash(conn))
            rows = []
            for ev in batch:
                seq += 1
                body = ev.canonical()
                h = chain_hash(prev, body)
                rows.append({"seq": seq, "time": ev.time, "actor": ev.actor, "unit": ev.unit, "operation": ev.operation,
                             "purpose": ev.purpose, "outcome": ev.outcome, "records": ",".join(ev.records),
                             "body": body, "prev_hash": prev, "hash": h})  # fmt: skip
                prev = h
            conn.execute(sa.insert(events), rows)
        return [r["seq"] for r in rows]

    def _checkpoint(self, conn):
        return conn.execute(sa.select(heads).where(heads.c.kind == "checkpoint").order_by(heads.c.id.desc()).limit(1)).first()

    def _checkpoint_start(self, conn) -> int:
        cp = self._checkpoint(conn)
        return cp.first_seq + cp.size - 1 if cp else 0

    def _checkpoint_hash(self, conn) -> str:
        cp = self._checkpoint(conn)
        return cp.chain_hash if cp else GENESIS

    # --- sealing and proofs -----------------------------------------------------------------
    def _hashes(self, conn, upto: int | None = None) -> tuple[int, list[bytes]]:
        q = sa.select(events.c.seq, events.c.hash).order_by(events.c.seq)
        if upto is not None:
            q = q.where(events.c.seq <= upto)
        rows = conn.execute(q).all()
        first = rows[0].seq if rows else self._checkpoint_start(conn) + 1
        return first, [merkle.leaf_hash(bytes.fromhex(r.hash)) for r in rows]

    def _sign_head(self, kind: str, first: int, size: int, root: bytes, last_hash: str) -> dict:
        signed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        msg = f"{kind}|{first}|{size}|{root.hex()}|{last_hash}|{signed_at}".encode()
        return {"kind": kind, "first_seq": first, "size": size, "root": root.hex(), "chain_hash": last_hash,
                "signed_at": signed_at, "algorithm": self.signer.algorithm, "public_key": self.signer.public_key,
                "signature": self.signer.sign(msg)}  # fmt: skip

    def seal(self) -> dict | None:
        """Sign the tree head over every entry so far (the periodic seal)."""
        with self.engine.begin() as conn:
            first, leaves = self._hashes(conn)
            if not leaves:
                return None
            last = conn.execute(sa.select(events.c.hash).order_by(events.c.seq.desc()).limit(1)).scalar_one()
            head = self._sign_head("seal", first, len(leaves), merkle.root(leaves), last)
            conn.execute(sa.insert(heads).values(**head))
            return head

    def inclusion(self, seq: int) -> dict:
        """Proof that entry ``seq`` is in the latest seal's tree."""
        with self.engine.connect() as conn:
            head = conn.execute(sa.select(heads).where(heads.c.kind == "seal").order_by(heads.c.id.desc()).limit(1)).first()
            if head is None or not head.first_seq <= seq < head.first_seq + head.size:
                raise KeyError("entry not covered by a seal yet")
            _, leaves = self._hashes(conn, upto=head.first_seq + head.size - 1)
            idx = seq - head.first_seq
            proof = merkle.inclusion_proof(leaves, idx)
            return {"seq": seq, "index": idx, "tree_size": head.size, "root": head.root,
                    "leaf": leaves[idx].hex(), "proof": [p.hex() for p in proof]}  # fmt: skip

    # --- verification --------------------------------------------------------------------------
    def verify(self, batch: int = 200_000) -> Verification:
        """Walk the chain: each hash must commit to its predecessor and its body, seqs must
        be contiguous, each indexed column must equal the body (checked by the database's
        own JSON functions); then check every seal's signature and root."""
        with self.engine.connect() as conn:
            prev, expected = self._checkpoint_hash(conn), self._checkpoint_start(conn) + 1
            n, last_seq, broken = 0, expected - 1, None
            sha = hashlib.sha256
            while broken is None:
                rows = conn.execute(sa.select(events.c.seq, events.c.body, events.c.prev_hash, events.c.hash)
                                    .where(events.c.seq > last_seq).order_by(events.c.seq).limit(batch)).all()  # fmt: skip
                if not rows:
                    break
                for seq, body, prev_hash, h in rows:
                    if seq != expected:
                        broken = Verification(False, n, expected, "missing or reordered entry")
                        break
                    if prev_hash != prev or sha(bytes.fromhex(prev) + body.encode("utf-8")).hexdigest() != h:
                        broken = Verification(False, n, seq, "hash chain broken")
                        break
                    prev, expected, n = h, expected + 1, n + 1
                last_seq = rows[-1].seq
            mismatch = self._first_column_mismatch(conn)
            if mismatch is not None and (broken is None or mismatch < broken.first_broken):
                return Verification(False, mismatch - self._checkpoint_start(conn) - 1, mismatch,
                                    "columns differ from the signed body")  # fmt: skip
            if broken is not None:
                return broken
            seals = self._verify_heads(conn)
            if isinstance(seals, Verification):
                seals.entries = n
                return seals
            return Verification(True, n, seals_checked=seals)

    def _first_column_mismatch(self, conn) -> int | None:
        """The first entry whose indexed columns differ from its body, in one query."""
        if conn.dialect.name == "postgresql":
            def field(k):
                return sa.cast(events.c.body, sa.JSON)[k].as_string()
        else:
            def field(k):
                return sa.func.json_extract(events.c.body, f"$.{k}")
        differs = sa.or_(*[field(k).is_distinct_from(events.c[k]) for k in ("actor", "operation", "outcome", "purpose", "time")])
        return conn.execute(sa.select(sa.func.min(events.c.seq)).where(differs)).scalar()

    def _verify_heads(self, conn) -> int | Verification:
        hs = conn.execute(sa.select(heads).order_by(heads.c.id)).all()
        first, leaves = self._hashes(conn)
        checked = 0
        for h in hs:
            msg = f"{h.kind}|{h.first_seq}|{h.size}|{h.root}|{h.chain_hash}|{h.signed_at}".encode()
            if not SIGNERS[h.algorithm].verify(h.public_key, msg, h.signature):
                return Verification(False, 0, h.first_seq, f"bad signature on {h.kind} head {h.id}")
            if h.kind == "seal" and h.first_seq >= first:
                off = h.first_seq - first
                if merkle.root(leaves[off : off + h.size]) != bytes.fromhex(h.root):
                    return Verification(False, 0, h.first_seq, f"seal {h.id} does not match the entries it covers")
            checked += 1
        return checked

    # --- retention -----------------------------------------------------------------------------
    def purge_before(self, cutoff_iso: str, actor: str) -> int:
        """Remove entries older than ``cutoff_iso``; keep a signed checkpoint of the chain
        at the boundary so the rest still verifies; the purge itself is audited."""
        with self.engine.begin() as conn:
            last = conn.execute(sa.select(events.c.seq, events.c.hash).where(events.c.time < cutoff_iso)
                                .order_by(events.c.seq.desc()).limit(1)).first()  # fmt: skip
            if last is None:
                return 0
            start = self._checkpoint_start(conn)
            size = last.seq - start
            head = self._sign_head("checkpoint", start + 1, size, merkle.EMPTY, last.hash)
            conn.execute(sa.insert(heads).values(**head))
            conn.execute(sa.delete(heads).where(heads.c.kind == "seal", heads.c.first_seq + heads.c.size - 1 <= last.seq))
            removed = conn.execute(sa.delete(events).where(events.c.seq <= last.seq)).rowcount
        self.append(AuditEvent(actor=actor, operation="erase", outcome="allowed", query=f"audit purge before {cutoff_iso}",
                               reason=f"{removed} audit entries past retention"))  # fmt: skip
        return removed

    def events(self, limit: int = 200, actor: str | None = None) -> list[dict]:
        q = sa.select(events.c.seq, events.c.body).order_by(events.c.seq.desc()).limit(limit)
        if actor:
            q = q.where(events.c.actor == actor)
        with self.engine.connect() as conn:
            return [{"seq": r.seq, **json.loads(r.body)} for r in conn.execute(q)]

    def all_events(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [{"seq": r.seq, **json.loads(r.body)} for r in conn.execute(sa.select(events.c.seq, events.c.body).order_by(events.c.seq))]


_logs: dict[str, AuditLog] = {}


def log_for(settings) -> AuditLog:
    url = settings.sqlalchemy_url("audit")
    if url not in _logs:
        _logs[url] = AuditLog(url, settings.state_dir)
    return _logs[url]


def append(event: AuditEvent, settings=None) -> int:
    """Append one event to the configured audit log (the hook other packages call)."""
    from zhijing.config import get_settings

    return log_for(settings or get_settings()).append(event)
