"""Watchlist hit → event written (智能布控), p50 / p99, with 10,000 watched items and a replay
of 1,000 reads/s, beside the peer in the same run: a DuckDB join of the same reads against the
watchlist in batches (one a second) writing the same hits and events.

The reads are the model's checkpoint reads (``model/pass``) of an ingested city, in time
order, published on an in-process broker's ``cad.reads`` at the chosen rate as intake's replay
publishes them (one model row per message); a second run publishes the sensors' raw rows
instead (``{"dataset", "row"}``: cleaned and mapped in memory before matching). The
watchlist: ``--hitting`` plates read in the replay, the rest plates and phones no read
carries. Latency is from a read's publication to the commit of its hit and its ``watch.hit``
event (one transaction).

    python -m bench.dispatch_watch [--home HOME] [--rate 1000] [--seconds 20] [--watched 10000] [--hitting 200]

Without ``--home`` the 10⁴-person test city is generated and ingested into a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from bench.common import machine, write
from zhijing.command import watch
from zhijing.command import watch_store as ws
from zhijing.config import Settings
from zhijing.derived.workbench.keys import plate_key, plate_key_sql
from zhijing.lake.store import current_files
from zhijing.model import read
from zhijing.sources.connectors.stream import MemoryBroker
from zhijing.sources.spec import load_spec


def city_home(root: Path) -> Path:
    from zhijing.governance.ingest import ingest_city
    from zhijing.model.build import build
    from zhijing.sources.generate.testing import small_city

    city = small_city(root / "cities")
    home = root / "city-home"
    s = Settings(home=home)
    shutil.copytree(city / "sources", home / "city" / "sources")
    ingest_city(s, progress=False)
    build(s)
    return home


def bench_home(source: Path, root: Path) -> Settings:
    """A home over ``source``'s lake and serving store, with metadata of its own (the watches)."""
    from zhijing.access.seed import seed_demo

    home = root / "bench-home"
    (home / "state").mkdir(parents=True)
    for part in ("lake", "city"):
        if (source / part).exists():
            (home / part).symlink_to(source / part)
    s = Settings(home=home)
    seed_demo(s)
    return s


def model_reads(s: Settings, n: int) -> list[dict]:
    src = read.source(s, "pass")
    con = duckdb.connect()
    cur = con.execute(f"SELECT type, dataset, record_id, strftime(ts, '%Y-%m-%dT%H:%M:%S+00:00') AS ts, lon, lat, place_kind, place_id, "
                      f"place_name, vehicle, direction, speed FROM {src} WHERE ts IS NOT NULL ORDER BY ts, record_id LIMIT {n}")  # fmt: skip
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def raw_reads(s: Settings, ids: list[str]) -> list[dict]:
    """The sensors' own rows of the same reads (raw zone), in the same order."""
    spec = load_spec(s).dataset("checkpoint_read")
    files = current_files(s, "raw", spec.name)
    con = duckdb.connect()
    con.register("ids", pa.table({"rid": ids, "n": list(range(len(ids)))}))
    cols = ", ".join(f'r."{f}"' for f in spec.field_names)
    cur = con.execute(f'SELECT {cols} FROM read_parquet({files!r}, union_by_name=true) r JOIN ids ON ids.rid = r."{spec.key}" '
                      f"QUALIFY row_number() OVER (PARTITION BY ids.rid) = 1 ORDER BY ids.n")  # fmt: skip
    return [{"dataset": spec.name, "row": dict(zip(spec.field_names, r, strict=True))} for r in cur.fetchall()]


