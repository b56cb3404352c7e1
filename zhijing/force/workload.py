"""Workload per officer (工作量): open cases, deadlines coming due, incidents worked.

Pure functions over rows the wiring gathers (``api/workload.py``): the procedure's cases and
time limits (cases), the dispatch assignments (command) and the roster (force) — force sits
beside cases and command and imports neither, so the one place that reads all three is the
app's wiring.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime


def incidents_by_officer(assignments: Iterable[tuple[str, datetime]], shifts: list[dict]) -> Counter:
    """Assignments (dispatch unit, dispatched at) credited to the officers whose shift crewed
    that unit at that moment."""
    crews: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for s in shifts:
        if s.get("cad_unit"):
            crews[s["cad_unit"]].append((s["starts_at"], s["ends_at"], s["officer"]))
    for spans in crews.values():
        spans.sort()
    out: Counter = Counter()
    for unit, at in assignments:
        spans = crews.get(unit)
        if not spans or at is None:
            continue
        for start, end, officer in spans[: bisect.bisect_right(spans, (at, at, "\U0010ffff"))]:
            if start <= at < end:
                out[officer] += 1
    return out


def rows(officers: list[dict], open_cases: dict[str, list[str]], deadlines: dict[str, list[dict]], incidents: Counter,
         on_duty: set[str]) -> list[dict]:  # fmt: skip
    """One row per officer: open cases, deadlines due (the nearest first), incidents, on duty now,
    and a load score (cases + 2 × deadlines due + incidents / 5) to sort the busiest first."""
    out = []
    for o in officers:
        u = o["username"]
        due = sorted(deadlines.get(u, []), key=lambda d: d["due_at"])
        cases = open_cases.get(u, [])
        out.append({**o, "open_cases": len(cases), "cases": cases[:20], "deadlines_due": len(due), "next_deadline": due[0] if due else None,
                    "incidents": incidents.get(u, 0), "on_duty": u in on_duty,
                    "load": round(len(cases) + 2 * len(due) + incidents.get(u, 0) / 5, 1)})  # fmt: skip
    return sorted(out, key=lambda r: (-r["load"], r["username"]))
