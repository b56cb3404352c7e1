"""``zhijing graph build``: derive the relationship graph's edges into the derived zone."""

from __future__ import annotations

import typer
from rich.console import Console

from zhijing.config import get_settings

console = Console()


def register(app: typer.Typer) -> None:
    graph = typer.Typer(help="关系研判: the relationship graph's edges (derived zone).", no_args_is_help=True)
    app.add_typer(graph, name="graph")

    @graph.command("build")
    def build(engine: str = typer.Option("duckdb", help="duckdb | spark")) -> None:
        """Derive graph_edges and graph_evidence from the clean zone and the person master."""
        from zhijing.derived.graph import edges
        from zhijing.summary import summary_table

        console.print(summary_table("关系研判 graph, rows", edges.run(get_settings(), engine=engine)))
