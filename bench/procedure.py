"""A county's year of cases (≥ 20,000) replayed through the procedure's state machine, then
every supervision rule over all of it — beside plain peers doing the same work: the events
written with no check at all (sqlite3 executemany), and one hand-written SQL query of the same
supervision conditions on the same database.

    python -m bench.procedure [--cases 20000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.common import into_benchmarks, machine, write
from zhijing.cases import seized
from zhijing.cases.procedure import replay, store, supervision
from zhijing.cases.procedure.rules import load
from zhijing.config import Settings
from zhijing.sources.generate.procedure import year_of_cases

HEADING = "## Case procedure (办案程序): a year replayed, supervision over all of it"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def plain_supervision(db: Path, as_of: str, grace_hours: int) -> dict[str, int]:
    """The peer: the same conditions as one hand-written SQL query per rule, rows fetched."""
    need = ", ".join(f"('{k}', '{a}', '{d}')" for k, a, d in supervision._required(load()))
    final = ", ".join(f"'{s}'" for m in load().machines.values() for s in m.final)
    sql = {
        "limits": "SELECT case_id, name, person, custodial FROM proc_limits WHERE stopped_at > due_at OR (stopped_at IS NULL AND due_at < ?)",
        "documents": f"""WITH need(kind, action, document) AS (VALUES {need})
            SELECT s.case_id, s.person, n.document FROM proc_steps s JOIN proc_cases c ON c.id = s.case_id
            JOIN need n ON n.kind = c.kind AND n.action = s.action
            WHERE julianday(s.at) <= julianday(?) - {grace_hours} / 24.0 AND NOT EXISTS (
              SELECT 1 FROM proc_documents d WHERE d.case_id = s.case_id AND d.kind = n.document
              AND coalesce(d.person, '') = coalesce(s.person, '')
              AND julianday(d.issued_at) BETWEEN julianday(s.at) AND julianday(s.at) + {grace_hours} / 24.0)""",
        "unapproved": f"SELECT case_id, action, to_state IN ({final}) FROM proc_steps WHERE approval_ok = 0",
        "property": """SELECT i.id, i.case_id FROM property_items i LEFT JOIN property_custody e ON e.property_id = i.id
            WHERE e.property_id IS NULL""",
    }  # fmt: skip
    with sqlite3.connect(db) as con:
        return {k: len(con.execute(q, (as_of,) if "?" in q else ()).fetchall()) for k, q in sql.items()}


def plain_supervision_pg(url: str, as_of, grace_hours: int) -> dict[str, int]:
    """The peer on PostgreSQL: the same conditions, hand-written."""
    import sqlalchemy as sa

    need = ", ".join(f"('{k}', '{a}', '{d}')" for k, a, d in supervision._required(load()))
    sql = {
        "limits": "SELECT case_id, name FROM proc_limits WHERE stopped_at > due_at OR (stopped_at IS NULL AND due_at < :t)",
        "documents": f"""WITH need(kind, action, document) AS (VALUES {need})
            SELECT s.case_id, n.document FROM proc_steps s JOIN proc_cases c ON c.id = s.case_id
            JOIN need n ON n.kind = c.kind AND n.action = s.action
            WHERE s.at <= CAST(:t AS timestamptz) - interval '{grace_hours} hours' AND NOT EXISTS (
              SELECT 1 FROM proc_documents d WHERE d.case_id = s.case_id AND d.kind = n.document
              AND coalesce(d.person, '') = coalesce(s.person, '')
              AND d.issued_at BETWEEN s.at AND s.at + interval '{grace_hours} hours')""",
        "unapproved": "SELECT case_id, action FROM proc_steps WHERE NOT approval_ok",
    }  # fmt: skip
    eng = sa.create_engine(url)
    with eng.connect() as con:
        out = {k: len(con.execute(sa.text(q), {"t": as_of} if ":t" in q else {}).fetchall()) for k, q in sql.items()}
    eng.dispose()
    return out


def on_postgresql(pg: str, rows: dict, horizon) -> str:
    """The year's store on PostgreSQL (a database of its own, dropped after): write, supervision, peer."""
    import uuid

    import sqlalchemy as sa

    admin = sa.create_engine(pg).execution_options(isolation_level="AUTOCOMMIT")
    name = f"zj_bench_procedure_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = pg.rsplit("/", 1)[0] + f"/{name}"
    try:
        settings = Settings(home=Path(tempfile.mkdtemp(prefix="bench-procedure-pg-")), metadata_url=url)
        c0, t = _cpu(), time.perf_counter()
        store.bulk_insert(settings, rows)
        write_s, write_cpu = time.perf_counter() - t, _cpu() - c0
        with store.engine(settings).begin() as c:
            c.execute(sa.text("ANALYZE"))
        c0, t = _cpu(), time.perf_counter()
        found = supervision.findings(settings, as_of=horizon)
        sup_s, sup_cpu = time.perf_counter() - t, _cpu() - c0
        t = time.perf_counter()
        peer = plain_supervision_pg(url, horizon, load().supervision.document_grace_hours)
        peer_s = time.perf_counter() - t
        n = sum(len(v) for k, v in found.items() if not k.startswith("property"))
        store.engine(settings).dispose()
        from zhijing.access import models

        models.engine_for(url).dispose()
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return (f"| PostgreSQL: write the lawful ones (SQLAlchemy executemany) | {write_s:.1f} s ({write_cpu:.1f} CPU-s in Python) | — | — |\n"
            f"| PostgreSQL: every rule over the year ({n:,} findings) | **{sup_s:.2f} s** ({sup_cpu:.2f} CPU-s in Python) | "
            f"{peer_s:.2f} s ({sum(peer.values()):,} rows) | the same hand-written SQL on PostgreSQL |\n")


