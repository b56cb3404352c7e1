"""Reading the model zone: what every analysis uses instead of a dataset or a header."""

from __future__ import annotations

from zhijing.lake.store import current_files
from zhijing.model.build import q

__all__ = ["q", "source", "files"]


def files(settings, type_name: str) -> list[str]:
    """The current files of ``model/<type>`` ([] before the first build)."""
    return current_files(settings, "model", type_name)


def source(settings, type_name: str) -> str | None:
    """``model/<type>`` as a DuckDB table expression (None when no dataset maps to it)."""
    found = files(settings, type_name)
    return f"read_parquet({found!r}, union_by_name=true)" if found else None