def watchlist(s: Settings, reads: list[dict], watched: int, hitting: int, seed: int = 7) -> list[dict]:
    """``hitting`` plates the replay reads, the rest plates and phones (one in ten) it never reads."""
    rng = random.Random(seed)
    plates = sorted({r["vehicle"] for r in reads if r["vehicle"]})
    chosen = rng.sample(plates, min(hitting, len(plates)))
    seen = {plate_key(p) for p in plates}
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    out = [("plate", p, plate_key(p)) for p in chosen]
    while len(out) < watched:
        if len(out) % 10 == 0:
            ph = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
            out.append(("phone", ph, ph))
            continue
        p = "皖K" + "".join(rng.choice(letters) for _ in range(5))
        if plate_key(p) not in seen:
            seen.add(plate_key(p))
            out.append(("plate", p, plate_key(p)))
    now, later = ws.now(), ws.now() + timedelta(days=1)
    rows = [{"kind": k, "value": v, "key": key, "label": v, "purpose": "case:A330200000000001", "reason": "bench", "expires_at": later,
             "unit": "330212000000", "placed_by": "xingzhen01", "placed_at": now, "approver": "kezhang01", "approved_by": "kezhang01",
             "approved_at": now, "state": "active"} for k, v, key in out]  # fmt: skip
    with ws.engine(s).begin() as conn:
        conn.execute(sa.delete(ws.hits))
        conn.execute(sa.delete(ws.watches))
        conn.execute(sa.insert(ws.watches), rows)
    return rows


