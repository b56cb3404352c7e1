"""A job's summary as the command line shows it: a two-column table, never a raw dict."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from rich.table import Table


def _text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, list | tuple):
        return ", ".join(map(_text, value)) if len(value) <= 6 else f"{len(value):,} items"
    return "-" if value is None else str(value)


def _rows(summary: Mapping, prefix: str = "") -> Iterator[tuple[str, str]]:
    """One row per value; a nested mapping (seconds per stage) as rows named ``outer · inner``."""
    for key, value in summary.items():
        name = f"{prefix}{key}".replace("_", " ")
        if isinstance(value, Mapping):
            yield from _rows(value, f"{name} · ")
        else:
            yield name, _text(value)


def summary_table(title: str, summary: Mapping | None) -> Table:
    t = Table(title=title, show_header=False, title_justify="left")
    t.add_column(style="dim")
    t.add_column(justify="right")
    for name, value in _rows(summary or {}):
        t.add_row(name, value)
    if not t.row_count:
        t.add_row("(nothing to report)", "")
    return t
