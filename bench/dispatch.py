"""Command and dispatch under load (issue 20, Speed), beside a peer in the same run.

1. Intake → located → classified → recommendation: the model's 110 calls replayed open-loop at
   ``--rates`` calls/s (default 50, and 2 to see the path without queueing) with ``--units``
   units (default 1,000: the seeded ones topped up at random street nodes). Each call is triaged (``intake.triage``: located and
   classified), recorded (``store.create_incident``, duplicates merged), the units read
   (``store.units``) and the nearest by travel time on the street graph recommended
   (``recommend.recommend``). Latency = the recommendation's end − the call's scheduled
   arrival (waiting in the queue included). The peer does the same intake and reads the same
   units, then takes the straight-line nearest with a DuckDB query. Both runs start from empty
   incident tables.
2. Live-update fan-out: ``zhijing serve`` with ``--screens`` (default 200) SSE clients on
   ``/api/command/stream`` (the dispatcher's, city-wide), while this process writes
   ``unit.moved`` events on the live bus at ``--events-rate`` per second; delivery = the
   screen's receipt − the event's commit (one clock: the same machine). Goal p99 ≤ 1 s.

    python -m bench.dispatch --persons 10000                 # generate and ingest a city, measure
    python -m bench.dispatch --home /tmp/zj-dispatch/home    # a city already ingested
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from bench.common import into_benchmarks, machine, write
from zhijing.config import Settings

HEADING = "## Command and dispatch: intake to recommendation, live fan-out (`bench/dispatch.py`)"
PEER_SQL = """SELECT id FROM units WHERE status = 'available' AND NOT stale
ORDER BY (lon - $lon) * (lon - $lon) * $c2 + (lat - $lat) * (lat - $lat) LIMIT $k"""


def prepare(persons: int, root: Path) -> Settings:
    """A generated city, ingested and its model built (once per ``root``)."""
    from zhijing.governance.ingest import ingest_city
    from zhijing.model.build import build
    from zhijing.sources.generate.city import generate_city

    s = Settings(home=root / "home")
    if (root / "ready").exists():
        return s
    generate_city(root / "city", persons=persons, seed=7, progress=False, force=True)
    ingest_city(s, root / "city" / "sources", progress=False)
    build(s)
    (root / "ready").write_text("1")
    return s


def reset(s: Settings) -> None:
    """Empty incident, assignment and event tables (units stay)."""
    from zhijing.command import store

    with store.engine(s).begin() as conn:
        for t in (store.assignments_t, store.incidents_t, store.events_t):
            conn.execute(t.delete())


def seed(s: Settings, n: int, rng: random.Random) -> int:
    """The seeded units topped up to ``n`` patrol cars at random street nodes, all available."""
    from zhijing.command import store
    from zhijing.model import places

    store.seed_units(s)
    have = store.units(s)
    if len(have) >= n:
        return len(have)
    nodes = duckdb.connect().execute(f"SELECT node_id, lon, lat FROM {places.source(s, 'road_node')}").fetchall()
    stations = sorted({u["station"] for u in have})
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    extra = []
    for i in range(n - len(have)):
        node, lon, lat = rng.choice(nodes)
        st = stations[i % len(stations)]
        extra.append({"id": f"{st}-压测{i + 1}", "callsign": f"压测{i + 1}", "kind": "patrol_car", "station": st,
                      "home_unit": f"{st}0000", "status": "available", "lon": lon, "lat": lat, "node": str(node),
                      "last_seen": now, "version": 1})  # fmt: skip
    with store.engine(s).begin() as conn:
        conn.execute(store.units_t.insert(), extra)
        conn.execute(store.units_t.update().values(status="available", last_seen=now))
    return len(have) + len(extra)


def calls(s: Settings, n: int) -> list[dict]:
    """``n`` of the model's 110 calls, as the replay sends them (narrative, address, coordinates, phone)."""
    from zhijing.command.replay import calls_from_model

    every = calls_from_model(s)
    picked = random.Random(7).sample(every, min(n, len(every)))
    return [{k: c.get(k) for k in ("narrative", "address", "lon", "lat", "phone")} for c in picked]


