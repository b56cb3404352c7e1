"""Access overhead per request (policy decision + audit append), bulk append rate, durable
appends/s from many threads at once (the group-commit writer), and full audit verification at
scale, beside peers in the same run: a bare Casbin decision, a plain SQLite insert without
chaining, one transaction per insert of the same row from the same threads, and on the same
audit table a `count(*)`, a plain fetch of every row, and the row-by-row walk that `verify` was
before. ``--appends-only`` runs just the concurrent-append table.

Each verification runs in a fresh child process that reports its wall time, CPU time (its
own and its worker processes') and peak resident memory. The machine may be shared: CPU
seconds show the cost independently of what else runs; wall seconds show what was seen.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench.common import machine, run_child, write
from zhijing.access import policy
from zhijing.access.audit.store import AuditEvent, AuditLog

CHILD = """
import json, resource, sqlite3, time
from pathlib import Path
from zhijing.access.audit import merkle
from zhijing.access.audit.store import AuditLog
t, c = time.perf_counter(), time.process_time()  # imports done: time the work only
{body}
wall = time.perf_counter() - t
ch = resource.getrusage(resource.RUSAGE_CHILDREN)
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, ch.ru_maxrss) / 1024
print(json.dumps(dict(out=out, wall=wall, cpu=time.process_time() - c + ch.ru_utime + ch.ru_stime, peak=peak)))
"""

VERIFY = """
v = AuditLog("sqlite:///{db}", Path("{d}")).verify(workers={workers})
out = [v.ok, v.entries, v.seals_checked]
"""

COUNT = """
out = sqlite3.connect("{db}").execute("select count(*) from audit_events").fetchone()[0]
"""

FETCH = """
cur, out = sqlite3.connect("{db}").execute("select seq, prev_hash, body, hash from audit_events order by seq"), 0
while rows := cur.fetchmany(65536):
    out += len(rows)
"""

# the chain walk of verify() before it was batched: one Python iteration and one SHA-256 per
# row, columns checked against the body by the database's JSON functions, seals by merkle.root
BEFORE = """
import hashlib
con = sqlite3.connect("{db}")
prev, out = "0" * 64, 0
for seq, body, p, h in con.execute("select seq, body, prev_hash, hash from audit_events order by seq"):
    assert seq == out + 1 and p == prev and hashlib.sha256(bytes.fromhex(prev) + body.encode()).hexdigest() == h
    prev, out = h, out + 1
assert con.execute("select min(seq) from audit_events where " + " or ".join(
    f"json_extract(body, '$.{{k}}') is not {{k}}" for k in ("actor", "operation", "outcome", "purpose", "time"))).fetchone()[0] is None
leaves = [merkle.leaf_hash(bytes.fromhex(h)) for (h,) in con.execute("select hash from audit_events order by seq")]
for (size,) in con.execute("select size from audit_heads where kind = 'seal'"):
    merkle.root(leaves[:size])
"""


def child(body: str, **kw) -> dict:
    r = run_child(CHILD.format(body=body.format(**kw)))
    return {"out": r["out"], "wall": r["wall"], "cpu": r["cpu"], "peak": r["peak"]}


def pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100)[int(q) - 1]


LEVELS = (1, 8, 32, 64)
PEER_TABLE = ("create table if not exists peer (id {pk}, time text, actor text, unit text, operation text, purpose text, "
              "outcome text, records text, body text, prev_hash text, hash text)")  # fmt: skip


def _ev(i: int) -> AuditEvent:
    return AuditEvent(actor=f"u{i % 200}", unit="330203", operation="consult", outcome="allowed", purpose="case:A1",
                      records=[f"PM{i:08d}"], query="/api/persons/PM{i:08d}", client="10.0.0.1")  # fmt: skip


def _threads(c: int, seconds: float, work) -> float:
    """``c`` threads calling ``work(thread, i)`` until the deadline; calls per second."""
    counts, start = [0] * c, threading.Barrier(c + 1)

    def run(t: int) -> None:
        start.wait()
        i = 0
        while time.perf_counter() < deadline:
            work(t, i)
            i += 1
        counts[t] = i

    pool = [threading.Thread(target=run, args=(t,)) for t in range(c)]
    for th in pool:
        th.start()
    deadline = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.wait()
    for th in pool:
        th.join()
    return sum(counts) / (time.perf_counter() - t0)


def _peer_connect(url: str):
    """One DBAPI connection for one thread, durable like the audit log's."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=wal", "synchronous=full", "busy_timeout=30000"):
            con.execute(f"pragma {pragma}")
        return con, "begin immediate", "?", "integer primary key"
    import psycopg

    con = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
    return con, "begin", "%s", "bigserial primary key"


