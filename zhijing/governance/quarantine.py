"""Quarantine: the rows that could not be made valid, with a readable reason.

Reason codes are short and data-free; ``describe`` turns one into a sentence for people.
"""

from __future__ import annotations

from typing import Any

import duckdb

from zhijing.config import Settings
from zhijing.lake.store import read_duckdb

REASONS = {
    "missing_columns": "fewer fields than the header (truncated or broken line)",
    "too_many_columns": "more fields than the header (unquoted separator)",
    "unquoted_value": "broken quoting (unterminated quote or stray quote)",
    "invalid_encoding": "bytes that are not valid text in the file's encoding",
    "line_too_long": "a line longer than the line-length cap (not read)",
    "unparsable_json": "not valid JSON",
    "not_an_object": "valid JSON but not an object with fields",
    "nested_value": "a field holds a JSON list or object, not one value",
    "not_an_ftm_entity": "not a FollowTheMoney entity (no id or schema, or an unknown property)",
    "extra_cells": "cells beyond the header's columns",
    "binary_garbage": "control characters or undecodable bytes in a field",
    "missing_key": "the record key is empty",
    "bad_time": "the record's time cannot be parsed",
}


def describe(reason: str) -> str:
    """'bad_time:入住时间:bad_format' -> 'the record's time cannot be parsed (入住时间: bad_format)'."""
    head, _, rest = reason.partition(":")
    text = REASONS.get(head, head)
    return f"{text} ({rest.replace(':', ': ')})" if rest else text


def rows(settings: Settings, dataset: str, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Quarantined rows of ``dataset`` (raw person data: callers must hold quarantine:read)."""
    with duckdb.connect() as con:
        rel = read_duckdb(con, settings, "quarantine", dataset)
        if rel is None:
            return []
        cur = con.execute(
            "SELECT _source_file, _source_line, _record_id, reason, raw, _ingest_id FROM rel "
            "ORDER BY _source_file, _source_line LIMIT ? OFFSET ?",
            [limit, offset],
        )
        cols = [d[0] for d in cur.description]
        out = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    for r in out:
        r["reason_text"] = describe(r["reason"])
    return out


def reason_counts(settings: Settings, dataset: str) -> dict[str, int]:
    with duckdb.connect() as con:
        rel = read_duckdb(con, settings, "quarantine", dataset)
        if rel is None:
            return {}
        return dict(con.execute("SELECT reason, count(*) FROM rel GROUP BY reason ORDER BY 2 DESC").fetchall())
