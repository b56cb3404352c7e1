"""``zhijing model types|build``: the model's types, and the lake's model zone on demand."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from zhijing.config import get_settings

console = Console()


def register(app: typer.Typer) -> None:
    cmd = typer.Typer(help="要素模型 the model: types and the model zone (DESIGN §10)", no_args_is_help=True)
    app.add_typer(cmd, name="model")

    @cmd.command("types")
    def types_() -> None:
        """List the model's event types: roles, time, place, companion rule."""
        from zhijing.model.types import load

        model = load(get_settings())
        table = Table("type", "label", "roles", "time", "place", "companion")
        for name, ev in model.events.items():
            roles = ", ".join(f"{r}:{k}" for r, k in ev.roles.items())
            comp = f"{ev.companion.match} ({ev.companion.label})" if ev.companion else ""
            table.add_row(name, ev.label, roles, ev.time, ev.place, comp)
        console.print(table)

    @cmd.command("build")
    def build() -> None:
        """Bring the model tables up to date with the clean zone (only changed datasets)."""
        from zhijing.model.build import build as run

        report = run(get_settings())
        table = Table("type", "rows", "without time", "without place")
        for name, rows in report.rows.items():
            untimed = sum(v for k, v in report.untimed.items() if k.startswith(name + "/"))
            unplaced = sum(v for k, v in report.unplaced.items() if k.startswith(name + "/"))
            table.add_row(name, f"{rows:,}", f"{untimed:,}" if untimed else "", f"{unplaced:,}" if unplaced else "")
        console.print(table)
        console.print(f"rebuilt: {', '.join(report.rebuilt) or 'nothing (up to date)'}")
