"""Risk platform at scale, each beside a plain DuckDB query (or the plain baseline) doing
the same joins in the same run:

1. economic-crime scoring of a day of transfers (the six laundering-shape joins and the
   pyramid fee trees) vs the plain daily-count threshold and a bare 12-hour self-join;
2. "六同" contact tracing of 100 index cases in a synthetic city (tickets, lodging,
   workplaces, households and entity links) vs the bare co-location joins;
3. hot spots: fitting the self-exciting model on a year of incidents and forecasting the
   next 28 days, vs the kernel-density baseline over the same days.

    python -m bench.bench_risk --transfers 1000000 --persons 1000000 --incidents 4000
"""

from __future__ import annotations

import argparse
import os
import time

import duckdb
import numpy as np

from bench.common import machine, write
from zhijing.derived.risk import aml, contacts, hotspots, pyramid
from zhijing.model import types as model_types


def _timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def transfers(n: int) -> list[str]:
    con = duckdb.connect()
    accounts = max(1000, n // 5)
    con.execute("SELECT setseed(0.14)")
    con.execute(f"""CREATE TABLE tx AS SELECT 'A' || CAST(floor(random() * {accounts}) AS BIGINT) AS payer,
        'A' || CAST(floor(random() * {accounts}) AS BIGINT) AS payee,
        round(exp(5.5 + 1.2 * sqrt(-2 * ln(random() + 1e-12)) * cos(2 * pi() * random())), 2) AS amount,
        TIMESTAMPTZ '2026-03-01 00:00:00+08' + to_seconds(CAST(floor(random() * 86400) AS BIGINT)) AS ts
        FROM range({n})""")  # fmt: skip
    found, wall, cpu = _timed(lambda: aml.detect(con))
    base, bwall, bcpu = _timed(lambda: aml.baseline(con))
    _, jwall, jcpu = _timed(lambda: con.execute("""SELECT count(*) FROM tx a JOIN tx b ON b.payee = a.payee
        AND b.ts BETWEEN a.ts AND a.ts + INTERVAL 12 HOUR""").fetchall())  # fmt: skip
    frame = con.execute("SELECT payer, payee, amount, ts FROM tx").df()
    trees, twall, tcpu = _timed(lambda: pyramid.trees(frame))
    shapes = ", ".join(f"{k} {len(v)}" for k, v in found.items())
    return [
        f"| laundering shapes (6 windowed joins) | {n:,} | {wall:.1f} | {cpu:.1f} | {shapes} |",
        f"| pyramid fee trees (pandas) | {n:,} | {twall:.1f} | {tcpu:.1f} | {len(trees):,} candidate trees, "
        f"{int(((trees['size'] >= pyramid.MIN_SIZE) & (trees.depth >= pyramid.MIN_DEPTH)).sum())} flagged |",
        f"| peer: plain daily-count threshold (DuckDB) | {n:,} | {bwall:.1f} | {bcpu:.1f} | {len(base):,} accounts |",
        f"| peer: bare 12 h fan-in self-join count (DuckDB) | {n:,} | {jwall:.1f} | {jcpu:.1f} | |",
    ]


def city(con: duckdb.DuckDBPyConnection, persons: int) -> None:
    """The model tables contact tracing reads (trip, stay, membership, family) and the entity
    links of a synthetic city (master id = P<number>); each row's mention is its own."""
    con.execute("SELECT setseed(0.6)")
    p = persons
    day = "TIMESTAMPTZ '2026-01-01 00:00:00+08' + to_days(CAST(floor(random() * 365) AS INT))"
    n = {"rail": p // 2, "flight": p // 10, "coach": p // 5}
    trips = {  # (service, hour of departure, carriage, seat)
        "rail": ("'G' || CAST(floor(random() * 400) AS INT)", 8, "lpad(CAST(floor(random() * 16) + 1 AS VARCHAR), 2, '0')",
                 "lpad(CAST(floor(random() * 20) + 1 AS VARCHAR), 2, '0') || 'A'"),
        "flight": ("'MU' || CAST(floor(random() * 300) AS INT)", 9, "NULL", "CAST(floor(random() * 40) + 1 AS VARCHAR) || 'C'"),
        "coach": ("'B' || CAST(floor(random() * 900) AS INT)", 7, "NULL", "CAST(floor(random() * 50) + 1 AS VARCHAR)"),
    }  # fmt: skip
    con.execute("CREATE TABLE trip AS " + " UNION ALL ".join(
        f"""SELECT '{kind}' AS dataset, '{kind}' || i AS record_id, '{kind}' AS place_kind, ts, service || '@' || CAST(ts::DATE AS VARCHAR) AS place_id,
                   carriage, seat, '{kind}|' || i || '|passenger' AS passenger, CAST(floor(random() * {p}) AS BIGINT) AS _who
            FROM (SELECT i, {svc} AS service, {day} + INTERVAL {hour} HOUR AS ts, {car} AS carriage, {seat} AS seat FROM range({n[kind]}) t(i))"""
        for kind, (svc, hour, car, seat) in trips.items()))  # fmt: skip
    con.execute(f"""CREATE TABLE stay AS SELECT 'lodging' AS dataset, 'LD' || i AS record_id,
        'H' || CAST(floor(random() * {max(20, p // 1000)}) AS INT) AS place_id, ts, ts + INTERVAL 36 HOUR AS ts_end,
        'lodging|' || i || '|guest' AS guest, CAST(floor(random() * {p}) AS BIGINT) AS _who
        FROM (SELECT i, {day} + INTERVAL 14 HOUR AS ts FROM range({p * 3 // 10}) t(i))""")  # fmt: skip
    con.execute(f"""CREATE TABLE membership AS SELECT 'staff' AS dataset, 'QR' || i AS record_id,
        'U' || CAST(floor(random() * {max(10, p // 50)}) AS INT) AS organization, 'staff|' || i || '|member' AS member,
        CAST(floor(random() * {p}) AS BIGINT) AS _who FROM range({p // 10}) t(i)""")  # fmt: skip
    con.execute(f"""CREATE TABLE family AS SELECT 'hukou' AS dataset, 'RK' || i AS record_id, 'HH' || CAST(floor(i / 3) AS BIGINT) AS household,
        'hukou|' || i || '|person' AS person, i AS _who FROM range({p}) t(i)""")  # each person has one hukou row  # fmt: skip
    con.execute("CREATE TABLE person_links AS " + " UNION ALL ".join(
        f"SELECT {role} AS mention_id, 'P' || _who AS master_id FROM {t}"
        for t, role in (("trip", "passenger"), ("stay", "guest"), ("membership", "member"), ("family", "person"))))  # fmt: skip


TABLES = ("trip", "stay", "membership", "family")


def tracing(persons: int, cases: int = 100) -> list[str]:
    con = duckdb.connect()
    _, build, _ = _timed(lambda: city(con, persons))
    rng = np.random.default_rng(14)
    index = [f"P{i}" for i in rng.choice(persons, cases, replace=False)]
    found, wall, cpu = _timed(lambda: contacts.trace_on(con, index))
    peer_sql = " UNION ALL ".join(
        f"""SELECT count(*) AS n FROM ({sql}) r JOIN person_links l ON l.mention_id = r.mention
            JOIN ({sql}) r2 ON r2.channel = r.channel AND r2.grp = r.grp JOIN person_links l2 ON l2.mention_id = r2.mention
            WHERE l.master_id IN (SELECT master_id FROM idx)"""
        for sql in contacts.spaces(model_types.packaged(), set(TABLES)))  # fmt: skip
    peer, pwall, pcpu = _timed(lambda: con.execute(f"SELECT sum(n) FROM ({peer_sql})").fetchone()[0])
    rows = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES)
    return [
        f"| 六同 trace, {cases} index cases (ranked, per channel) | {persons:,} | {rows:,} | {wall:.1f} | {cpu:.1f} | {len(found):,} contacts |",
        f"| peer: bare co-location joins (DuckDB, count only) | {persons:,} | {rows:,} | {pwall:.1f} | {pcpu:.1f} | {peer:,} pairs |",
        f"| (building the synthetic model tables and links) | {persons:,} | {rows:,} | {build:.1f} | | |",
    ]


def hot(n_background: int, days: int = 28) -> list[str]:
    """A year of a planted self-exciting process on a 20 km square city."""
    rng = np.random.default_rng(5)
    side = 20_000.0
    hot_c = rng.uniform(2000, side - 2000, (8, 2))
    k = rng.integers(0, 8, n_background)
    xy = np.where(
        rng.random((n_background, 1)) < 0.5,
        hot_c[k] + rng.normal(0, 600, (n_background, 2)),
        rng.uniform(0, side, (n_background, 2)),
    )
    t = rng.uniform(0, 365 + days, n_background)
    pts, ts, queue = list(xy), list(t), list(range(n_background))
    while queue:
        i = queue.pop()
        for _ in range(rng.poisson(0.45)):
            pts.append(pts[i] + rng.normal(0, 150, 2))
            ts.append(ts[i] + rng.exponential(3.0))
            queue.append(len(ts) - 1)
    xy, t = np.array(pts), np.array(ts)
    keep = t < 365 + days
    xy, t = xy[keep], t[keep]
    cells = (np.stack(np.meshgrid(np.arange(100), np.arange(100)), -1).reshape(-1, 2) + 0.5) * 200.0
    train = t < 365
    model, fwall, fcpu = _timed(lambda: hotspots.fit(xy[train], t[train]))

    def forecast():
        base = model.background(cells)
        return [base + model.triggered(cells, xy, t, d + 0.5, d) for d in range(365, 365 + days)]

    def kde():
        return [hotspots.kde(cells, xy[t < d]) for d in range(365, 365 + days)]

    _, hwall, hcpu = _timed(forecast)
    _, kwall, kcpu = _timed(kde)
    n = int(train.sum())
    fit = f"θ {model.theta:.2f} (0.45), 1/ω {1 / model.omega:.1f} d (3), σ {model.sigma:.0f} m (150)"
    return [
        f"| self-exciting fit (EM) on a year | {n:,} | {fwall:.1f} | {fcpu:.1f} | {fit} |",
        f"| self-exciting forecast, {days} days × {len(cells):,} cells | {n:,} | {hwall:.1f} | {hcpu:.1f} | |",
        f"| peer: KDE forecast, same days and cells | {n:,} | {kwall:.1f} | {kcpu:.1f} | |",
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--transfers", type=int, nargs="*", default=[1_000_000])
    ap.add_argument("--persons", type=int, nargs="*", default=[100_000])
    ap.add_argument(
        "--incidents",
        type=int,
        nargs="*",
        default=[2000],
        help="background events of the year (offspring on top)",
    )
    ap.add_argument("--name", default="risk", help="bench/out/<name>.md")
    a = ap.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"## Risk platform (`bench/bench_risk.py`)\n\nMachine: {machine()}; load average at start {load}.\n"
    ]
    sections = [
        (
            a.transfers,
            transfers,
            "| economic-crime scoring | transfers (one day) | wall s | CPU s | found |\n| --- | ---: | ---: | ---: | --- |",
        ),
        (
            a.persons,
            tracing,
            "| contact tracing | persons | source rows | wall s | CPU s | result |\n| --- | ---: | ---: | ---: | ---: | --- |",
        ),
        (
            a.incidents,
            hot,
            "| hot spots | incidents (year) | wall s | CPU s | fitted (planted) |\n| --- | ---: | ---: | ---: | --- |",
        ),
    ]
    for sizes, fn, header in sections:
        if not sizes:
            continue
        lines += ["", header]
        for n in sizes:
            lines += fn(n)
            write(a.name, "\n".join(lines) + "\n")  # each figure kept as soon as it is measured


if __name__ == "__main__":
    main()
