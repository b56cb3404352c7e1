"""An FtM entity stream (JSON lines of FollowTheMoney entities, as ``zhijing export ftm``,
Aleph / OpenAleph and the ``ftm`` tools write it) as a source: the entities of one schema
(``ftm_schema``, and the schemata extending it) become rows, one field per property path.

A field is named by its path: ``amount`` is the entity's own property, ``payerAccount.
accountNumber`` the property of the entity it refers to (found anywhere in the same file).
Several values of one property are joined with ``; ``. A line that is not an entity of
the schema is skipped; a line that is not a valid FtM entity is kept as an error row
(quarantined with its line), so nothing is dropped silently.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from zhijing.sources.connectors.base import Landed, cap_text, raw_schema, sha256_file

JOIN = "; "


def property_problems(schema_name: str | None, paths: list[str]) -> list[str]:
    """What is wrong with a declaration's schema and field paths (empty when nothing)."""
    from followthemoney import model

    schema = model.get(schema_name) if schema_name else None
    if schema is None:
        return [f"ftm_schema {schema_name!r} is not a FollowTheMoney schema"]
    out = []
    for path in paths:
        if path in ("id", "schema"):
            continue
        head, _, tail = path.partition(".")
        prop = schema.properties.get(head)
        if prop is None:
            out.append(f"{path!r}: {schema.name} has no property {head!r}")
        elif tail and (prop.range is None or tail not in prop.range.properties):
            out.append(f"{path!r}: {head!r} refers to no entity with a property {tail!r}")
    return out


def _value(entity, path: str, index: dict) -> str | None:
    if path == "id":
        return entity.id
    if path == "schema":
        return entity.schema.name
    head, _, tail = path.partition(".")
    values = entity.get(head, quiet=True)
    if tail:
        values = [v for ref in values if ref in index for v in index[ref].get(tail, quiet=True)]
    return JOIN.join(dict.fromkeys(values)) or None


def land_ftm(path: Path, origin: str, dataset: str, fields: list[str], schema_name: str, out: Path) -> Landed:
    """Land the entities of ``schema_name`` in one FtM JSON-lines file as raw rows."""
    from followthemoney import model

    schema = model.get(schema_name)
    index: dict = {}
    wanted: list[tuple[int, object]] = []
    errors: list[tuple[int, str, str]] = []
    with open(path, encoding="utf-8-sig") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                entity = model.get_proxy(json.loads(line))
            except Exception:  # not JSON, no schema, an unknown property
                errors.append((line_no, "not_an_ftm_entity", cap_text(line.rstrip("\n"))))
                continue
            index[entity.id] = entity
            if entity.schema.is_a(schema):
                wanted.append((line_no, entity))
    rows = {f: [_value(e, f, index) for _, e in wanted] + [None] * len(errors) for f in fields}
    sha = sha256_file(path)
    table = pa.table({**rows, "_source_file": [origin] * (len(wanted) + len(errors)),
                      "_source_line": [n for n, _ in wanted] + [n for n, _, _ in errors],
                      "_source_hash": [sha] * (len(wanted) + len(errors)),
                      "_error": [None] * len(wanted) + [e for _, e, _ in errors],
                      "_raw": [None] * len(wanted) + [r for _, _, r in errors]}, schema=raw_schema(fields))  # fmt: skip
    pq.write_table(table, out)
    notes = [f"FtM {schema.name}: {len(wanted)} of {len(index)} entities"]
    return Landed(dataset, origin, sha, [out], table.num_rows, len(errors), path.stat().st_size, notes)