def concurrent_appends(url_of, seconds: float) -> list[tuple[int, float, float]]:
    """(threads, durable appends/s through the group-commit writer, peer: one transaction per
    insert of the same row) at each level, a fresh database per level."""
    out = []
    for c in LEVELS:
        d = Path(tempfile.mkdtemp())
        out.append((c, *_level(url_of(d), d, c, seconds)))
    return out


def _level(url: str, d: Path, c: int, seconds: float) -> tuple[float, float]:
    log = AuditLog(url, d)
    ours = _threads(c, seconds, lambda t, i: log.append(_ev(t * 10**7 + i)))
    log.engine.dispose()
    conns = [_peer_connect(url) for _ in range(c)]
    con, begin, ph, pk = conns[0]
    con.execute(PEER_TABLE.format(pk=pk))
    ev = _ev(0)
    row = (ev.time, ev.actor, ev.unit, ev.operation, ev.purpose, ev.outcome, "[]", ev.canonical(), "0" * 64, "0" * 64)
    sql = ("insert into peer (time, actor, unit, operation, purpose, outcome, records, body, prev_hash, hash) "
           f"values ({', '.join([ph] * 10)})")  # fmt: skip

    def peer(t: int, i: int) -> None:
        cn = conns[t][0]
        cn.execute(begin)
        cn.execute(sql, row)
        cn.execute("commit")

    theirs = _threads(c, seconds, peer)
    for cn, *_ in conns:
        cn.close()
    return ours, theirs


