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

    @app.command("generate-netbar")
    def generate_netbar(
        city: Path = typer.Option(None, help="a generated city (default: <home>/city)"),
        out: Path = typer.Option(..., help="folder for netbar_login.csv and truth/netbar.json"),
        rows: int = typer.Option(3000, help="login sessions"),
        seed: int = typer.Option(19, help="random seed"),
        encoding: str = typer.Option("gbk", help="gbk or utf-8-sig"),
    ) -> None:
        """An internet café login register of the city's persons, a kind of file the city lacks,
        with a pair planted together on six days (the new-file test, docs/model.md)."""
        from zhijing.sources.generate.netbar import generate_netbar as run

        truth = run(city or get_settings().city_dir, out, rows=rows, seed=seed, encoding=encoding)
        Console().print(f"wrote {out / truth['file']} ({truth['rows']:,} rows, {truth['typo_rows']} mistyped IDs) "
                        f"and {out / 'truth' / 'netbar.json'}", highlight=False)  # fmt: skip

    @app.command("generate-foreign")
    def generate_foreign(
        city: Path = typer.Option(None, help="a generated city's folder (default: <home>/city)"),
        out: Path = typer.Option(None, help="where the foreign city's sources and declarations go (default: <home>/sources)"),
        force: bool = typer.Option(False, help="replace what is in --out"),
    ) -> None:
        """Write a generated city as a foreign city: the same people and events under other
        dataset names and headers, two hotel chains, two banks, with its own declarations."""
        from zhijing.sources.generate.foreign import generate_foreign as write

        s = get_settings()
        done = write(city or s.city_dir, out or s.home / "sources", force=force)
        Console().print(f"外市 foreign city: {done['datasets']} datasets, {done['reference']} reference datasets; "
                        f"declared in {done['declaration']}; names → {done['truth']}", highlight=False)  # fmt: skip
