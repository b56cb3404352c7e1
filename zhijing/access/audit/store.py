"""The audit log: append-only, hash-chained, sealed by signed Merkle tree heads.

Each event is stored as canonical JSON (``body``) with ``hash = SHA-256(prev_hash ||
body)``; every other column of an entry (actor, unit, operation, purpose, outcome, records,
time) is a copy for queries that ``verify`` checks against the body, so no column of an
entry can change without breaking verification. Every transaction that appends entries signs
its last entry (a commit head, ``commits.py``), so no committed entry is ever unsigned. A seal
signs the RFC 6962 root over every entry hash so far and names the previous head; both kinds
of head are also written to witness files, outside the database. Verification trusts only what is outside the database: the pinned
public key and the witness file (``trust.py``). Appends from many threads are group-committed
by one writer (``writer.py``). A purge removes old entries but keeps a signed checkpoint of
the chain at the boundary.

Format 2 (this one) differs from format 1 in the copy columns (``records`` is the JSON
array of the body, ``unit`` is checked too) and the heads (version 2, chained, witnessed);
entry hashes are unchanged, so opening a format-1 database rewrites its copy columns from
the hashed bodies and adopts its heads into a new witness file (``schema.py``).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import sqlalchemy as sa

from zhijing.access.audit import commits, merkle, schema
from zhijing.access.audit import heads as hd
from zhijing.access.audit import witness as wit
from zhijing.access.audit.schema import GENESIS, commit_head, events, heads
from zhijing.access.audit.trust import Trust
from zhijing.access.audit.writer import GroupCommitWriter
from zhijing.errors import ZhijingError

Operation = Literal["collect", "alter", "consult", "disclose", "combine", "erase"]


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
        return _CANONICAL({k: getattr(self, k) for k in _FIELDS})


_FIELDS = tuple(f.name for f in fields(AuditEvent))
# json.dumps with these options, without building an encoder per call (a third of the JSON time of an append)
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
_INSERT = ("insert into audit_events (seq, time, actor, unit, operation, purpose, outcome, records, body, prev_hash, hash) "
           "values ({ph})")  # fmt: skip
_SIGN_COMMIT = ("insert into audit_commit (id, seq, chain_hash, signed_at, algorithm, signature) values (1, {ph}) "
                "on conflict (id) do update set seq = excluded.seq, chain_hash = excluded.chain_hash, "
                "signed_at = excluded.signed_at, algorithm = excluded.algorithm, signature = excluded.signature")  # fmt: skip


def chain_hash(prev: str, body: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev) + body.encode("utf-8")).hexdigest()


def records_column(records: list[str]) -> str:
    """The ``records`` copy column: the body's JSON array exactly as the database's JSON
    functions render it, so verify compares the two in SQL."""
    return _CANONICAL(records)  # a list: sorting keys changes nothing


@dataclass
class Verification:
    ok: bool
    entries: int
    first_broken: int | None = None
    reason: str | None = None
    seals_checked: int = 0
    tail: int = 0  # entries past the last signed head (seal or commit head): forged, or written by an old version
    missing_heads: int = 0  # heads a successor or the witness names that the database lacks
    unwitnessed_heads: int = 0  # database heads the witness file lacks or holds differently
    truncated: int = 0  # entries witnessed heads cover that the database no longer holds
    problems: list[str] = field(default_factory=list)


def _engine(url: str) -> sa.Engine:
    """SQLite: WAL, fsync at every commit (durable), and write transactions that take the
    write lock at BEGIN (no lock upgrade failing between processes); reads stay unlocked."""
    engine = sa.create_engine(url)
    if engine.dialect.name != "sqlite":
        return engine

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" below opens transactions
        for pragma in ("journal_mode=wal", "synchronous=full", "busy_timeout=30000"):
            dbapi_conn.execute(f"pragma {pragma}")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("begin immediate" if conn.get_execution_options().get("audit_write") else "begin")

    return engine


class AuditLog:
    def __init__(self, url: str, state_dir, algorithm: str = "ed25519", *, trust: Trust | None = None):
        self.trust = trust or Trust.under(Path(state_dir), algorithm)
        self.engine = _engine(url)
        self._signer = None
        with self._write() as conn:
            schema.upgrade(conn, self.trust.witness_file)
        self.trust.publish_key()
        self._writer = GroupCommitWriter(self.append_many, self.trust.max_batch)

    @property
    def signer(self):
        if self._signer is None:
            self._signer = self.trust.signer()
        return self._signer

    @contextmanager
    def _write(self):
        """A write transaction, serialised with every other writer of this log (any process)."""
        with self.engine.connect() as conn:
            conn.execution_options(audit_write=True)
            with conn.begin():
                yield conn

    # --- writing -------------------------------------------------------------------------
    def append(self, event: AuditEvent) -> int:
        """Append through the group-commit writer; returns once the event is durable (raises if
        it could not be written: the caller must fail closed)."""
        return self._writer.write(event)

    async def append_async(self, event: AuditEvent) -> int:
        """``append`` for the event loop: waits for durability without blocking the loop."""
        return await self._writer.write_async(event)

    def append_many(self, batch: list[AuditEvent]) -> list[int]:
        """Append ``batch`` in one durable transaction, in order, with the commit head that signs
        its last entry (the writer's and bulk loads' path); then tell the witness that head."""
        if not batch:
            return []
        if self.engine.dialect.name == "postgresql":
            rows, head = self._append_pg(batch)
        else:
            with self._write() as conn:
                last = conn.execute(sa.select(events.c.seq, events.c.hash).order_by(events.c.seq.desc()).limit(1)).first()
                rows = self._rows(batch, *(last or (self._checkpoint_start(conn), self._checkpoint_hash(conn))))
                # the driver's executemany: SQLAlchemy's per-row parameter handling was most of a batch's CPU
                conn.exec_driver_sql(_INSERT.format(ph=", ".join(["?"] * 11)), rows)
                head = self._commit_head(rows)
                conn.exec_driver_sql(_SIGN_COMMIT.format(ph=", ".join(["?"] * 5)), tuple(head.values()))
        commits.witness(self.trust.commit_witness_file, head)
        return [r[0] for r in rows]

    def _commit_head(self, rows: list[tuple]) -> dict:
        return commits.sign(self.signer, rows[-1][0], rows[-1][-1])

    def _append_pg(self, batch: list[AuditEvent]) -> tuple[list[tuple], dict]:
        """PostgreSQL in a pipeline: lock, read the last entry, insert, sign, commit in two round
        trips (one statement at a time took six; under load each cost milliseconds)."""
        raw = self.engine.raw_connection()
        try:
            pg = raw.driver_connection
            with pg.pipeline(), pg.cursor() as cur:
                cur.execute("LOCK TABLE audit_events IN EXCLUSIVE MODE")
                cur.execute("select seq, hash from audit_events order by seq desc limit 1")
                last = cur.fetchone()  # the pipeline is synced here: the lock is held
                if last is None:
                    with self.engine.connect() as conn:  # the first entry ever, or the first after a purge
                        last = (self._checkpoint_start(conn), self._checkpoint_hash(conn))
                rows = self._rows(batch, *last)
                cur.executemany(_INSERT.format(ph=", ".join(["%s"] * 11)), rows)
                head = self._commit_head(rows)
                cur.execute(_SIGN_COMMIT.format(ph=", ".join(["%s"] * 5)), tuple(head.values()))
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()
        return rows, head

    @staticmethod
    def _rows(batch: list[AuditEvent], seq: int, prev: str) -> list[tuple]:
        rows = []
        for ev in batch:
            seq += 1
            body = ev.canonical()
            h = chain_hash(prev, body)
            rows.append((seq, ev.time, ev.actor, ev.unit, ev.operation, ev.purpose, ev.outcome,
                         records_column(ev.records), body, prev, h))  # fmt: skip
            prev = h
        return rows

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

    def _sign_head(self, kind: str, first: int, size: int, root: bytes, last_hash: str, prev=None,
                   proof: list[bytes] | None = None) -> dict:  # fmt: skip
        """A version-2 head naming ``prev`` (the head before it; None for the first)."""
        pf, ps, pr = hd.tree_of(prev) if prev is not None else hd.NO_PREV
        head = {"version": hd.VERSION, "kind": kind, "first_seq": first, "size": size, "root": root.hex(),
                "chain_hash": last_hash, "signed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "prev_first": pf, "prev_size": ps, "prev_root": pr, "algorithm": self.signer.algorithm,
                "public_key": self.signer.public_key,
                "consistency": json.dumps([p.hex() for p in proof]) if proof is not None else None}  # fmt: skip
        head["signature"] = self.signer.sign(hd.message(head))
        return head

    def _last_head(self, conn):
        return conn.execute(sa.select(heads).order_by(heads.c.id.desc()).limit(1)).first()

    def _store_head(self, conn, head: dict) -> None:
        """Insert ``head`` and witness it before the transaction commits (a failed witness
        write leaves no head; a failed commit after it leaves a witnessed head verify reports)."""
        conn.execute(sa.insert(heads).values(**head))
        wit.append(self.trust.witness_file, head)

    def seal(self, attempts: int = 3) -> dict | None:
        """Sign the tree head over every entry so far (the periodic seal), with a consistency
        proof from the previous seal. Entries are read CHUNK at a time, outside the write lock
        (appends go on meanwhile); only the insert of the head takes it, and if another head
        was stored meanwhile (a seal from elsewhere, a purge) the seal is made again. None:
        nothing new since the last head."""
        for _ in range(attempts - 1):
            try:
                return self._seal()
            except _Raced:
                continue
        return self._seal()

    def _seal(self) -> dict | None:
        self.signer  # noqa: B018 - fails before any work when the key is not the pinned one
        with self.engine.connect() as conn:
            prev = self._last_head(conn)
            q = sa.select(events.c.seq, events.c.hash).order_by(events.c.seq).execution_options(yield_per=CHUNK)
            if (end := self._signed_end(conn)) is not None:  # never an entry no commit head signs
                q = q.where(events.c.seq <= end)
            old = prev.size if prev is not None and prev.kind == "seal" else 0
            first, size, last, roots, trees = None, 0, None, [], {}
            for part in conn.execute(q).partitions(CHUNK):
                first = part[0].seq if first is None else first
                tree = merkle.levels(merkle.leaf_hashes(map(bytes.fromhex, [r.hash for r in part])))
                if old and len(roots) == (old - 1) // CHUNK:  # the chunk the previous seal ends in
                    trees[len(roots)] = tree
                trees["last"] = tree
                size, last = size + len(part), part[-1].hash
                roots.append(tree[-1][0])
        if not size or (prev is not None and hd.tree_of(prev)[:2] == (first, size)):
            return None
        trees[len(roots) - 1] = trees.pop("last")
        proof = None
        if prev is not None and prev.kind == "seal" and prev.first_seq == first and prev.size <= size:
            proof = merkle.consistency_proof_by(prev.size, size, _subroots(roots, trees))
        head = self._sign_head("seal", first, size, merkle.root(roots), last, prev, proof)
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("LOCK TABLE audit_heads IN EXCLUSIVE MODE"))
            now = self._last_head(conn)
            if (now.id if now else None) != (prev.id if prev else None):
                raise _Raced("another head was stored meanwhile; seal again")
            self._store_head(conn, head)
        return head

    def _signed_end(self, conn) -> int | None:
        """The last entry the commit head signs, once its signature and entry are checked; None
        for a trail no commit head has signed yet (written by an older version)."""
        row = conn.execute(sa.select(commit_head)).first()
        if row is None:
            return None
        start = self._checkpoint_start(conn)
        at = dict(conn.execute(sa.select(events.c.seq, events.c.hash).where(events.c.seq == row.seq)).all())
        at[start] = self._checkpoint_hash(conn)
        last = conn.execute(sa.select(sa.func.max(events.c.seq))).scalar() or start
        report = hd.HeadReport()
        if not commits.check_one({k: getattr(row, k) for k in commits.FIELDS}, "commit head", self.trust.pinned_key(),
                                 self.trust.algorithm, last, at.get, report):  # fmt: skip
            raise ZhijingError(f"not sealing: {report.problems[0][1]}; run `zhijing audit verify`")
        return row.seq

    def inclusion(self, seq: int) -> dict:
        """Proof that entry ``seq`` is in the latest seal's tree, with everything needed to
        check it without trusting the server: the entry (body, prev_hash, hash) and the
        signed head the path leads to. The key to check the head with is not here: it is the
        pinned one (``pinned_key``)."""
        with self.engine.connect() as conn:
            head = conn.execute(sa.select(heads).where(heads.c.kind == "seal").order_by(heads.c.id.desc()).limit(1)).first()
            if head is None or not head.first_seq <= seq < head.first_seq + head.size:
                raise KeyError("entry not covered by a seal yet")
            _, leaves = self._hashes(conn, upto=head.first_seq + head.size - 1)
            entry = conn.execute(sa.select(events.c.body, events.c.prev_hash, events.c.hash).where(events.c.seq == seq)).first()
        idx = seq - head.first_seq
        proof = merkle.inclusion_proof(leaves, idx)
        signed = {k: v for k, v in head._mapping.items() if k not in ("id", "public_key", "consistency")}
        return {"seq": seq, "index": idx, "tree_size": head.size, "root": head.root, "leaf": leaves[idx].hex(),
                "proof": [p.hex() for p in proof], "entry": dict(entry._mapping), "head": signed}  # fmt: skip

    # --- verification --------------------------------------------------------------------------
    def verify(self, workers: int = 2) -> Verification:
        """Check every entry after the last checkpoint: seqs contiguous, each hash commits to
        its stored predecessor and its body, each copy column equals the body (the database's
        own JSON functions); then every head against the pinned key, its entries, its
        predecessor and the witness files, and the commit head (the database's and the newest
        witnessed) against the entry it signs. Every committed entry is covered by a signed
        head, so an entry past the last (a tail) is a finding.

        Every row stores ``prev_hash``, so rows can be checked independently: the range is cut
        into tasks run by ``workers`` processes on a SQLite file (see ``_verify_range``)."""
        # the witness before the database: it learns a head after its commit, so never one newer than what is read next
        witnessed_commit = commits.newest_witnessed(self.trust.commit_witness_file)
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # one snapshot: appends go on meanwhile
                conn.execution_options(isolation_level="REPEATABLE READ")
            start, prev = self._checkpoint_start(conn), self._checkpoint_hash(conn)
            # entries start+1 .. last, if none is missing (else the walk finds the first gap below last)
            last = start + conn.execute(sa.select(sa.func.count()).where(events.c.seq > start)).scalar()
            hs = conn.execute(sa.select(heads).order_by(heads.c.id)).all()
            hash_at = dict(conn.execute(sa.select(events.c.seq, events.c.hash).join(  # the entry each seal names as its last
                heads, sa.and_(heads.c.kind == "seal", events.c.seq == heads.c.first_seq + heads.c.size - 1))).all())
            sealed = max((h.first_seq + h.size - 1 for h in hs), default=start)
            row = conn.execute(sa.select(commit_head)).first()
            commit = {k: getattr(row, k) for k in commits.FIELDS} if row else None
            signed = [h["seq"] for h in (commit, witnessed_commit) if h]
            hash_at |= dict(conn.execute(sa.select(events.c.seq, events.c.hash).where(events.c.seq.in_(signed))).all())
            hash_at[start] = prev  # a commit head at the checkpoint's boundary
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
            return Verification(False, seq - first, seq, reason, problems=[f"entry {seq}: {reason}"])

        def seal_root(h) -> bytes | None:  # from the chunk roots: RFC 6962 splits fall on chunk bounds
            end, (q, rest) = h.first_seq + h.size - 1, divmod(h.size, CHUNK)
            if end > last:
                return None
            if h.first_seq == first:
                return merkle.root(roots[:q] + ([partial[end]] if rest else []))
            with self.engine.connect() as conn:  # a seal that starts elsewhere: not made by seal()
                return merkle.root(self._hashes(conn, end, h.first_seq)[1])

        report = hd.HeadReport()
        hd.check_signatures(hs, self.trust.pinned_key(), self.trust.algorithm, report)
        for h in hs:
            if h.kind == "seal" and h.first_seq >= first and seal_root(h) != bytes.fromhex(h.root):
                report.add(h.first_seq, f"seal {h.id} does not match the entries it covers")
            elif h.kind == "seal" and h.first_seq >= first and hash_at.get(h.first_seq + h.size - 1) != h.chain_hash:
                report.add(h.first_seq + h.size - 1, f"seal {h.id} names another last entry than the chain holds")
        report.problems.sort(key=lambda p: p[0] is None)  # per-entry findings first, in head order
        hd.check_chain_of_heads(hs, report)
        witnessed = wit.read(self.trust.witness_file)
        if witnessed and {wit.key(w) for w in witnessed} - {wit.key(h) for h in hs}:
            with self.engine.connect() as conn:  # a head witnessed, then committed, since hs was read?
                hs = conn.execute(sa.select(heads).order_by(heads.c.id)).all()
        hd.check_witness(hs, witnessed, last, report)
        pinned = self.trust.pinned_key()
        covered = max(sealed, commits.check(commit, witnessed_commit, pinned, self.trust.algorithm, last, hash_at.get, report))
        tail = last - covered if last > covered else 0
        if tail:
            why = ("no commit head signs them: forged" if commit else
                   "written by a version that signed no commits (`zhijing audit seal` covers them), or forged")  # fmt: skip
            report.add(covered + 1, f"{tail:,} entries past the last signed head ({why})")
        seq, reason = report.problems[0] if report.problems else (None, None)
        return Verification(not report.problems, last - start, seq, reason, seals_checked=len(hs), tail=tail,
                            missing_heads=report.missing, unwitnessed_heads=report.unwitnessed,
                            truncated=report.truncated, problems=[p for _, p in report.problems])  # fmt: skip

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
        """Remove entries older than ``cutoff_iso``; keep a signed checkpoint of the chain at the
        boundary so the rest still verifies (the heads stay: they are small and witnessed); the
        purge itself is audited and sealed."""
        self.signer  # noqa: B018 - fails before the write when the key is not the pinned one
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("LOCK TABLE audit_events, audit_heads IN EXCLUSIVE MODE"))
            last = conn.execute(sa.select(events.c.seq, events.c.hash).where(events.c.time < cutoff_iso)
                                .order_by(events.c.seq.desc()).limit(1)).first()  # fmt: skip
            if last is None:
                return 0
            start = self._checkpoint_start(conn)
            head = self._sign_head("checkpoint", start + 1, last.seq - start, merkle.EMPTY, last.hash, self._last_head(conn))
            self._store_head(conn, head)
            removed = conn.execute(sa.delete(events).where(events.c.seq <= last.seq)).rowcount
        self.append(AuditEvent(actor=actor, operation="erase", outcome="allowed", query=f"audit purge before {cutoff_iso}",
                               reason=f"{removed} audit entries past retention"))  # fmt: skip
        self.seal()
        return removed

    def events(self, limit: int = 200, actor: str | None = None, before: int | None = None, since: str | None = None,
               until: str | None = None, record: str | None = None) -> list[dict]:  # fmt: skip
        """Newest first; ``before`` pages back past a sequence number, ``since``/``until`` bound
        the ISO time, ``record`` keeps the events naming that record (a person's master id)."""
        q = sa.select(events.c.seq, events.c.body).order_by(events.c.seq.desc()).limit(limit)
        if actor:
            q = q.where(events.c.actor == actor)
        if before is not None:
            q = q.where(events.c.seq < before)
        if since:
            q = q.where(events.c.time >= since)
        if until:
            q = q.where(events.c.time <= until)
        if record:
            q = q.where(events.c.records.contains(f'"{record}"', autoescape=True))
        with self.engine.connect() as conn:
            return [{"seq": r.seq, **json.loads(r.body)} for r in conn.execute(q)]

    def all_events(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [{"seq": r.seq, **json.loads(r.body)} for r in conn.execute(sa.select(events.c.seq, events.c.body).order_by(events.c.seq))]


class _Raced(ZhijingError):
    """Another head was stored between reading the entries and storing this seal's head."""


def _subroots(roots: list[bytes], trees: dict[int, list[list[bytes]]]):
    """``subroot(lo, hi)`` for a consistency proof over CHUNK-aligned chunks: a range of a
    chunk or more is its chunks' roots composed (RFC 6962 splits fall on chunk bounds) with
    a prefix of the chunk it ends in; a smaller one lies inside a chunk whose levels are held
    (the chunks the old and the new tree end in: proof nodes smaller than a chunk lie there)."""

    def subroot(lo: int, hi: int) -> bytes:
        if hi - lo >= CHUNK:
            q, r = divmod(hi, CHUNK)
            return merkle.root(roots[lo // CHUNK : q] + ([merkle.prefix_root(trees[q], r)] if r else []))
        c = lo // CHUNK
        return merkle.range_root(trees[c], lo - c * CHUNK, hi - c * CHUNK)

    return subroot


# --- verification of one range of entries (module level so worker processes can run it) ----------
CHUNK = 1 << 16  # entries per batch; batches start at the first entry, so their Merkle roots compose
TASK = 8 * CHUNK  # entries per task handed to a worker process
INDEXED = ("actor", "unit", "operation", "outcome", "purpose", "records", "time")  # every copy column of an entry
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


_logs: dict[tuple, AuditLog] = {}


def log_for(settings) -> AuditLog:
    url, trust = settings.sqlalchemy_url("audit"), Trust.from_settings(settings)
    if (url, trust) not in _logs:
        _logs[(url, trust)] = AuditLog(url, settings.state_dir, trust=trust)
    return _logs[(url, trust)]


def append(event: AuditEvent, settings=None) -> int:
    """Append one event to the configured audit log (the hook other packages call); returns
    once it is durable, raises if it could not be written (fail closed). Many threads may call
    it at once: the log's writer commits their events together."""
    from zhijing.config import get_settings

    return log_for(settings or get_settings()).append(event)


async def append_async(event: AuditEvent, settings=None) -> int:
    """``append`` for async code (the guard's dependency): waits without blocking the loop."""
    from zhijing.config import get_settings

    return await log_for(settings or get_settings()).append_async(event)
