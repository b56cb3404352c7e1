"""``zhijing generate``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from zhijing.config import get_settings


def register(app: typer.Typer) -> None:
    @app.command()
    def generate(
        persons: int = typer.Option(20_000, help="people in the city (10^4 .. 10^7)"),
        seed: int = typer.Option(7, help="random seed: same seed, same city"),
        out: Path = typer.Option(None, help="output folder (default: <home>/city)"),
        force: bool = typer.Option(False, help="replace an existing city"),
    ) -> None:
        """Generate a synthetic city: department sources with faults, and the planted truth."""
        from zhijing.sources.generate.city import generate_city

        target = out or get_settings().city_dir
        m = generate_city(target, persons=persons, seed=seed, force=force)
        table = Table(title=f"城市 {target} — {m['records']:,} records")
        table.add_column("dataset")
        table.add_column("rows", justify="right")
        for name, n in m["rows"].items():
            table.add_row(name, f"{n:,}")
        Console().print(table)
        Console().print("faults:", ", ".join(f"{k} {v:,}" for k, v in m["faults"].items()))
        Console().print("structures:", ", ".join(f"{k} {v}" for k, v in m["structures"].items()))