async def publish(broker, msgs: list[dict], rate: int, sent: dict[str, float], key) -> None:
    """``rate`` messages a second, in ticks of 10 ms; ``sent[record] = publication time``."""
    per_tick, t0 = max(1, rate // 100), time.perf_counter()
    for i in range(0, len(msgs), per_tick):
        due = t0 + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        for m in msgs[i : i + per_tick]:
            sent[key(m)] = time.perf_counter()
            await broker.publish(watch.SUBJECT, json.dumps(m, ensure_ascii=False, default=str).encode())


def run_ours(s: Settings, msgs: list[dict], rate: int, key) -> dict:
    broker, sent, lat, stop = MemoryBroker(), {}, [], threading.Event()
    emit = watch.bus(s)

    def on_hits(found: list[dict]) -> None:
        t = time.perf_counter()
        lat.extend(t - sent[h["record"]] for h in found)

    async def main() -> float:
        matcher = watch.Matcher(s, emit).warm()  # as a running consumer is: its index and place tables built
        consumer = asyncio.create_task(watch.consume(s, broker, stop=stop, on_hits=on_hits, matcher=matcher))
        t0 = time.perf_counter()
        await publish(broker, msgs, rate, sent, key)
        while broker.acked.get((watch.SUBJECT, "zhijing-watch"), 0) < len(msgs):
            await asyncio.sleep(0.01)
        stop.set()
        await consumer
        return time.perf_counter() - t0

    with ws.engine(s).begin() as conn:
        conn.execute(sa.delete(ws.hits))
    wall = asyncio.run(main())
    return {"hits": len(lat), "lat": lat, "wall": wall, "reads": len(msgs)}


def run_peer(s: Settings, msgs: list[dict], rate: int, window: float, rows: list[dict]) -> dict:
    """Reads gathered for ``window`` seconds, joined against the watchlist in DuckDB (by the
    OCR key, which an exact plate shares), the hits and events written in one transaction per batch."""
    broker, sent, lat = MemoryBroker(), {}, []
    emit = watch.bus(s)
    wl = pa.table({"id": [i for i in range(len(rows))], "value": [r["value"] for r in rows], "key": [r["key"] for r in rows]})
    con = duckdb.connect()
    con.register("wl", wl)
    peer_hits = sa.Table("bench_peer_hits", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                         sa.Column("watch", sa.Integer), sa.Column("record", sa.String(64)), sa.Column("time", sa.String(32)))  # fmt: skip
    peer_hits.create(ws.engine(s), checkfirst=True)

    def batch(parsed: list[dict]) -> list[str]:
        con.register("reads", pa.Table.from_pylist([{k: m.get(k) for k in ("record_id", "vehicle", "ts", "lon", "lat", "place_name")} for m in parsed]))
        # one hash join on the OCR key (an exact plate has its own key too)
        found = con.execute(f"""SELECT w.id, r.record_id, r.ts, r.lon, r.lat, r.place_name FROM reads r
                                JOIN wl w ON w.key = {plate_key_sql('r.vehicle')}""").fetchall()  # fmt: skip
        with ws.engine(s).begin() as conn:
            for wid, rid, ts, lon, lat_, place in found:
                conn.execute(sa.insert(peer_hits).values(watch=wid, record=rid, time=ts))
                emit(conn, "watch.hit", body={"watch": wid, "record": rid, "time": ts, "lon": lon, "lat": lat_, "place": place})
        return [f[1] for f in found]

    async def main() -> float:
        done = asyncio.Event()

        async def consumer() -> None:
            got = 0
            while got < len(msgs):
                await asyncio.sleep(window)
                fetched = await broker.fetch(watch.SUBJECT, "peer", 1_000_000, 0)
                if not fetched:
                    continue
                parsed = [json.loads(m.data) for m in fetched]
                records = await asyncio.to_thread(batch, parsed)
                t = time.perf_counter()
                lat.extend(t - sent[r] for r in records)
                for m in fetched:
                    m.ack()
                got += len(fetched)
            done.set()

        task = asyncio.create_task(consumer())
        t0 = time.perf_counter()
        await publish(broker, msgs, rate, sent, lambda m: m["record_id"])
        await done.wait()
        await task
        return time.perf_counter() - t0

    wall = asyncio.run(main())
    return {"hits": len(lat), "lat": lat, "wall": wall, "reads": len(msgs)}


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, help="an ingested home (default: the 10⁴ test city, generated and ingested)")
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--watched", type=int, default=10_000)
    ap.add_argument("--hitting", type=int, default=200)
    ap.add_argument("--window", type=float, default=1.0, help="the peer's batch window, seconds")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    try:
        source = args.home or city_home(root)
        s = bench_home(source, root)
        os.environ["ZHIJING_HOME"] = str(s.home)  # the audit trail and settings of the run's own home
        reads = model_reads(s, args.rate * args.seconds)
        rows = watchlist(s, reads, args.watched, args.hitting)
        per_key = Counter(w["key"] for w in rows if w["kind"] == "plate")  # a plate and its misread may both be watched
        expected = sum(per_key[plate_key(r["vehicle"])] for r in reads if r["vehicle"])
        results = {"ours, model rows": run_ours(s, reads, args.rate, lambda m: m["record_id"])}
        raws = raw_reads(s, [r["record_id"] for r in reads])
        if raws:
            spec_key = load_spec(s).dataset("checkpoint_read").key
            results["ours, raw sensor rows (cleaned + mapped in memory)"] = run_ours(s, raws, args.rate, lambda m: m["row"][spec_key])
        results[f"peer: DuckDB join per {args.window:g} s batch"] = run_peer(s, reads, args.rate, args.window, rows)
        load = os.getloadavg()[0]
        lines = [f"### {len(reads):,} reads at {args.rate:,}/s, {len(rows):,} watched items ({args.hitting} plates read in the replay; "
                 f"{expected:,} hits due), load average {load:.1f}", "", f"{machine()}", "",
                 "| path | hits | p50 ms | p99 ms | max ms | reads/s sustained |", "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
        for name, r in results.items():
            lat = [x * 1000 for x in r["lat"]]
            lines.append(f"| {name} | {r['hits']:,} | {pct(lat, 50):.0f} | {pct(lat, 99):.0f} | {max(lat, default=float('nan')):.0f} | "
                         f"{r['reads'] / r['wall']:,.0f} |")  # fmt: skip
        lines += ["", f"mean ours (model rows): {statistics.fmean(results['ours, model rows']['lat']) * 1000:.0f} ms"]
        write("dispatch_watch", "\n".join(lines) + "\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
