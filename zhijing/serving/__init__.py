"""The serving store (DESIGN.md §4): what requests read, built at publish time.

Requests never scan Parquet: ``zhijing resolve`` (and incremental linking) build a store
indexed for the hot lookups — a person by ID / phone / name / plate, the person file, the
places that put a person inside a unit's jurisdiction — and switch it in atomically.
Embedded default: a SQLite file under ``state/`` opened read-only, a pooled connection per
request; at scale: PostgreSQL (``ZHIJING_SERVING_URL``), the same code path.

Lies between ``entities``/``derived`` (which it reads) and ``access``/``api`` (which read it).
"""
