"""``zhijing resolve`` and ``zhijing persons ...``."""

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

    @app.command()
    def resolve(engine: str = typer.Option(None, help="duckdb | spark (default: the configured engine)"),
                incremental: bool = typer.Option(False, help="link only records new since the last run")) -> None:  # fmt: skip
        """Resolve every person mention of the lake to master persons (Splink)."""
        engine = engine or get_settings().engine
        if engine not in ("duckdb", "spark"):
            raise ZhijingError("engine must be duckdb or spark")
        from zhijing.summary import summary_table

        if incremental:
            from zhijing.entities.incremental import link_new

            console.print(summary_table("一人一档 incremental link", link_new(get_settings())))
        else:
            from zhijing.entities.resolve import resolve_all

            console.print(summary_table("一人一档 person master", resolve_all(get_settings(), engine=engine)))
        from zhijing.serving.build import build

        with console.status("发布服务库 building the serving store"):
            counts = build(get_settings())
        console.print(summary_table("服务库 serving store, rows", counts))
        from zhijing.derived.workbench.jobs import refresh

        # the presence table and search index follow the masters
        console.print(summary_table("研判工作台 presence and search index", refresh(get_settings())))

    @persons.command("show")
    def show(master_id: str, purpose: str = typer.Option(..., help="case:… / ticket:… / order:… / emergency:…"),
             user: str = typer.Option(..., help="your username")) -> None:  # fmt: skip
        """Print a person file — checked and audited like the API."""
        from zhijing.access.cli_access import consult

        console.print_json(json.dumps(consult(get_settings(), user, purpose, "person:read", master_id), ensure_ascii=False, default=str))

    @persons.command("links")
    def links(dataset: str = typer.Option(..., help="a declared dataset with person records"),
              purpose: str = typer.Option(..., help="why (free text: a reconciliation ticket is opened), or case:/ticket:/…"),
              fmt: str = typer.Option("csv", "--format", help="csv | parquet"),
              output: Path = typer.Option(None, help="file to write (default: standard output; csv only)"),
              user: str = typer.Option(None, help="default: the data center's operator account")) -> None:  # fmt: skip
        """Every record of a dataset with its master person, match probability and evidence — checked and audited."""
        from zhijing.access.cli_access import export_links

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