def peer_nearest(con: duckdb.DuckDBPyConnection, lon: float, lat: float, units: list[dict], k: int = 3) -> list[str]:
    """The straight-line nearest available units (an equirectangular distance, as a plain query would)."""
    frame = pd.DataFrame(units, columns=["id", "status", "stale", "lon", "lat"])
    con.register("units", frame)
    c2 = float(np.cos(np.radians(lat)) ** 2)
    return [r[0] for r in con.execute(PEER_SQL, {"lon": lon, "lat": lat, "c2": c2, "k": k}).fetchall()]


def replay(s: Settings, batch: list[dict], rate: float, workers: int, peer: bool) -> list[dict]:
    """Open-loop replay: call i arrives at start + i/rate; ``workers`` threads take them in turn."""
    from zhijing.command import recommend, store
    from zhijing.command.intake import Intake

    streets = recommend.cache_for(s)
    streets.get(s)  # the graph is built and the classifier trained before the clock starts (a served app holds both)
    intake = Intake(s)
    intake.triage({"narrative": ""})
    todo: queue.Queue = queue.Queue()
    out: list[dict] = []
    failed: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        con = duckdb.connect(config={"threads": 1}) if peer else None  # one query per call: no intra-query threads
        while (item := todo.get()) is not None:
            due, call = item
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            t0, c0 = time.perf_counter(), time.thread_time()
            triaged = intake.triage({**call, "received_at": datetime.now(UTC).isoformat()})
            t1, c1 = time.perf_counter(), time.thread_time()
            try:
                incident = store.create_incident(s, triaged, "replay", "bench")
            except Exception as exc:  # noqa: BLE001 — counted and named in the table, the replay goes on
                with lock:
                    failed.append(type(exc).__name__)
                continue
            t2, c2 = time.perf_counter(), time.thread_time()
            units = store.units(s)
            t3, c3 = time.perf_counter(), time.thread_time()
            lon, lat = incident.get("lon"), incident.get("lat")
            best: list = []
            if lon is not None and lat is not None:
                best = peer_nearest(con, lon, lat, units) if peer else recommend.recommend(s, lon, lat, units, streets=streets)
            t4, c4 = time.perf_counter(), time.thread_time()
            row = {"latency": t4 - due, "wait": t0 - due, "triage": t1 - t0, "create": t2 - t1, "units": t3 - t2,
                   "recommend": t4 - t3, "cpu_triage": c1 - c0, "cpu_create": c2 - c1, "cpu_units": c3 - c2,
                   "cpu_recommend": c4 - c3, "located": lon is not None, "merged": bool(incident.get("parent")),
                   "top": best[0] if best else None}  # fmt: skip
            with lock:
                out.append(row)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    cpu = time.process_time()
    start = time.perf_counter() + 0.5
    for i, call in enumerate(batch):
        todo.put((start + i / rate, call))
    for _ in threads:
        todo.put(None)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = time.process_time() - cpu
    for row in out:
        row["cpu"] = cpu / len(out)
        row["failed"] = failed
    return out


def ms(xs, q: float) -> float:
    return float(np.percentile(np.asarray(xs) * 1000, q, method="inverted_cdf")) if len(xs) else float("nan")


