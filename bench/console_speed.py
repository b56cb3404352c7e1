"""The console's requests behind the guard beside the same server's floor (issue 21): person
files and searches at c = 32 against `zhijing serve` (one worker), the same framework and
server returning a fixed JSON as the floor, and — to show where the time goes — the server's
CPU per request of each (from /proc: the load generator's own CPU is not counted), with a
bare route and a guarded route of the same app between them.

    python -m bench.console_speed --root /tmp/bench-serve --persons 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

from bench.bench_serve import FLOOR_APP, _port, _start, _stop, prepare, wrk
from bench.common import into_benchmarks, machine, write

HEADING = "## Console requests behind the guard (`bench/console_speed.py`)"
# the served app plus two probe routes: a bare one and one behind the guard (no person data), same body as the floor
PROBE_APP = """
from fastapi import Depends
from zhijing.access.guard import audit_before_response, require
from zhijing.api.app import all_routes, create_app
app = create_app()
BODY = {body!r}
def bare() -> dict:
    return BODY
def guarded(ctx=Depends(require("catalog:read", person_data=False))) -> dict:
    return BODY
def person(ctx=Depends(require("person:read"))) -> dict:
    return BODY
for path, f in (("/probe/bare", bare), ("/probe/guarded", guarded), ("/probe/person", person)):
    app.add_api_route(path, f, methods=["GET"])
audit_before_response(all_routes(app))
"""
BODY = {"master_id": "PM0", "facts": {"name": [{"value": "x" * 40}] * 20}}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(base: str, pid: int, paths: list[str], token: str, purpose: str, c: int, seconds: int) -> dict:
    before = cpu_seconds(pid)
    r = wrk(base, paths, token, purpose, c, seconds)
    r["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / max(r["requests"], 1)
    return r


def guard_checks_us(root: Path, rounds: int = 5, n: int = 2000) -> dict[str, float]:
    """CPU µs per request of the guard's checks alone — token, session, user, purpose, policy —
    called directly in one thread (the durable audit event is left out here: the load runs
    include it), best of ``rounds``."""
    import asyncio

    from starlette.requests import Request

    import zhijing.access.guard as guard
    from zhijing.access import tokens
    from zhijing.access.seed import DEMO_CASE
    from zhijing.api.app import create_app
    from zhijing.config import get_settings, reset_settings

    os.environ["ZHIJING_HOME"] = str(root)
    reset_settings()
    app, token = create_app(), tokens.issue(get_settings(), "xingzhen01")

    async def nothing(*_a, **_k) -> int:
        return 0

    class Unwritten:
        append_async = staticmethod(nothing)

    guard.audit_log = lambda *_: Unwritten()  # this process only: the checks, not the audit write
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"x-purpose", DEMO_CASE.encode())]
    scope = {"type": "http", "method": "GET", "path": "/api/persons/PM1", "headers": headers, "query_string": b"",
             "client": ("127.0.0.1", 1), "server": ("bench", 80), "scheme": "http", "app": app, "root_path": "", "path_params": {}}  # fmt: skip

    async def run() -> dict[str, float]:
        out = {}
        for label, dep in (("no purpose", guard.require("catalog:read", person_data=False)), ("person data", guard.require("person:read"))):
            async def once(dep=dep) -> None:
                g = dep(Request(dict(scope)), authorization=f"Bearer {token}", x_purpose=DEMO_CASE, purpose=None)
                await g.__anext__()
                await g.aclose()

            for _ in range(200):
                await once()
            best = []
            for _ in range(rounds):
                t = time.process_time()
                for _ in range(n):
                    await once()
                best.append((time.process_time() - t) / n * 1e6)
            out[label] = min(best)
        return out

    return asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "zhijing-bench-serve")
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--c", type=int, default=32)
    args = ap.parse_args()
    prepare(args.root, args.persons)
    from zhijing.access.seed import DEMO_CASE, seed_demo
    from zhijing.config import Settings
    from zhijing.lake.store import current_files

    settings = Settings(home=args.root)
    logins = {u: p for u, p, _ in seed_demo(settings)}
    masters = duckdb.sql(f"SELECT master_id, citizen_id FROM read_parquet({current_files(settings, 'entities', 'persons_master')!r}) "
                         "WHERE citizen_id IS NOT NULL").fetchall()  # fmt: skip
    asked = random.Random(7).sample(masters, 500)
    env = {**os.environ, "ZHIJING_HOME": str(args.root), "ZHIJING_SCHEDULE__SEAL_MINUTES": "0", "PYTHONPATH": os.getcwd()}
    work = Path(tempfile.mkdtemp())
    (work / "floor_app.py").write_text(FLOOR_APP.format(body=BODY))
    (work / "probe_app.py").write_text(PROBE_APP.format(body=BODY))
    rows, load = [], os.getloadavg()[0]
    try:
        port = _port()
        floor = _start([sys.executable, "-m", "uvicorn", "floor_app:app", "--port", str(port), "--log-level", "warning",
                        "--app-dir", str(work)], env, port)  # fmt: skip
        try:
            rows.append(("peer floor: fixed JSON (bare FastAPI)", timed(f"http://127.0.0.1:{port}", floor.pid, ["/floor"], "-", "-", args.c, args.seconds)))
        finally:
            _stop(floor)
        port = _port()
        proc = _start([sys.executable, "-m", "uvicorn", "probe_app:app", "--port", str(port), "--log-level", "warning",
                       "--app-dir", str(work)], env, port)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            token = httpx.post(f"{base}/api/auth/token", data={"username": "xingzhen01", "password": logins["xingzhen01"]}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}", "X-Purpose": DEMO_CASE}
            for m, cid in asked[:30]:  # warm: the registry and the stores opened once, not by 32 requests at once
                httpx.get(f"{base}/api/persons/{m}", headers=headers)
                httpx.get(f"{base}/api/persons/search", params={"q": cid}, headers=headers)
            for label, paths in (("zhijing app: bare route, same JSON", ["/probe/bare"]),
                                 ("zhijing app: guarded route (token, session, user; no purpose)", ["/probe/guarded"]),
                                 ("zhijing app: person-data guard (+ purpose, policy, durable audit event)", ["/probe/person"]),
                                 ("person file", [f"/api/persons/{m}" for m, _ in asked]),
                                 ("search by citizen ID", [f"/api/persons/search?q={cid}" for _, cid in asked])):  # fmt: skip
                rows.append((label, timed(base, proc.pid, paths, token, DEMO_CASE, args.c, args.seconds)))
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    checks = guard_checks_us(args.root)
    floor_rps = rows[0][1]["rps"]
    lines = [HEADING, "", f"{time.strftime('%Y-%m-%d')}, {args.persons:,} persons, one worker, c = {args.c}, {args.seconds} s per run, "
             f"wrk on 127.0.0.1; load average {load:.1f} at start. Machine: {machine()}.", "",
             "| what | req/s | × floor | server CPU ms / request | p50 ms | p99 ms | non-2xx |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {label} | {r['rps']:.0f} | {r['rps'] / floor_rps:.2f} | {r['cpu_ms']:.2f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['non2xx']} |"
              for label, r in rows]  # fmt: skip
    lines += ["", f"The guard's checks alone (token, session, user, purpose, policy; called directly, one thread, best of 5 × 2,000): "
              f"{checks['no purpose']:.0f} µs per request without a purpose, {checks['person data']:.0f} µs with one."]
    text = "\n".join(lines) + "\n"
    write("console_speed", text)
    into_benchmarks(HEADING, text)
    print(json.dumps({label: round(r["rps"] / floor_rps, 3) for label, r in rows}))


if __name__ == "__main__":
    main()