def plain_write(events, db: Path) -> float:
    """The peer of the replay's write: the raw events into one table, no check, one transaction."""
    rows = [tuple(str(v) for v in r) for r in events.itertuples(index=False)]
    t = time.perf_counter()
    with sqlite3.connect(db) as con:
        con.execute(f"CREATE TABLE raw ({', '.join(f'c{i}' for i in range(len(events.columns)))})")
        con.executemany(f"INSERT INTO raw VALUES ({', '.join('?' * len(events.columns))})", rows)
    return time.perf_counter() - t


def main(cases: int, pg: str | None) -> None:
    load_avg = os.getloadavg()
    t = time.perf_counter()
    year = year_of_cases(cases, seed=23)
    gen_s = time.perf_counter() - t
    home = Path(tempfile.mkdtemp(prefix="bench-procedure-"))
    settings = Settings(home=home)
    tables = {"cases": year.cases, "events": year.events}
    c0, t = _cpu(), time.perf_counter()
    checked = replay.replay(None, tables, write=False)
    check_s, check_cpu = time.perf_counter() - t, _cpu() - c0
    c0, t = _cpu(), time.perf_counter()
    store.bulk_insert(settings, checked.rows)
    write_s, write_cpu = time.perf_counter() - t, _cpu() - c0
    peer_write_s = plain_write(year.events, home / "plain.db")
    t = time.perf_counter()
    seized.load_generated(settings, year.seizures, year.custody)
    property_s = time.perf_counter() - t
    planted = {(x["case_id"], x["n"]) for x in year.truth["illegal"]}
    refused = {(x["case_id"], x["n"]) for x in checked.refused}
    accepted_illegal = len(planted - refused)
    c0, t = _cpu(), time.perf_counter()
    found = supervision.findings(settings, as_of=year.horizon, property_flags=seized.flags)
    sup_s, sup_cpu = time.perf_counter() - t, _cpu() - c0
    db = settings.state_dir / "metadata.db"
    as_of = year.horizon.strftime("%Y-%m-%d %H:%M:%S.%f")
    t = time.perf_counter()
    peer = plain_supervision(db, as_of, load().supervision.document_grace_hours)
    peer_s = time.perf_counter() - t
    pg_rows = on_postgresql(pg, checked.rows, year.horizon) if pg else ""
    ours = {"limits": len(found["deadline_breach"]) + len(found["held_past_limit"]), "documents": len(found["missing_document"]),
            "unapproved": len(found["closed_without_approval"]) + len(found["step_without_approval"]),
            "property": len(found["property_without_custody"])}  # fmt: skip
    keys = {"deadline_breach": ("deadline_breaches", lambda f: (f["case_id"], f["subject"]), lambda x: (x["case_id"], x["limit"])),
            "held_past_limit": ("held_past_limit", lambda f: (f["case_id"], f["subject"], f["person"]), lambda x: (x["case_id"], x["limit"], x["person"])),
            "missing_document": ("missing_documents", lambda f: (f["case_id"], f["subject"], f["person"] or ""), lambda x: (x["case_id"], x["document"], x["person"])),
            "closed_without_approval": ("unapproved_closures", lambda f: (f["case_id"], f["subject"]), lambda x: (x["case_id"], x["action"])),
            "property_without_custody": ("custody_gaps", lambda f: (f["case_id"], f["subject"]), lambda x: (x["case_id"], x["item_id"]))}  # fmt: skip
    score_rows = []
    for rule, (truth, fk, tk) in keys.items():
        want, got = {tk(x) for x in year.truth[truth]}, {fk(f) for f in found[rule]}
        score_rows.append(f"| {rule} | {len(want)} | {len(got)} | {len(want & got) / max(len(want), 1):.3f} | {len(want & got) / max(len(got), 1):.3f} |")
    n_events = len(year.events)
    text = f"""{HEADING}

Machine: {machine()}; load average when started {load_avg[0]:.1f}, {load_avg[1]:.1f}, {load_avg[2]:.1f} (the 2 cores were shared with
other helpers' jobs: wall times are inflated; CPU time is the process's own). Store: SQLite (the embedded default).
`python -m bench.procedure --cases {cases}`; generated in {gen_s:.1f} s (not part of the figures).

| work | ours | peer | peer does |
| --- | ---: | ---: | --- |
| replay: check {n_events:,} events of {cases:,} cases through the state machine | {check_s:.1f} s ({check_cpu:.1f} CPU-s, {n_events / check_s:,.0f} events/s) | — | — |
| replay: write the lawful ones (cases, steps, measures, limits, documents) | {write_s:.1f} s ({write_cpu:.1f} CPU-s) | {peer_write_s:.1f} s | the raw events into one table, no check (sqlite3 executemany) |
| custody's import of {len(year.seizures):,} seized items and their records (`seized.load_generated`) | {property_s:.1f} s | — | — |
| supervision: every rule over the year (incl. evidence) | **{sup_s:.2f} s** ({sup_cpu:.2f} CPU-s) | {peer_s:.2f} s | one hand-written SQL query per condition, rows fetched |
{pg_rows}
SQLite runs in the process, so its query time is in the CPU column: the supervision rules need about
{sup_cpu:.1f} CPU-s over the year; the wall time above is what the shared machine gave them.

Unlawful steps planted {len(planted)}, refused {len(refused)}, **accepted {accepted_illegal}**; lawful steps refused
{len(refused - planted)}. Findings ours / peer: limits {ours['limits']} / {peer['limits']}, missing documents
{ours['documents']} / {peer['documents']}, unapproved steps {ours['unapproved']} / {peer['unapproved']}, property without
custody {ours['property']} / {peer['property']}.

| rule | planted | flagged | recall | precision |
| --- | ---: | ---: | ---: | ---: |
{chr(10).join(score_rows)}
"""
    write("procedure", text)
    into_benchmarks(HEADING, text)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=20_000)
    ap.add_argument("--pg", default=None, help="also on PostgreSQL (an admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)")
    args = ap.parse_args()
    main(args.cases, args.pg)