def intake_table(runs: list[tuple[float, str, list[dict]]]) -> str:
    lines = ["| calls/s | path | calls | located | merged | p50 ms | p99 ms | max ms | stage wall p50 / p99 ms: triage · record · units · recommend "
             "| stage CPU p50 ms: triage · record · units · recommend | CPU ms per call | failed |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | --- |"]  # fmt: skip
    for rate, name, rows in runs:
        lat = [r["latency"] for r in rows]
        stages = " · ".join(f"{ms([r[k] for r in rows], 50):.1f} / {ms([r[k] for r in rows], 99):.1f}"
                            for k in ("triage", "create", "units", "recommend"))  # fmt: skip
        cpu = " · ".join(f"{ms([r['cpu_' + k] for r in rows], 50):.1f}" for k in ("triage", "create", "units", "recommend"))
        lines.append(f"| {rate:g} | {name} | {len(rows)} | {sum(r['located'] for r in rows)} | {sum(r['merged'] for r in rows)} | "
                     f"{ms(lat, 50):.1f} | {ms(lat, 99):.1f} | {max(lat) * 1000:.1f} | {stages} | {cpu} | {rows[0]['cpu'] * 1000:.1f} | {', '.join(rows[0]['failed']) or 0} |")  # fmt: skip
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- fan-out

CLIENTS = r"""
import asyncio, json, sys, time
from urllib.parse import urlsplit

URL, TOKEN, PURPOSE, N, SECONDS, EVENTS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
u = urlsplit(URL)
REQUEST = (f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: Bearer {TOKEN}\r\nX-Purpose: {PURPOSE}\r\n"
           "Accept: text/event-stream\r\n\r\n").encode()
delays, connected, broken = [], 0, 0

async def screen():
    # a plain socket reading lines: a screen's browser costs the server the same, the client far less than an HTTP library
    global connected, broken
    reader, writer = await asyncio.open_connection(u.hostname, u.port, limit=1 << 20)
    writer.write(REQUEST)
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(status.decode(errors="replace"))
    connected += 1
    while line := await reader.readline():
        if line.startswith(b"data:") and b'"bench"' in line:
            now = time.time()
            try:
                body = json.loads(line[5:])["body"]
            except (ValueError, KeyError):
                broken += 1
                continue
            delays.append((body["bench"], now - body["t"]))

async def main():
    tasks = [asyncio.create_task(screen()) for _ in range(N)]
    while connected < N:
        for t in tasks:
            if t.done():
                t.result()
        await asyncio.sleep(0.05)
    print("READY", flush=True)
    deadline = time.time() + SECONDS
    while time.time() < deadline and len(delays) < N * EVENTS:
        await asyncio.sleep(0.2)
    for t in tasks:
        t.cancel()
    print(json.dumps({"delays": delays, "broken": broken}), flush=True)

asyncio.run(main())
"""


