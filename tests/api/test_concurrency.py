"""Many officers at once (issue 11): concurrent reads of different persons each answer with
exactly the person asked for, and the audit trail holds exactly one event per response,
naming what was shown."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import duckdb
import httpx

from zhijing.access.seed import DEMO_CASE
from zhijing.lake.store import current_files

THREADS, REQUESTS = 16, 240


def test_concurrent_person_reads_answer_exactly_what_was_asked(resolved_city, live_server):
    settings = resolved_city[0]
    masters = duckdb.sql(f"SELECT master_id, name, citizen_id FROM read_parquet({current_files(settings, 'entities', 'persons_master')!r}) "
                         "WHERE citizen_id IS NOT NULL AND name IS NOT NULL ORDER BY master_id").fetchall()  # fmt: skip
    asked = random.Random(11).sample(masters, 60)
    with live_server(settings.home) as (base, logins):
        from zhijing.access.audit.store import log_for
        from zhijing.config import get_settings

        token = httpx.post(f"{base}/api/auth/token", data={"username": "xingzhen01", "password": logins["xingzhen01"]},
                           timeout=60).json()  # the first login (Argon2, a cold server) passed httpx's default 5 s on a busy core
        headers = {"Authorization": f"Bearer {token['access_token']}", "X-Purpose": DEMO_CASE}
        last = log_for(get_settings()).events(1)
        start = last[0]["seq"] if last else 0  # the session's city is shared: count this test's events only

        def read(i: int) -> tuple[str, str, int, dict]:
            mid, name, cid = asked[i % len(asked)]
            with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
                if i % 3 == 2:  # a search by citizen ID answers with the person of that ID
                    r = c.get("/api/persons/search", params={"q": cid})
                    return "search", mid, r.status_code, r.json()
                r = c.get(f"/api/persons/{mid}")
                return "file", mid, r.status_code, r.json()

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(read, range(REQUESTS)))

        statuses = Counter(status for _, _, status, _ in results)
        assert statuses == {200: REQUESTS}, (statuses, [body for _, _, status, body in results if status != 200][:3])
        names = {mid: name for mid, name, _ in asked}
        for kind, mid, _, body in results:
            if kind == "file":
                assert body["master_id"] == mid and body["name"] == names[mid], (mid, body.get("master_id"))
            else:
                assert [r["master_id"] for r in body["results"]] == [mid], (mid, body)

        events = [e for e in log_for(get_settings()).events(5000)
                  if e["seq"] > start and e["actor"] == "xingzhen01" and e["operation"] == "consult"]
        shown = Counter(tuple(e["records"]) for e in events if e["outcome"] == "allowed")
        expected = Counter((mid,) for _, mid, _, _ in results)
        assert shown == expected  # one audit event per response, naming exactly the person shown
        assert log_for(get_settings()).verify().ok