def appends_table(seconds: float) -> str:
    lines = ["### Durable audit appends from many threads at once", "",
             f"Machine: {machine()}; `os.fsync` of a small write took ~5 ms here (a virtual disk). Each row: "
             f"{seconds:.0f} s of appends; every append returns only once committed (SQLite WAL with "
             "`synchronous=full`; PostgreSQL `synchronous_commit=on`). Peer: the same threads, each inserting "
             "the same row in its own transaction (no chain, no batching), same database, same run.", "",
             "| backend | threads | zhijing group-commit writer, appends/s | peer: one transaction per insert, rows/s |",
             "| --- | ---: | ---: | ---: |"]  # fmt: skip
    backends = [("SQLite", lambda d: f"sqlite:///{d}/audit.db")]
    pg = os.environ.get("ZHIJING_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        import sqlalchemy as sa

        with sa.create_engine(pg).connect():
            pass
        backends.append(("PostgreSQL", lambda d: _fresh_pg(pg)))
    except Exception:  # noqa: BLE001 - no server: the SQLite rows only
        pass
    alone = []
    for name, url_of in backends:
        for c, ours, theirs in concurrent_appends(url_of, seconds):
            lines.append(f"| {name} | {c} | {ours:,.0f} | {theirs:,.0f} |")
        alone.append(f"{name} {writer_alone(url_of):,.0f}/s")
    lines += ["", "The writer alone (20,000 events queued at once, so every transaction takes a full batch of "
              f"`audit.max_batch` = 2,048; the rate until the last is durable): {', '.join(alone)}. With c threads "
              "each waiting for its own event, a transaction holds at most c events, so the rate is at most c per "
              "commit (fsync)."]  # fmt: skip
    return "\n".join(lines + [""])


def writer_alone(url_of, n: int = 20_000) -> float:
    d = Path(tempfile.mkdtemp())
    log = AuditLog(url_of(d), d)
    evs = [_ev(i) for i in range(n)]
    t = time.perf_counter()
    futures = [log._writer.submit(ev) for ev in evs]
    seqs = [f.result() for f in futures]
    rate = n / (time.perf_counter() - t)
    assert seqs == list(range(1, n + 1))
    log.engine.dispose()
    return rate


def _fresh_pg(url: str) -> str:
    import sqlalchemy as sa

    with sa.create_engine(url).begin() as c:
        c.execute(sa.text("drop table if exists audit_events, audit_heads, audit_meta, audit_commit, peer"))
    return url


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=5_000)
    ap.add_argument("--no-before", action="store_true", help="skip the row-by-row peer (slow at 10^7)")
    ap.add_argument("--appends-only", action="store_true", help="only the concurrent durable-append table")
    ap.add_argument("--seconds", type=float, default=5.0, help="per point of the concurrent-append table")
    args = ap.parse_args()
    appends = appends_table(args.seconds)
    write("access_appends", appends)
    if args.appends_only:
        return
    d = Path(tempfile.mkdtemp())
    ctx = policy.Context(True, "case", True)
    dec, bare = [], []
    for i in range(args.requests):
        s_i = policy.Subject(f"u{i % 200}", "U1", "刑侦", 2)  # 200 distinct officers, as in a busy bureau
        t = time.perf_counter()
        policy.allowed(s_i, "person:api", "read", ctx)
        dec.append((time.perf_counter() - t) * 1e6)
        t = time.perf_counter()
        policy.enforcer().enforce(s_i, "person:api", "read", ctx)
        bare.append((time.perf_counter() - t) * 1e6)
    log = AuditLog(f"sqlite:///{d}/a.db", d)
    app = []
    for i in range(args.requests):
        t = time.perf_counter()
        log.append(AuditEvent(actor="u", operation="consult", outcome="allowed", purpose="case:A1", records=[f"M{i}"]))
        app.append((time.perf_counter() - t) * 1e6)
    con = sqlite3.connect(d / "plain.db")
    con.execute("create table t (seq integer primary key, body text)")
    plain = []
    for i in range(args.requests):
        t = time.perf_counter()
        con.execute("insert into t(body) values (?)", (f'{{"actor":"u","records":["M{i}"]}}',))
        con.commit()
        plain.append((time.perf_counter() - t) * 1e6)

    # bulk history: 10,000 distinct events a call, sealed half way (inside a Merkle chunk) and at the end
    batch = [AuditEvent(actor=f"u{i % 50}", operation="consult", outcome="allowed", purpose="case:A1", records=[f"M{i}"])
             for i in range(10_000)]  # fmt: skip
    n, fill, half = args.requests, 0.0, False
    while n < args.entries:
        t = time.perf_counter()
        log.append_many(batch)
        fill += time.perf_counter() - t
        n += len(batch)
        if not half and n >= args.entries // 2:
            log.seal()
            half = True
    t = time.perf_counter()
    log.seal()
    seal_s = time.perf_counter() - t
    # peer for bulk append: the same bodies, plain executemany + commit, no chain, no indexes
    sample = [(e.canonical(),) for e in batch] * 10
    t = time.perf_counter()
    con.executemany("insert into t(body) values (?)", sample)
    con.commit()
    plain_bulk = len(sample) / (time.perf_counter() - t)

    db = f"{d}/a.db"
    runs = [("zhijing `verify()`, 2 worker processes", child(VERIFY, db=db, d=d, workers=2)),
            ("zhijing `verify()`, 1 process", child(VERIFY, db=db, d=d, workers=1)),
            ("peer: `select count(*)` (a floor)", child(COUNT, db=db)),
            ("peer: fetch every row's seq, prev_hash, body, hash (sqlite3, no checks)", child(FETCH, db=db))]  # fmt: skip
    if not args.no_before:
        runs.append(("peer: the row-by-row walk `verify()` was before (same checks, 1 process)", child(BEFORE, db=db)))
    ok = runs[0][1]["out"]
    assert ok[0] and ok[1] == n and ok[2] == 2, ok
    size = Path(db).stat().st_size / 2**30

    lines = ["## Access layer", "", f"Machine: {machine()}.", "",
             "| per request | p50 | p95 |", "| --- | ---: | ---: |",
             f"| zhijing decision (Casbin, memoised per attribute set) | {pct(dec, 50):.1f} µs | {pct(dec, 95):.1f} µs |",
             f"| peer: bare Casbin enforce, same policy | {pct(bare, 50):.0f} µs | {pct(bare, 95):.0f} µs |",
             f"| audit append, hash-chained, committed (SQLite) | {pct(app, 50):.0f} µs | {pct(app, 95):.0f} µs |",
             f"| peer: plain SQLite insert + commit, no chain | {pct(plain, 50):.0f} µs | {pct(plain, 95):.0f} µs |", "",
             f"Audit trail of {n:,} entries ({size:.1f} GiB SQLite file, 2 seals): bulk append (`append_many`, 10,000 a "
             f"call) {(n - args.requests) / fill:,.0f} entries/s (peer: plain `executemany` of the same bodies, no chain, "
             f"{plain_bulk:,.0f} rows/s); sealing all of it (RFC 6962 root + Ed25519) {seal_s:.1f} s.", "",
             "Full verification = seq contiguity + every hash against its predecessor and body + every indexed column "
             "against its body + every seal's signature and root. Each row in a fresh process:", "",
             "| verification of the whole trail | entries/s (wall) | wall s | CPU s | entries per CPU-s | peak RSS |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for label, r in runs:
        lines.append(f"| {label} | {n / r['wall']:,.0f} | {r['wall']:.1f} | {r['cpu']:.1f} | {n / r['cpu']:,.0f} "
                     f"| {r['peak']:,.0f} MiB |")  # fmt: skip
    v2 = runs[0][1]
    lines += ["", f"Verified: {ok[0]}, {ok[1]:,} entries, {ok[2]} seals. With 2 workers the check costs "
              f"{v2['cpu'] / n * 1e6:.2f} CPU-µs per entry: {2 * n / v2['cpu']:,.0f} entries/s if both cores were free "
              f"for it; the goal is ≥ 10⁶ entries/s.", ""]  # fmt: skip
    write("access", "\n".join(lines))


if __name__ == "__main__":
    main()