PEER_APP = r"""
import asyncio, json, os, sqlite3
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

DB, POLL_S = os.environ["PEER_DB"], float(os.environ["PEER_POLL_S"])
app = FastAPI()
subs: set = set()
state = {"task": None, "last": 0}

def fetch(after):
    with sqlite3.connect(DB) as c:
        return c.execute("SELECT seq, at, kind, incident, unit, station, body FROM cad_events WHERE seq > ? ORDER BY seq LIMIT 500",
                         (after,)).fetchall()

def last():
    with sqlite3.connect(DB) as c:
        return c.execute("SELECT coalesce(max(seq), 0) FROM cad_events").fetchone()[0]

async def poll():
    state["last"] = await asyncio.to_thread(last)
    while subs:
        rows = await asyncio.to_thread(fetch, state["last"])
        for seq, at, kind, incident, unit, station, body in rows:
            state["last"] = seq
            data = {"seq": seq, "at": at, "kind": kind, "incident": incident, "unit": unit, "station": station, "body": json.loads(body)}
            text = f"id: {seq}\nevent: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
            for q in list(subs):
                q.put_nowait(text)
        if len(rows) < 500:
            await asyncio.sleep(POLL_S)

@app.get("/api/command/stream")
async def stream():
    q = asyncio.Queue()
    subs.add(q)
    if state["task"] is None or state["task"].done():
        state["task"] = asyncio.create_task(poll())
    async def frames():
        try:
            yield ": connected\n\n"
            while True:
                yield await q.get()
        finally:
            subs.discard(q)
    return StreamingResponse(frames(), media_type="text/event-stream")
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(s: Settings, port: int, workers: int, peer: bool) -> subprocess.Popen:
    """``zhijing serve``, or the peer: the same framework streaming the same table with nothing else."""
    import httpx

    from zhijing.command import live

    env = {**os.environ, "ZHIJING_HOME": str(s.home), "ZHIJING_SCHEDULE__SEAL_MINUTES": "0",
           "ZHIJING_DISPATCH__SIMULATE": "false"}  # fmt: skip
    cmd = [sys.executable, "-m", "zhijing", "serve", "--port", str(port), "--workers", str(workers)]
    if peer:
        folder = Path(tempfile.mkdtemp(prefix="zj-sse-peer-"))
        (folder / "sse_peer.py").write_text(PEER_APP, encoding="utf-8")
        env |= {"PEER_DB": s.sqlalchemy_url("metadata").removeprefix("sqlite:///"), "PEER_POLL_S": str(live.POLL_S)}
        cmd = [sys.executable, "-m", "uvicorn", "sse_peer:app", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning", "--app-dir", str(folder)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("server did not start: " + proc.stderr.read().decode()[-2000:])


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the processes of group ``pgid`` (the server and its workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def dispatcher(s: Settings, base: str) -> tuple[str, str]:
    """The demo dispatcher's token and a standing duty purpose (order:110-…) it may act under."""
    import httpx

    from zhijing.access.seed import seed_demo

    logins = {u: p for u, p, _ in seed_demo(s)}
    token = httpx.post(f"{base}/api/auth/token", data={"username": "zhihui01", "password": logins["zhihui01"]}).json()["access_token"]
    mine = httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"}).json()["purposes"]
    purpose = next(p["value"] for p in mine if p["kind"] == "order")
    return token, purpose


