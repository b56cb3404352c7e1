"""``zhijing procedure``: generate a year of cases, replay a case log through the state machine,
run the supervision rules."""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console

from zhijing.access.audit.store import AuditEvent, append
from zhijing.cases import seized
from zhijing.config import get_settings
from zhijing.localtime import instant

out = Console()


def _audit(settings):
    actor = f"cli:{getpass.getuser()}"

    def audit(operation: str, records: list[str], query: str) -> None:
        append(AuditEvent(actor=actor, operation=operation, outcome="allowed", records=records, query=query), settings)

    return audit


def register(app: typer.Typer) -> None:
    proc = typer.Typer(help="Case procedure (办案程序): generate a year, replay a case log, supervision (执法监督).", no_args_is_help=True)
    app.add_typer(proc, name="procedure")

    @proc.command("generate")
    def generate(out_dir: Path = typer.Option(..., "--out", help="folder for the case log and truth/procedure.json"),
                 cases: int = typer.Option(20_000, help="cases accepted over the year"), seed: int = typer.Option(23),
                 year: int = typer.Option(2026)) -> None:  # fmt: skip
        """A year of a county's cases as its case-handling system logs them, faults planted, truth beside."""
        from zhijing.sources.generate.procedure import year_of_cases

        y = year_of_cases(cases, seed=seed, year=year)
        y.write(out_dir)
        out.print(f"{len(y.cases):,} cases, {len(y.events):,} events → {out_dir}; planted: "
                  + ", ".join(f"{k} {len(v)}" for k, v in y.truth.items()))  # fmt: skip

    @proc.command("replay")
    def replay_cmd(folder: Path = typer.Argument(..., help="a folder written by `zhijing procedure generate`")) -> None:
        """Check every step and document of the log against the rules; store the lawful ones (补录)."""
        from zhijing.cases.procedure import replay

        settings = get_settings()
        tables = replay.read(folder)
        r = replay.replay(settings, tables, audit=_audit(settings))
        items, records = replay.fresh_property(r, tables["seizures"], tables["custody"])
        if len(items):  # the seized property and its custody records, into custody's store
            seized.load_generated(settings, items, records)
        out.print(f"{r.cases:,} cases, {r.accepted:,} events accepted, {len(r.refused):,} refused in {r.seconds:.1f} s")
        for x in r.refused[:10]:
            out.print(f"  refused {x['case_id']} #{x['n']}: {x['message']}", highlight=False)

    @proc.command("supervise")
    def supervise(as_of: str = typer.Option(None, help="judge the limits as of this time (ISO; default now)")) -> None:
        """Run the supervision rules; the flags go to 法制 and 督察."""
        from zhijing.cases.procedure import supervision

        at: datetime | None = instant(as_of, naive="local") if as_of else None
        r = supervision.run(get_settings(), as_of=at, property_flags=seized.flags)
        out.print(f"{sum(r['flags'].values()):,} flags in {r['seconds']:.2f} s: " + ", ".join(f"{k} {v}" for k, v in r["flags"].items()))
