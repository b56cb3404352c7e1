"""Laundering shapes in the transfer graph (the AML benchmarks' patterns: fan-in, fan-out,
cycle, scatter-gather, gather-scatter, bipartite), each found by a windowed join in DuckDB
(windows after DESIGN.md §9: about 12 h for fan-in/out, 5 days for scatter-gather, 20 days
for cycles), beside a plain daily-count threshold.

Only one-off edges of ≥ 1000 yuan are candidates: a payer–payee pair that recurs (rent,
wages, a shop's regulars) is ordinary business, whatever its shape."""

from __future__ import annotations

import duckdb
import pandas as pd

from zhijing.config import Settings
from zhijing.derived.risk import data

NAME, VERSION = "aml", "1"
PATTERNS = ("fan_in", "fan_out", "cycle", "scatter_gather", "gather_scatter", "bipartite")
MIN_AMOUNT, FAN, MIDDLES, SHARED = 1000, 5, 3, 3

EDGES = f"""
CREATE OR REPLACE TEMP TABLE e AS
SELECT payer, payee, amount, ts FROM tx
WHERE amount >= {MIN_AMOUNT} AND payer <> payee
  AND (payer, payee) IN (SELECT (payer, payee) FROM tx GROUP BY ALL HAVING count(*) = 1)
"""

SHAPES = {
    # windows of 12 h starting at each edge, with ≥ FAN distinct counterparties: hub + counterparties
    "fan_in": f"""
        WITH w AS (SELECT a.payee AS hub, a.ts AS t0, list(DISTINCT b.payer) AS cps FROM e a JOIN e b
                   ON b.payee = a.payee AND b.ts BETWEEN a.ts AND a.ts + INTERVAL 12 HOUR GROUP BY ALL
                   HAVING len(list(DISTINCT b.payer)) >= {FAN})
        SELECT hub, t0, cps FROM w""",
    "fan_out": f"""
        WITH w AS (SELECT a.payer AS hub, a.ts AS t0, list(DISTINCT b.payee) AS cps FROM e a JOIN e b
                   ON b.payer = a.payer AND b.ts BETWEEN a.ts AND a.ts + INTERVAL 12 HOUR GROUP BY ALL
                   HAVING len(list(DISTINCT b.payee)) >= {FAN})
        SELECT hub, t0, cps FROM w""",
    "scatter_gather": f"""
        SELECT a.payer AS hub, b.payee AS sink, list(DISTINCT a.payee) AS cps FROM e a JOIN e b
        ON b.payer = a.payee AND b.ts BETWEEN a.ts AND a.ts + INTERVAL 5 DAY AND b.payee <> a.payer
        GROUP BY ALL HAVING len(list(DISTINCT a.payee)) >= {MIDDLES}""",
    "cycle": """
        WITH RECURSIVE p(start, cur, t0, t, amount, path) AS (
            SELECT payer, payee, ts, ts, amount, [payer, payee] FROM e
            UNION ALL
            SELECT p.start, e.payee, p.t0, e.ts, e.amount, list_append(p.path, e.payee) FROM p JOIN e
            ON e.payer = p.cur AND e.ts > p.t AND e.ts <= p.t0 + INTERVAL 20 DAY
               AND e.amount BETWEEN 0.85 * p.amount AND p.amount
            WHERE len(p.path) <= 6 AND p.cur <> p.start AND NOT list_contains(p.path[2:], e.payee))
        SELECT DISTINCT start AS hub, path AS cps FROM p WHERE cur = start AND len(path) >= 4""",
    "bipartite": f"""
        SELECT a.payer AS hub, b.payer AS other, list(DISTINCT a.payee) AS cps FROM e a JOIN e b
        ON a.payee = b.payee AND a.payer < b.payer AND abs(epoch(a.ts) - epoch(b.ts)) <= 3 * 86400
        GROUP BY ALL HAVING len(list(DISTINCT a.payee)) >= {SHARED}""",
}


