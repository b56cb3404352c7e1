"""``zhijing catalog | quarantine | purge``, and the tables ``zhijing ingest`` prints (the command
itself is wired at the top, zhijing/pipeline.py: it also builds the model and refreshes the index)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from zhijing.config import get_settings
from zhijing.errors import ZhijingError

console = Console()


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def summary_table(summary: dict) -> Table:
    t = Table(title=f"ingest ({summary['engine']})")
    for col in ("dataset", "status", "rows in", "clean", "quarantined", "duplicates", "quality"):
        t.add_column(col, justify="left" if col in ("dataset", "status") else "right")
    for r in summary["datasets"]:
        status = r["status"] if not r.get("error") else f"[red]failed[/red]: {r['error'][:60]}"
        t.add_row(r["dataset"], status, f"{r['rows_in']:,}", f"{r['clean']:,}", f"{r['quarantined']:,}",
                  f"{r['duplicates']:,}", _pct(r["quality"]))  # fmt: skip
    tot = summary["totals"]
    t.add_row("[bold]total[/bold]", "", f"{tot['rows_in']:,}", f"{tot['clean']:,}", f"{tot['quarantined']:,}",
              f"{tot['duplicates']:,}", "")  # fmt: skip
    return t


def files_table(summary: dict) -> Table:
    """The accounting identity per source file: rows in = clean + quarantined + duplicates."""
    t = Table(title="rows in = clean + quarantined + duplicates, per file")
    for col in ("dataset", "file", "rows in", "clean", "quarantined", "duplicates", ""):
        t.add_column(col, justify="left" if col in ("dataset", "file", "") else "right")
    for r in summary["datasets"]:
        for f in r.get("files", []):
            t.add_row(r["dataset"], f["origin"], f"{f['rows_in']:,}", f"{f['clean']:,}", f"{f['quarantined']:,}",
                      f"{f['duplicates']:,}", "[green]=[/green]" if f["balanced"] else "[red]≠[/red]")  # fmt: skip
    return t


def register(app: typer.Typer) -> None:
    catalog_app = typer.Typer(help="资源目录: the catalog of datasets.", no_args_is_help=True)
    app.add_typer(catalog_app, name="catalog")

    @catalog_app.command("list")
    def catalog_list() -> None:
        """Every dataset with owner, grade, rows, quality and freshness."""
        from zhijing.governance.catalog import list_entries

        t = Table(title="资源目录")
        for col in ("name", "title", "owner", "grade", "pi", "rows", "quarantined", "quality", "fresh"):
            t.add_column(col)
        for e in list_entries(get_settings()):
            t.add_row(e["name"], e["title"] or "", e["owner"] or "", e["grade"] or "", e["pi"] or "",
                      _n(e["rows"]), _n(e["quarantined"]), _pct(e["quality"]), (e["freshness"] or "-")[:19])  # fmt: skip
        console.print(t)

    @catalog_app.command("show")
    def catalog_show(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
        """One dataset: schema with data elements and grades, lineage, quality, ingests."""
        from zhijing.governance.catalog import get

        e = get(get_settings(), name)
        if e is None:
            raise ZhijingError(f"dataset {name!r} is not catalogued (run `zhijing ingest`)")
        if as_json:
            print(json.dumps(e, ensure_ascii=False, indent=1, default=str))
            return
        console.print(f"[bold]{e['name']}[/bold] {e['title']} — {e['owner']}  grade {e['grade']}  PI {e['pi']}  "
                      f"retention {e['retention_days']} d  rows {_n(e['rows'])}  fresh {e['freshness']}")  # fmt: skip
        console.print(e["description"] or "")
        t = Table(title="fields")
        for col in ("field", "element (数据元)", "title", "grade"):
            t.add_column(col)
        for f in e["fields"]:
            t.add_row(f["name"], f["element"], f.get("title") or "", f.get("grade") or "")
        console.print(t)
        if e["quality"]:
            console.print("quality: " + "  ".join(f"{k} {_pct(v)}" for k, v in e["quality"].items() if k != "measured_at"))
        console.print("lineage: " + json.dumps({k: v for k, v in e["lineage"].items() if k != "raw_keys"}, ensure_ascii=False))
        for h in e["ingests"][:5]:
            console.print(f"  ingest {h['ingest_id']} {h['status']} in {h['rows_in']} clean {h['clean']} "
                          f"quarantined {h['quarantined']} duplicates {h['duplicates']} {h.get('error') or ''}")  # fmt: skip

    @app.command("quarantine")
    def quarantine_cmd(name: str, limit: int = 20) -> None:
        """Reasons and first rows in a dataset's quarantine (raw person data: local operators only)."""
        from zhijing.governance.quarantine import reason_counts, rows

        settings = get_settings()
        for reason, n in reason_counts(settings, name).items():
            console.print(f"{n:>8,}  {reason}")
        for r in rows(settings, name, limit):
            console.print(f"{r['_source_file']}:{r['_source_line']}  {r['reason_text']}", highlight=False)

    @app.command()
    def purge(
        as_of: str = typer.Option(None, help="pretend today is this date (YYYY-MM-DD)"),
        dry_run: bool = typer.Option(False, help="only count what would go"),
    ) -> None:
        """Remove data older than each dataset's retention period (logged and audited)."""
        from zhijing.governance.retention import purge as run

        when = datetime.fromisoformat(as_of).replace(tzinfo=UTC) if as_of else None
        for r in run(get_settings(), when, dry_run=dry_run):
            console.print(f"{r['dataset']:<22} before {r['cutoff'][:10]}  removed {r['removed']}" + (" (dry run)" if dry_run else ""))


def _n(x: int | None) -> str:
    return "-" if x is None else f"{x:,}"
