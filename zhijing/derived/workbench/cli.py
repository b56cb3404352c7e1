"""``zhijing workbench build``: the presence table and the search index, on demand."""

from __future__ import annotations

import typer
from rich.console import Console

from zhijing.config import get_settings

console = Console()


def register(app: typer.Typer) -> None:
    wb = typer.Typer(help="合成作战 workbench: presence table and search index", no_args_is_help=True)
    app.add_typer(wb, name="workbench")

    @wb.command("build")
    def build(full: bool = typer.Option(False, help="rebuild the whole search index")) -> None:
        """Rebuild the presence table and update the search index to the lake's versions."""
        from zhijing.derived.workbench.jobs import refresh
        from zhijing.summary import summary_table

        console.print(summary_table("研判工作台 presence and search index", refresh(get_settings(), full_index=full)))
