"""``zhijing persons ...`` (``zhijing resolve`` also builds the serving store and refreshes the
workbench, so it is wired at the top: zhijing/pipeline.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from zhijing.config import get_settings
from zhijing.errors import ZhijingError

console = Console()


def register(app: typer.Typer) -> None:
    persons = typer.Typer(help="一人一档 person master", no_args_is_help=True)
    app.add_typer(persons, name="persons")

    @persons.command("show")
    def show(master_id: str, purpose: str = typer.Option(..., help="case:… / ticket:… / order:… / emergency:…"),
             user: str = typer.Option(..., help="your username")) -> None:  # fmt: skip
        """Print a person file — checked and audited like the API."""
        from zhijing.entities.cli_access import consult

        console.print_json(json.dumps(consult(get_settings(), user, purpose, "person:read", master_id), ensure_ascii=False, default=str))

    @persons.command("links")
    def links(dataset: str = typer.Option(..., help="a declared dataset with person records"),
              purpose: str = typer.Option(..., help="why (free text: a reconciliation ticket is opened), or case:/ticket:/…"),
              fmt: str = typer.Option("csv", "--format", help="csv | parquet"),
              output: Path = typer.Option(None, help="file to write (default: standard output; csv only)"),
              user: str = typer.Option(None, help="default: the data center's operator account")) -> None:  # fmt: skip
        """Every record of a dataset with its master person, match probability and evidence — checked and audited."""
        from zhijing.entities.cli_access import export_links

        if fmt not in ("csv", "parquet"):
            raise ZhijingError("--format must be csv or parquet")
        if fmt == "parquet" and output is None:
            raise ZhijingError("parquet needs --output FILE")
        data, rows = export_links(get_settings(), user, purpose, dataset, fmt)
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            return
        output.write_bytes(data)
        Console(stderr=True).print(f"{rows:,} links of {dataset} written to {output}", highlight=False)

    @persons.command("judge")
    def judge(a: str, b: str, verdict: str, user: str = typer.Option(...)) -> None:
        """Record an analyst's judgement on a pair of mentions: same / different / unsure."""
        from zhijing.access.audit import AuditEvent, append
        from zhijing.entities import judgements

        try:
            jid = judgements.judge(get_settings(), a, b, verdict, user)
        except ValueError as exc:
            raise ZhijingError(str(exc)) from None
        append(AuditEvent(actor=user, operation="alter", outcome="allowed", records=[a, b], query=f"judge {verdict}"))
        console.print(f"judgement {jid} recorded")

    @persons.command("review")
    def review() -> None:
        """Conflicts held apart by the last run, with their reasons."""
        from zhijing.entities import judgements

        for item in judgements.review_queue(get_settings()):
            console.print(f"[{item['kind']}] {item['reason']}: {', '.join(item['mentions'][:6])}")
