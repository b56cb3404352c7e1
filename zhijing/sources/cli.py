"""``zhijing sources list``, and what ``sources add`` shows (``sources add`` registers the new
dataset in the catalog, and both it and ``sources check`` check model mappings against the model,
a layer above: they are wired at the top, zhijing/pipeline.py)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from zhijing.config import get_settings

console = Console()


def profile_table(spec) -> Table:
    """What the profiler found, column by column, beside the element it proposes."""
    p = spec.profile or {}
    endings = ", ".join(f"{k.upper()} {v:,}" for k, v in (p.get("line_endings") or {}).items() if v) or "-"
    t = Table(title=f"{p.get('file', spec.name)}: {p.get('rows', 0):,} rows · {p.get('encoding')}{' BOM' if p.get('bom') else ''}"
                    f" · {endings} · delimiter {p.get('delimiter')!r} · {'header' if p.get('header') else 'no header'}"
                    f"{' · quoted fields' if p.get('quoted') else ''}")  # fmt: skip
    for col in ("column 字段", "shapes 值形态", "filled", "distinct", "数据元 element", "valid 合规", "format / note"):
        t.add_column(col, justify="right" if col in ("filled", "distinct", "valid 合规") else "left")
    by_name = {c["name"]: c for c in p.get("columns", [])}
    for f in spec.fields:
        c = by_name.get(f.name, {})
        shapes = "  ".join(f"{s} {x:.0%}" for s, x in c.get("shapes", []))
        valid = c.get("valid")
        key = " [bold](key)[/bold]" if f.name == spec.key else ""
        t.add_row(f.name, shapes, f"{c.get('filled', 0):.1%}", f"{c.get('distinct', 0):,}", f.element + key,
                  "-" if valid is None else f"{valid:.1%}", " ".join(x for x in (f.format, c.get("note")) if x))  # fmt: skip
    return t


def show(spec) -> None:
    from zhijing.sources.spec import LINE_KEY

    console.print(profile_table(spec))
    for role in spec.persons:
        console.print(f"person role [bold]{role.role}[/bold]: " + ", ".join(f"{e}={f}" for e, f in role.element_fields().items()),
                      highlight=False)  # fmt: skip
    if not spec.persons:
        console.print("no column names a person: records of this dataset will not reach the person master")
    from zhijing.sources.model_proposal import describe

    for i, m in enumerate(spec.model):
        console.print(f"model[{i}] [bold]{describe(m)}[/bold]", highlight=False)
    if not spec.model:
        console.print("no model mapping proposed (no time with a place, two phones or two accounts): the records reach "
                      "search but no trajectory; add `model:` by hand (docs/model.md)")  # fmt: skip
    if spec.key == LINE_KEY:
        console.print(f"[yellow]note:[/yellow] no column is unique: key {LINE_KEY} names each record by its file and line "
                      "(a resent file in another order gets other record ids)", highlight=False)  # fmt: skip


def register(app: typer.Typer) -> None:
    sources = typer.Typer(help="数据接入 declare a department's sources (in <home>/sources, no code)", no_args_is_help=True)
    app.add_typer(sources, name="sources")

    @sources.command("list")
    def list_cmd() -> None:
        """Every declared dataset: the packaged city's and the deployment's."""
        from zhijing.sources.spec import load_spec

        t = Table(title="sources")
        for col in ("name", "title", "owner", "format", "path", "declared in"):
            t.add_column(col)
        for d in load_spec(get_settings()).datasets:
            t.add_row(d.name, d.title, d.owner, d.format, d.path, d.declared_in.name if d.declared_in else "(packaged city)")
        console.print(t)
