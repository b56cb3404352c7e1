"""Benchmark of the sharing exchange (issue 22), each beside a peer in the same run:

- verification: the contract's service (terms, quota, enumeration watch, lookup) with its
  durable audit event, from many threads, beside the same lookup without the access layer;
  and the HTTP route through the guard (token, purpose, policy, audit) for reference;
- batch comparison of a 10⁶-row CSV (the job: read, quota, compare, mask, write) beside a
  plain DuckDB join of the same file with the same persons;
- subscription: changes registered at random moments, delivered by the clock's 1-second
  loop to a local endpoint; latency = arrival − registration.

    python -m bench.sharing --home /path/to/resolved/home [--calls 20000] [--rows 1000000]

The home must hold a resolved city (a serving store); the bench adds its own contract.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import sqlalchemy as sa

from bench.common import into_benchmarks, machine, write
from zhijing.access.audit import AuditEvent, append
from zhijing.access.seed import seed_demo
from zhijing.config import Settings, reset_settings
from zhijing.serving import store
from zhijing.serving.tables import persons
from zhijing.sharing import batch, contracts, service, subscribe
from zhijing.sharing.verify import lookup_and_compare
from zhijing.standards.citizen_id import make, normalize

HEADING = "## Sharing exchange (资源共享交换, `bench/sharing.py`)"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def residents(settings, n: int = 5000) -> list[tuple[str, str]]:
    with store.connect(settings) as conn:
        rows = conn.execute(sa.select(persons.c.name, persons.c.citizen_id).where(persons.c.citizen_id.is_not(None),
                                                                                   persons.c.name.is_not(None)).limit(n * 2)).all()  # fmt: skip
    return [(a, b) for a, b in rows if normalize(b).ok and normalize(b).value == b][:n]


def contract(settings, quota: int, endpoint: str | None = None) -> contracts.Contract:
    c = contracts.request(settings, "weijian01", title="基准测试协议", department="卫健委", purpose="基准测试", legal_basis="基准测试",
                          datasets=["hukou_person"], fields=["name", "sex", "birth_date", "district", "living"],
                          services=["verify", "query", "batch", "subscribe"], events=["death", "move_out"], daily_quota=quota,
                          expires_at=datetime.now(UTC) + timedelta(days=1), dept_approver="weijian02", police_approver="kezhang01",
                          endpoint=endpoint)  # fmt: skip
    contracts.approve(settings, c.id, "weijian02")
    return contracts.approve(settings, c.id, "kezhang01")


def timed_calls(fn, args: list, threads: int) -> dict:
    lat: list[float] = []

    def one(a):
        t = time.perf_counter()
        fn(*a)
        lat.append(time.perf_counter() - t)

    t0, cpu0 = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, args))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"calls": len(args), "threads": threads, "per_s": len(args) / wall, "p50_ms": 1000 * pct(lat, 0.5),
            "p99_ms": 1000 * pct(lat, 0.99), "cpu_ms": 1000 * cpu / len(args)}  # fmt: skip


def bench_verify(settings, people: list[tuple[str, str]], calls: int, threads: int) -> list[dict]:
    c = contract(settings, quota=10 * calls)
    who = service.Caller("weijian01", "卫健委", 1)
    rnd = random.Random(7)
    args = [rnd.choice(people) for _ in range(calls)]

    def audited(name: str, cid: str) -> None:
        result, master = service.verify(settings, who, c.ref, name, cid, {})
        append(AuditEvent(actor="weijian01", unit=c.unit_code, operation="disclose", outcome="allowed", purpose=c.ref,
                          records=[master] if master else [], query=f"sharing verify {c.ref} -> {result.match}"), settings)  # fmt: skip

    peer = timed_calls(lambda n, i: lookup_and_compare(settings, n, i, {}), args, threads)
    ours = timed_calls(audited, args, threads)
    return [{"what": "verification: contract terms + quota + enumeration watch + lookup + durable audit event", **ours},
            {"what": "peer: the same lookup and comparison, no access layer, no audit", **peer}]


def bench_verify_http(settings, people: list[tuple[str, str]], calls: int, threads: int) -> dict:
    import httpx
    import uvicorn

    from zhijing.api.app import create_app

    logins = {u: p for u, p, _ in seed_demo(settings)}
    c = contract(settings, quota=10 * calls)
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    while not srv.started:
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            tok = client.post("/api/auth/token", data={"username": "weijian01", "password": logins["weijian01"]}).json()["access_token"]
            h = {"Authorization": f"Bearer {tok}", "X-Purpose": c.ref}
            rnd = random.Random(8)
            args = [rnd.choice(people) for _ in range(calls)]
            out = timed_calls(lambda n, i: client.post("/api/sharing/verify", json={"name": n, "citizen_id": i}, headers=h).raise_for_status(),
                              args, threads)  # fmt: skip
    finally:
        srv.should_exit = True
        th.join(10)
    return {"what": "verification over HTTP: uvicorn, 1 process, the guard (token, purpose, policy, audit), client on the same cores", **out}


def upload(path: Path, people: list[tuple[str, str]], rows: int) -> None:
    rnd = random.Random(9)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["姓名", "公民身份号码"])
        for i in range(rows):
            r = rnd.random()
            if r < 0.8:
                w.writerow(rnd.choice(people))
            elif r < 0.99:
                w.writerow(["某人", make("330203", datetime(1960, 1, 1).date() + timedelta(days=rnd.randrange(20000)), rnd.randrange(1, 999))])
            else:
                w.writerow(["坏号", f"{i:018d}"])


def bench_batch(settings, people: list[tuple[str, str]], rows: int) -> list[dict]:
    c = contract(settings, quota=rows + 10)
    who = service.Caller("weijian01", "卫健委", 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "list.csv"
        upload(path, people, rows)
        t = time.perf_counter()
        job = batch.accept(settings, c, who, "list.csv", iter([path.read_bytes()]))
        accepted = time.perf_counter() - t
        batch.run(settings, job["id"])
        ours = time.perf_counter() - t
        done = batch.get(settings, job["id"])
        t = time.perf_counter()
        con = duckdb.connect()
        con.register("people", batch.persons_table(settings, c.fields))
        con.execute(f"""COPY (SELECT u.*, p.master_id, p.p_name = u."姓名" AS name_ok, p.p_sex, p.p_district
                         FROM read_csv('{path}', header = true, all_varchar = true) u
                         LEFT JOIN people p ON p.key = upper(trim(u."公民身份号码"))) TO '{Path(tmp) / "peer.csv"}' (HEADER)""")
        peer = time.perf_counter() - t
        con.close()
    return [{"what": f"batch comparison job of {rows:,} rows (upload checked and kept {accepted:.1f} s, then the job)", "seconds": ours,
             "status": done["status"], "matched": done["matched"], "found": done["found"]},
            {"what": "peer: plain DuckDB join of the same CSV with the same persons, written as CSV", "seconds": peer}]  # fmt: skip


class _Sink(BaseHTTPRequestHandler):
    arrivals: dict[int, float] = {}

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).arrivals.setdefault(body["seq"], time.time())
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def bench_delivery(settings, people: list[tuple[str, str]], changes_n: int, seconds: float) -> dict:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    c = contract(settings, quota=10 * changes_n, endpoint=f"http://127.0.0.1:{srv.server_address[1]}/hook")
    chosen = random.Random(10).sample(people, changes_n)
    subscribe.add_persons(settings, c.id, [cid for _, cid in chosen])
    stop = threading.Event()

    def clock():  # the scheduler's job: every second
        while not stop.is_set():
            subscribe.deliver_due(settings)
            stop.wait(1.0)

    th = threading.Thread(target=clock, daemon=True)
    th.start()
    registered: dict[int, float] = {}
    rnd = random.Random(11)
    for _, cid in chosen:
        time.sleep(rnd.random() * 2 * seconds / changes_n)
        seq, _ = subscribe.record_and_fan_out(settings, "move_out", cid, {"to": "外省"}, "bench")
        registered[seq] = time.time()
    deadline = time.time() + 30
    while len(_Sink.arrivals) < len(registered) and time.time() < deadline:
        time.sleep(0.1)
    stop.set()
    th.join(5)
    srv.shutdown()
    lat = [_Sink.arrivals[s] - t for s, t in registered.items() if s in _Sink.arrivals]
    return {"what": f"subscription push: {changes_n} changes over ~{seconds:.0f} s, clock every 1 s", "delivered": len(lat),
            "registered": len(registered), "p50_s": pct(lat, 0.5), "p99_s": pct(lat, 0.99), "max_s": max(lat, default=float("nan")),
            "mean_s": statistics.fmean(lat) if lat else float("nan")}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--http-calls", type=int, default=3_000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--changes", type=int, default=200)
    ap.add_argument("--no-write", action="store_true", help="print only (a smoke run), BENCHMARKS.md untouched")
    args = ap.parse_args()
    os.environ["ZHIJING_HOME"] = str(args.home)  # the app of the HTTP run reads its settings from the environment
    reset_settings()
    settings = Settings(home=args.home)
    seed_demo(settings)
    people = residents(settings)
    load = Path("/proc/loadavg").read_text().split()[0]
    verify = bench_verify(settings, people, args.calls, args.threads)
    http = bench_verify_http(settings, people, args.http_calls, args.threads)
    batches = bench_batch(settings, people, args.rows)
    delivery = bench_delivery(settings, people, args.changes, 20.0)
    with store.connect(settings) as conn:
        n_persons = conn.execute(sa.select(sa.func.count()).select_from(persons)).scalar()
    ratio = verify[1]["per_s"] / verify[0]["per_s"]
    lines = [HEADING, "", f"Machine: {machine()}. Load average {load} at start: **the machine is shared with other helpers' "
             f"sessions today** (eight at work on two cores), so every figure is a floor. Store: {n_persons:,} master persons "
             f"({datetime.now(UTC):%Y-%m-%d}).", "",
             "| what | calls | threads | calls/s | p50 ms | p99 ms | CPU ms per call (this process) |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {r['what']} | {r['calls']:,} | {r['threads']} | {r['per_s']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
              f"| {r['cpu_ms']:.2f} |" for r in [*verify, http]]  # fmt: skip
    lines += ["", f"Overhead of the access layer in process (peer calls/s ÷ ours): {ratio:.2f}×; CPU per call "
              f"{verify[0]['cpu_ms']:.2f} ms vs {verify[1]['cpu_ms']:.2f} ms, i.e. ≈ {1000 / verify[0]['cpu_ms']:,.0f} calls/s "
              "per core not shared with others (CPU of this process: the audit writer included; the HTTP row counts the server and its client, both in this process). Goal: ≥ 1,000 calls/s with "
              f"p99 ≤ 20 ms, audit on — in process {'met' if verify[0]['per_s'] >= 1000 and verify[0]['p99_ms'] <= 20 else 'not met'}; "
              f"over HTTP in one process {'met' if http['per_s'] >= 1000 and http['p99_ms'] <= 20 else 'not met'}.", "",
              "| batch comparison | seconds | result |", "|---|---|---|"]  # fmt: skip
    lines += [f"| {b['what']} | {b['seconds']:.1f} | {b.get('status', '')} {b.get('matched', '') or ''} "
              f"{'matched, ' + str(b['found']) + ' found' if b.get('found') is not None else ''} |" for b in batches]  # fmt: skip
    lines += ["", f"Goal ≤ 60 s for 10⁶ rows: {'met' if batches[0]['seconds'] <= 60 else 'not met'} "
              f"({args.rows:,} rows; peer ratio {batches[0]['seconds'] / batches[1]['seconds']:.1f}×).", "",
              f"Subscription: {delivery['delivered']}/{delivery['registered']} delivered, p50 {delivery['p50_s']:.2f} s, "
              f"p99 {delivery['p99_s']:.2f} s, max {delivery['max_s']:.2f} s after the change was registered (goal p99 ≤ 5 s: "
              f"{'met' if delivery['p99_s'] <= 5 else 'not met'}). The peer of a push is the clock's period (1 s): "
              "a change waits for the next tick, then one POST.", ""]  # fmt: skip
    text = "\n".join(lines)
    if args.no_write:
        print(text)
        return
    write("sharing", text)
    into_benchmarks(HEADING, text)


if __name__ == "__main__":
    main()