def fanout(s: Settings, screens: int, events: int, rate: float, workers: int, peer: bool = False, procs: int = 2) -> dict:
    """``screens`` SSE clients (in ``procs`` client processes) on a served app (or the peer);
    ``events`` unit moves written at ``rate``/s."""
    from zhijing.command import store

    reset(s)
    port = _port()
    proc = _serve(s, port, workers, peer)
    base = f"http://127.0.0.1:{port}"
    try:
        token, purpose = ("-", "-") if peer else dispatcher(s, base)
        seconds = events / rate + 120  # a screen that fell behind may still catch up; lost = never arrived
        share = [screens // procs + (i < screens % procs) for i in range(procs)]
        clients = [subprocess.Popen([sys.executable, "-c", CLIENTS, f"{base}/api/command/stream", token, purpose, str(n), str(seconds), str(events)],
                                    stdout=subprocess.PIPE, text=True, start_new_session=True) for n in share]  # fmt: skip
        for c in clients:
            assert c.stdout.readline().strip() == "READY", "the screens did not connect"
        units = store.units(s)
        cpu = group_cpu(proc.pid)
        start = time.perf_counter()
        for i in range(events):
            due = start + i / rate
            if (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            u = units[i % len(units)]
            with store.engine(s).begin() as conn:
                store.emit(conn, "unit.moved", unit=u["id"], station=u["station"],
                           body={"lon": u["lon"], "lat": u["lat"], "node": u["node"], "bench": i, "t": time.time()})  # fmt: skip
        got = [json.loads(c.stdout.readline()) for c in clients]
        cpu = group_cpu(proc.pid) - cpu
        for c in clients:
            c.wait(30)
    finally:
        _stop(proc)
    d = np.array([x for g in got for _, x in g["delays"]])
    return {"server": "peer: the framework streaming the table, nothing else" if peer else "zhijing serve (login, purpose, scope, audit)",
            "screens": screens, "events": events, "rate": rate, "workers": workers, "expected": screens * events,
            "delivered": len(d), "server_cpu_s": cpu, "broken": sum(g["broken"] for g in got), "p50": ms(d, 50), "p99": ms(d, 99), "max": float(d.max() * 1000) if len(d) else float("nan")}  # fmt: skip


def fanout_table(rows: list[dict]) -> str:
    lines = ["| server | workers | screens | events (rate/s) | deliveries expected | delivered | p50 ms | p99 ms | max ms | server CPU ms per 1,000 deliveries |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['server']} | {r['workers']} | {r['screens']} | {r['events']} ({r['rate']:g}) | {r['expected']:,} | {r['delivered']:,} | "
                     f"{r['p50']:.0f} | {r['p99']:.0f} | {r['max']:.0f} | {r['server_cpu_s'] * 1e6 / max(r['delivered'], 1):.0f} |")  # fmt: skip
    return "\n".join(lines) + "\n\nGoal: p99 delivery ≤ 1 s (commit of the event → the line read by the screen's client).\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=10_000)
    ap.add_argument("--home", type=Path)
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "zj-bench-dispatch")
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--rates", type=float, nargs="+", default=[50, 2])
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--screens", type=int, default=200)
    ap.add_argument("--events", type=int, default=300)
    ap.add_argument("--events-rate", type=float, default=10)
    ap.add_argument("--server-workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--skip", choices=["intake", "fanout"], nargs="*", default=[])
    args = ap.parse_args()
    s = Settings(home=args.home) if args.home else prepare(args.persons, args.root)
    load = os.getloadavg()
    n_units = seed(s, args.units, random.Random(7))
    text = (f"{HEADING}\n\n{time.strftime('%Y-%m-%d %H:%M')} UTC; {machine()}; load average at start "
            f"{load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} (other jobs on the same 2 cores: wall times are inflated, CPU times less so).\n\n")
    if "intake" not in args.skip:
        batch = calls(s, args.calls)
        runs = []
        for rate in args.rates:
            part = batch[: max(100, int(rate * 60))]  # a minute of calls at most (at least 100)
            for name, peer in (("zhijing: street-graph recommendation", False), ("peer: straight-line nearest (DuckDB)", True)):
                reset(s)
                runs.append((rate, name, replay(s, part, rate, args.threads, peer)))
        cpu = max(rows[0]["cpu"] for _, name, rows in runs if name.startswith("zhijing"))
        text += ("### Intake → located → classified → recommendation\n\n"
                 f"The model's 110 calls of a {args.persons:,}-person city, replayed open-loop with {n_units:,} units; {args.threads} worker threads. "
                 "Latency = recommendation ready − the call's scheduled arrival (queueing included); stages: triage (locate + classify + plan), "
                 "record (`store.create_incident`, duplicates merged), units (`store.units`), recommend (street graph) or the peer's DuckDB query "
                 "(CPU: the worker thread's own time, steadier than wall time on a shared machine). Percentiles nearest-rank.\n\n"
                 + intake_table(runs)
                 + f"\nAt ≈ {cpu * 1000:.0f} CPU ms per call one process (the GIL: one core) serves at most ≈ {1 / cpu:.0f} calls/s; "
                 f"goal p99 ≤ 100 ms at {max(args.rates):g} calls/s.\n\n")  # fmt: skip
    if "fanout" not in args.skip:
        rows = [fanout(s, args.screens, args.events, args.events_rate, w) for w in args.server_workers]
        rows.append(fanout(s, args.screens, args.events, args.events_rate, 1, peer=True))
        text += ("### Live-update fan-out (SSE)\n\n"
                 f"`zhijing serve` on 127.0.0.1; {args.screens} screens of the city dispatcher on `/api/command/stream` "
                 "(plain sockets in 2 client processes, so the clients cost the machine little); this process writes `unit.moved` "
                 "events on the live bus (`cad_events`); delivery = the screen's receipt − the event's commit.\n\n" + fanout_table(rows))
    write("dispatch", text)
    into_benchmarks(HEADING, text)

if __name__ == "__main__":
    main()