def _members(frame: pd.DataFrame, *cols: str) -> set[str]:
    out: set[str] = set()
    for _, r in frame.iterrows():
        out.update(r.cps)
        out.update(r[c] for c in cols)
    return out


def detect(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Each pattern's found instances over the table ``tx`` (payer, payee, amount, ts)."""
    con.execute(EDGES)
    found = {name: con.execute(sql).df() for name, sql in SHAPES.items()}
    # a hub that gathers then scatters within a day is one gather-scatter, not a fan-in and a fan-out
    fi, fo = found["fan_in"], found["fan_out"]
    both = fi.merge(fo, on="hub", suffixes=("_in", "_out"))
    both = both[(both.t0_out >= both.t0_in) & (both.t0_out <= both.t0_in + pd.Timedelta(hours=24))]
    found["gather_scatter"] = pd.DataFrame(
        {"hub": both.hub, "cps": [[*a, *b] for a, b in zip(both.cps_in, both.cps_out, strict=True)]}
    )
    # and a source that scatters to middles which gather into one sink is a scatter-gather
    sg = found["scatter_gather"]
    found["fan_in"] = fi[~fi.hub.isin(both.hub) & ~fi.hub.isin(sg.sink)]
    found["fan_out"] = fo[~fo.hub.isin(both.hub) & ~fo.hub.isin(sg.hub)]
    return found


def accounts(found: dict[str, pd.DataFrame]) -> dict[str, set[str]]:
    """Pattern → accounts taking part in any found instance of it."""
    extra = {"scatter_gather": ("hub", "sink"), "bipartite": ("hub", "other")}
    return {p: _members(found[p], *extra.get(p, ("hub",))) for p in PATTERNS}


BASELINE = """
SELECT DISTINCT acct FROM (
    SELECT payer AS acct, ts FROM tx WHERE amount >= 2000 UNION ALL SELECT payee, ts FROM tx WHERE amount >= 2000)
GROUP BY acct, date_trunc('day', ts) HAVING count(*) >= 3
"""


def baseline(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Plain threshold: an account with three or more transfers of ≥ 2000 yuan in one day."""
    return set(con.execute(BASELINE).df().acct)


def run(settings: Settings, as_of: pd.Timestamp | None = None) -> tuple[dict[str, set[str]], set[str], dict]:
    """(pattern → flagged accounts, baseline's accounts, pattern → instances) over the lake."""
    con = duckdb.connect()
    tx = data.transfers(settings, data.as_utc(as_of) if as_of is not None else None)
    con.register("tx_frame", tx)
    con.execute("CREATE TEMP TABLE tx AS SELECT payer, payee, amount, ts FROM tx_frame")
    found = detect(con)
    return accounts(found), baseline(con), found


def warnings(settings: Settings, as_of: pd.Timestamp) -> list[dict]:
    """One warning per hub account (the bank's account, not a person), naming every
    account of its found instances: a hub found in many windows is one warning, not one
    per window, and the inbox counts what the card counts."""
    _, _, found = run(settings, as_of)
    extra = {"scatter_gather": "sink", "bipartite": "other"}
    hubs: dict[str, tuple[list[str], set[str]]] = {}
    for pattern in PATTERNS:
        for r in found[pattern].itertuples():
            patterns, accts = hubs.setdefault(str(r.hub), ([], set()))
            patterns += [] if pattern in patterns else [pattern]
            accts.update(r.cps, [getattr(r, extra[pattern])] if pattern in extra else [])
    out = []
    for hub, (patterns, accts) in hubs.items():
        others = sorted(accts - {hub})
        out.append({"subject_kind": "account", "subject": hub, "label": patterns[0], "score": float(len(others)),
                    "evidence": {"pattern": patterns[0], "patterns": patterns, "accounts": others[:50],
                                 "n_accounts": len(others)}})  # fmt: skip
    return out
