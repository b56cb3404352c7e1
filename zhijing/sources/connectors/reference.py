"""Reference data (geography, organisation): landed as-is, every column text."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from zhijing.errors import ZhijingError
from zhijing.sources.connectors.base import Landed, sha256_file, sql_str
from zhijing.sources.connectors.encoding import detect_encoding


def land_reference(path: Path, origin: str, name: str, fmt: str, encoding: str | None, out: Path) -> Landed:
    sha = sha256_file(path)
    if fmt == "geojson":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            feats = doc["features"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ZhijingError(f"{name}: {origin} is not a GeoJSON feature collection") from exc
        keys = sorted({k for f in feats for k in (f.get("properties") or {})})
        table = pa.table(
            {**{k: pa.array([_text((f.get("properties") or {}).get(k)) for f in feats], pa.string()) for k in keys},
             "geometry": pa.array([json.dumps(f.get("geometry"), ensure_ascii=False) for f in feats], pa.string())}
        )  # fmt: skip
        pq.write_table(table, out)
        return Landed(name, origin, sha, [out], table.num_rows, 0, path.stat().st_size)
    enc = detect_encoding(path, encoding)
    if enc not in ("utf-8", "ascii"):
        raise ZhijingError(f"{name}: reference file {origin} must be UTF-8 (found {enc})")
    with duckdb.connect() as con:
        try:
            con.execute(
                f"COPY (SELECT * FROM read_csv({sql_str(str(path))}, all_varchar=true, header=true)) "
                f"TO {sql_str(str(out))} (FORMAT parquet)"
            )
        except duckdb.Error as exc:
            raise ZhijingError(f"{name}: cannot parse reference file {origin}") from exc
        rows = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(out))})").fetchone()[0]
    return Landed(name, origin, sha, [out], rows, 0, path.stat().st_size)


def _text(v: object) -> str | None:
    if v is None:
        return None
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
