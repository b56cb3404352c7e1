"""Serving under load: person-file reads and searches at c = 1 / 8 / 32 / 64 against
`zhijing serve` on a generated city, beside a peer floor — the same framework and server
returning a fixed JSON — in the same run.

Load comes from wrk (C, from Debian's packages) so the client does not eat the server's
two cores; each run is bounded in time and targets 127.0.0.1 only. After the timed runs a
checked pass (Python threads, every body compared with the person asked for) counts
mismatches, and the audit trail is counted: events written must equal successful
responses.

    python -m bench.bench_serve --root /tmp/bench-serve --persons 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import httpx

from bench.common import machine, write

CONCURRENCY = (1, 8, 32, 64)
LUA = """
local paths = {%(paths)s}
local i = 0
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["X-Purpose"] = "%(purpose)s"
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format('JSON{"requests":%%d,"errors":%%d,"non2xx":%%d,"p50":%%f,"p95":%%f,"p99":%%f,"seconds":%%f}\\n',
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.duration / 1e6))
end
"""
FLOOR_APP = """
from fastapi import FastAPI
app = FastAPI()
BODY = {body!r}
@app.get("/floor")
def floor() -> dict:
    return BODY
"""


def prepare(root: Path, persons: int) -> None:
    """Generate, ingest, resolve and build the serving store once under ``root``."""
    from zhijing.config import Settings

    settings = Settings(home=root)
    if (settings.state_dir / "serving.db").exists():
        return
    from zhijing.entities.resolve import resolve_all
    from zhijing.governance.ingest import ingest_city
    from zhijing.serving.build import build
    from zhijing.sources.generate.city import generate_city

    generate_city(settings.city_dir, persons=persons, seed=7, progress=False)
    ingest_city(settings, settings.city_dir / "sources", progress=False)
    resolve_all(settings, progress=False)
    build(settings)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(cmd: list[str], env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start: " + proc.stderr.read().decode()[-2000:])


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def wrk(url: str, paths: list[str], token: str, purpose: str, c: int, seconds: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % {"paths": ", ".join(json.dumps(p) for p in paths), "token": token, "purpose": purpose})
    out = subprocess.run(["wrk", f"-t{min(c, 2)}", f"-c{c}", f"-d{seconds}s", "--timeout", "10s", "-s", f.name, url],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    os.unlink(f.name)
    line = next(ln for ln in out.splitlines() if ln.startswith("JSON"))
    r = json.loads(line[4:])
    r["rps"] = r["requests"] / r["seconds"]
    return r


def checked_pass(base: str, headers: dict, asked: list[tuple[str, str, str]], c: int, n: int) -> dict:
    """n requests from c threads; every body is compared with the person asked for."""
    def one(i: int) -> str:
        mid, name, cid = asked[i % len(asked)]
        with httpx.Client(base_url=base, headers=headers, timeout=30) as cl:
            if i % 2:
                r = cl.get("/api/persons/search", params={"q": cid})
                ok = r.status_code == 200 and [x["master_id"] for x in r.json()["results"]] == [mid]
            else:
                r = cl.get(f"/api/persons/{mid}")
                ok = r.status_code == 200 and r.json()["master_id"] == mid and r.json()["name"] == name
        return "ok" if ok else ("error" if r.status_code != 200 else "mismatch")

    with ThreadPoolExecutor(c) as pool:
        return dict(Counter(pool.map(one, range(n))))


def audit_count(root: Path) -> int:
    """Entries in the audit trail (the embedded default's SQLite file)."""
    import sqlite3

    from zhijing.access.audit.store import log_for
    from zhijing.config import Settings

    log_for(Settings(home=root))  # creates the trail if nothing was audited yet
    with sqlite3.connect(root / "state" / "audit.db") as db:
        return db.execute("SELECT count(*) FROM audit_events").fetchone()[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "zhijing-bench-serve")
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    t0 = time.perf_counter()
    prepare(args.root, args.persons)
    prep_s = time.perf_counter() - t0
    from zhijing.access.seed import DEMO_CASE, seed_demo
    from zhijing.config import Settings
    from zhijing.lake.store import current_files

    settings = Settings(home=args.root)
    logins = {u: p for u, p, _ in seed_demo(settings)}
    masters = duckdb.sql(f"SELECT master_id, name, citizen_id FROM read_parquet({current_files(settings, 'entities', 'persons_master')!r}) "
                         "WHERE citizen_id IS NOT NULL AND name IS NOT NULL").fetchall()  # fmt: skip
    asked = random.Random(7).sample(masters, 500)
    env = {**os.environ, "ZHIJING_HOME": str(args.root), "ZHIJING_SCHEDULE__SEAL_MINUTES": "0"}
    rows, checks = [], []
    for workers in args.workers:
        port = _port()
        proc = _start([sys.executable, "-m", "zhijing", "serve", "--port", str(port), "--workers", str(workers)], env, port)
        base = f"http://127.0.0.1:{port}"
        try:
            token = httpx.post(f"{base}/api/auth/token", data={"username": "xingzhen01", "password": logins["xingzhen01"]}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}", "X-Purpose": DEMO_CASE}
            for label, paths in (("person file", [f"/api/persons/{m}" for m, _, _ in asked]),
                                 ("search", [f"/api/persons/search?q={cid}" for _, _, cid in asked])):  # fmt: skip
                for c in CONCURRENCY:
                    r = wrk(base, paths, token, DEMO_CASE, c, args.seconds)
                    rows.append({"workers": workers, "what": label, "c": c, **r})
            time.sleep(2)  # requests still in flight when wrk stopped finish and are audited
            before, ok_responses = audit_count(args.root), 0
            for c in CONCURRENCY:
                checks.append({"workers": workers, "c": c, **checked_pass(base, headers, asked, c, 4 * c + 40)})
                ok_responses += checks[-1].get("ok", 0)
            written = audit_count(args.root) - before
            checks.append({"workers": workers, "audit events written by the checked passes": written,
                           "successful responses": ok_responses})
        finally:
            _stop(proc)
        floor_dir = Path(tempfile.mkdtemp())
        (floor_dir / "floor_app.py").write_text(FLOOR_APP.format(body={"master_id": "PM0", "facts": {"name": [{"value": "x" * 40}] * 20}}))
        port = _port()
        proc = _start([sys.executable, "-m", "uvicorn", "floor_app:app", "--port", str(port), "--workers", str(workers),
                       "--log-level", "warning", "--app-dir", str(floor_dir)], env, port)  # fmt: skip
        try:
            for c in CONCURRENCY:
                r = wrk(f"http://127.0.0.1:{port}", ["/floor"], "-", "-", c, args.seconds)
                rows.append({"workers": workers, "what": "peer floor: fixed JSON", "c": c, **r})
        finally:
            _stop(proc)
            shutil.rmtree(floor_dir, ignore_errors=True)
    lines = [f"### Serving under load ({args.persons:,} persons; {args.seconds} s per run; wrk on 127.0.0.1)", "",
             f"Machine: {machine()}. City prepared in {prep_s:.0f} s (reused when present).", "",
             "| workers | what | c | req/s | p50 ms | p95 ms | p99 ms | errors | non-2xx |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {r['workers']} | {r['what']} | {r['c']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | "
              f"{r['errors']} | {r['non2xx']} |" for r in rows]  # fmt: skip
    lines += ["", "Checked passes (every body compared with the person asked for) and the audit count:", ""]
    lines += [f"- {json.dumps(c, ensure_ascii=False)}" for c in checks]
    write("serve", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
