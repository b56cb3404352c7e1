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
import multiprocessing
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
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
        # the fields as they are (not dataclasses.asdict, whose deep copy was 3/4 of append time)
        return json.dumps({k: getattr(self, k) for k in _FIELDS}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_FIELDS = tuple(f.name for f in fields(AuditEvent))


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
    def _hashes(self, conn, upto: int | None = None, since: int | None = None) -> tuple[int, list[bytes]]:
        q = sa.select(events.c.seq, events.c.hash).order_by(events.c.seq)
        if upto is not None:
            q = q.where(events.c.seq <= upto)
        if since is not None:
            q = q.where(events.c.seq >= since)
        rows = conn.execute(q).all()
        first = rows[0].seq if rows else self._checkpoint_start(conn) + 1
        return first, merkle.leaf_hashes(map(bytes.fromhex, [r.hash for r in rows]))

    def _sign_head(self, kind: str, first: int, size: int, root: bytes, last_hash: str) -> dict:
        signed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        msg = f"{kind}|{first}|{size}|{root.hex()}|{last_hash}|{signed_at}".encode()
        return {"kind": kind, "first_seq": first, "size": size, "root": root.hex(), "chain_hash": last_hash,
                "signed_at": signed_at, "algorithm": self.signer.algorithm, "public_key": self.signer.public_key,
                "signature": self.signer.sign(msg)}  # fmt: skip

    def seal(self) -> dict | None:
        """Sign the tree head over every entry so far (the periodic seal). The root is built
        CHUNK leaves at a time: whole chunks' roots compose into the RFC 6962 root."""
        with self.engine.begin() as conn:
            q = sa.select(events.c.seq, events.c.hash).order_by(events.c.seq).execution_options(yield_per=CHUNK)
            first, size, last, roots = None, 0, None, []
            for part in conn.execute(q).partitions(CHUNK):
                first = part[0].seq if first is None else first
                size, last = size + len(part), part[-1].hash
                roots.append(merkle.root(merkle.leaf_hashes(map(bytes.fromhex, [r.hash for r in part]))))
            if not size:
                return None
            head = self._sign_head("seal", first, size, merkle.root(roots), last)
            conn.execute(sa.insert(heads).values(**head))
            return head

    def inclusion(self, seq: int) -> dict:
        """Proof that entry ``seq`` is in the latest seal's tree, with everything needed to
        check it without trusting the server: the entry (body, prev_hash, hash) and the
        signed head the path leads to."""
        with self.engine.connect() as conn:
            head = conn.execute(sa.select(heads).where(heads.c.kind == "seal").order_by(heads.c.id.desc()).limit(1)).first()
            if head is None or not head.first_seq <= seq < head.first_seq + head.size:
                raise KeyError("entry not covered by a seal yet")
            _, leaves = self._hashes(conn, upto=head.first_seq + head.size - 1)
            entry = conn.execute(sa.select(events.c.body, events.c.prev_hash, events.c.hash).where(events.c.seq == seq)).first()
        idx = seq - head.first_seq
        proof = merkle.inclusion_proof(leaves, idx)
        signed = {k: v for k, v in head._mapping.items() if k != "id"}
        return {"seq": seq, "index": idx, "tree_size": head.size, "root": head.root, "leaf": leaves[idx].hex(),
                "proof": [p.hex() for p in proof], "entry": dict(entry._mapping), "head": signed}  # fmt: skip

    # --- verification --------------------------------------------------------------------------
    def verify(self, workers: int = 2) -> Verification:
        """Check every entry after the last checkpoint: seqs contiguous, each hash commits to
        its stored predecessor and its body, each indexed column equals the body (the
        database's own JSON functions); then every head's signature and every seal's root.

        Every row stores ``prev_hash``, so rows can be checked independently: the range is cut
        into tasks run by ``workers`` processes on a SQLite file (see ``_verify_range``)."""
        with self.engine.connect() as conn:
            start, prev = self._checkpoint_start(conn), self._checkpoint_hash(conn)
            # entries start+1 .. last, if none is missing (else the walk finds the first gap below last)
            last = start + conn.execute(sa.select(sa.func.count()).where(events.c.seq > start)).scalar()
            hs = conn.execute(sa.select(heads).order_by(heads.c.id)).all()
            hash_at = dict(conn.execute(sa.select(events.c.seq, events.c.hash).join(  # the entry each seal names as its last
                heads, sa.and_(heads.c.kind == "seal", events.c.seq == heads.c.first_seq + heads.c.size - 1))).all())
        first = start + 1  # a seal made after a purge starts here; older ones straddle the purge
        ends = sorted({h.first_seq + h.size - 1 for h in hs if h.kind == "seal" and h.first_seq == first})
        broken, roots, partial = None, [], {}
        for r in self._run_tasks(start, last, prev, ends, workers):
            roots += r["roots"]
            partial.update(r["partial"])
            if r["broken"]:
                broken = r["broken"]
                break
        if broken:
            seq, reason = broken
            return Verification(False, seq - first, seq, reason)

        def seal_root(h) -> bytes | None:  # from the chunk roots: RFC 6962 splits fall on chunk bounds
            end, (q, rest) = h.first_seq + h.size - 1, divmod(h.size, CHUNK)
            if end > last:
                return None
            if h.first_seq == first:
                return merkle.root(roots[:q] + ([partial[end]] if rest else []))
            with self.engine.connect() as conn:  # a seal that starts elsewhere: not made by seal()
                return merkle.root(self._hashes(conn, end, h.first_seq)[1])

        for h in hs:
            msg = f"{h.kind}|{h.first_seq}|{h.size}|{h.root}|{h.chain_hash}|{h.signed_at}".encode()
            if not SIGNERS[h.algorithm].verify(h.public_key, msg, h.signature):
                return Verification(False, last - start, h.first_seq, f"bad signature on {h.kind} head {h.id}")
            if h.kind == "seal" and h.first_seq >= first and seal_root(h) != bytes.fromhex(h.root):
                return Verification(False, last - start, h.first_seq, f"seal {h.id} does not match the entries it covers")
            if h.kind == "seal" and h.first_seq >= first and hash_at.get(h.first_seq + h.size - 1) != h.chain_hash:
                return Verification(False, last - start, h.first_seq + h.size - 1,
                                    f"seal {h.id} names another last entry than the chain holds")  # fmt: skip
        return Verification(True, last - start, seals_checked=len(hs))

    def _run_tasks(self, start: int, last: int, prev: str, ends: list[int], workers: int):
        """Results of ``_verify_range`` over (start, last] in order, in tasks of TASK entries."""
        tasks = [(lo, min(lo + TASK, last)) for lo in range(start, last, TASK)]
        path, dialect = self.engine.url.database, self.engine.dialect.name
        want_roots = bool(ends)
        if len(tasks) < 2 or workers < 2 or dialect != "sqlite" or path in (None, "", ":memory:"):
            raw = self.engine.raw_connection()
            try:
                for lo, hi in tasks:
                    yield _verify_range(raw.driver_connection, dialect, lo, hi, prev if lo == start else None, ends, want_roots, CHUNK)
            finally:
                raw.close()
            return
        ctx = multiprocessing.get_context("spawn")  # no fork: the parent may be a threaded server
        pool = ProcessPoolExecutor(min(workers, len(tasks)), mp_context=ctx)
        try:
            futures = [pool.submit(_verify_range, path, dialect, lo, hi, prev if lo == start else None, ends, want_roots, CHUNK)
                       for lo, hi in tasks]  # fmt: skip
            for f in futures:
                yield f.result()
        finally:  # also when the caller stops at a broken entry: drop the tasks not started
            pool.shutdown(cancel_futures=True)

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


# --- verification of one range of entries (module level so worker processes can run it) ----------
CHUNK = 1 << 16  # entries per batch; batches start at the first entry, so their Merkle roots compose
TASK = 8 * CHUNK  # entries per task handed to a worker process
INDEXED = ("actor", "operation", "outcome", "purpose", "time")
_MISSING, _BROKEN, _COLUMNS = "missing or reordered entry", "hash chain broken", "columns differ from the signed body"


def _sql(dialect: str) -> tuple[str, str, str]:
    """Entries (lo, hi] in order (seq, prev_hash, body as UTF-8 bytes, hash); the first of them
    whose indexed columns differ from its body, by the database's own JSON functions; the same
    where a body that is not JSON at all counts as differing (SQLite's json_extract raises on it)."""
    if dialect == "postgresql":
        field, body, ph = (lambda k: f"(body::json ->> '{k}')"), "convert_to(body, 'UTF8')", "%s"
        differs = " or ".join(f"{field(k)} is distinct from {k}" for k in INDEXED)
    else:
        field, body, ph = (lambda k: f"json_extract(body, '$.{k}')"), "cast(body as blob)", "?"
        differs = " or ".join(f"{field(k)} is not {k}" for k in INDEXED)
    where = f"from audit_events where seq > {ph} and seq <= {ph}"
    return (f"select seq, prev_hash, {body}, hash {where} order by seq", f"select min(seq) {where} and ({differs})",
            f"select min(seq) {where} and (case when json_valid(body) then {differs} else 1 end)")


def _verify_range(conn, dialect: str, lo: int, hi: int, prev: str | None, ends: list[int], want_roots: bool,
                  chunk: int) -> dict:  # fmt: skip
    """Check entries (lo, hi] and stop at the first bad one. ``conn`` is a DBAPI connection or a
    SQLite path (opened read-only); ``prev`` is the hash entry ``lo`` must have (None: read it).
    With ``want_roots``, also the Merkle root of each batch of ``chunk`` entries and, for each
    seal end in range, the root of its batch's prefix up to that end.

    A plain loop, one pass per row: measured, it beats batching the same work through map()
    and tuple comparisons, whose several passes over a batch miss the CPU caches."""
    if isinstance(conn, str):
        conn = sqlite3.connect(f"file:{conn}?mode=ro", uri=True)
    cur, (rows_sql, differs_sql, lenient_sql) = conn.cursor(), _sql(dialect)
    try:
        bad_columns = cur.execute(differs_sql, (lo, hi)).fetchone()[0]
    except sqlite3.OperationalError:  # a body that is not JSON: checking validity first costs 20%
        bad_columns = cur.execute(lenient_sql, (lo, hi)).fetchone()[0]
    if prev is None:
        cur.execute(rows_sql, (lo - 1, lo))
        row = cur.fetchone()
        prev = row[3] if row else ""  # entry lo missing: the task before reports it first
    out = {"broken": None, "roots": [], "partial": {}}
    sha, unhex, expected = hashlib.sha256, bytes.fromhex, lo + 1
    for a in range(lo, hi, chunk):
        b = min(a + chunk, hi)
        cur.execute(rows_sql, (a, b))
        digests = []
        for seq, p, body, h in cur:  # streamed: a list of the whole batch would miss the caches
            if seq != expected:
                out["broken"] = (expected, _MISSING)
                return out
            d = sha(unhex(p) + body).digest() if p == prev else None
            if d is None or d.hex() != h:
                out["broken"] = (seq, _BROKEN)
                return out
            if seq == bad_columns:
                out["broken"] = (seq, _COLUMNS)
                return out
            prev, expected = h, expected + 1
            digests.append(d)
        if expected <= b:  # the batch ends early: its tail is missing
            out["broken"] = (expected, _MISSING)
            return out
        if want_roots:
            tree = merkle.levels(merkle.leaf_hashes(digests))
            out["roots"].append(tree[-1][0])
            out["partial"].update({e: merkle.prefix_root(tree, e - a) for e in ends if a < e <= b})
    return out


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
