"""The truth tables spilled to disk while a city is written come out byte for byte as
pandas would have written them from memory (so a seed's output does not depend on it)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from zhijing.sources.generate.spill import ROW_GROUP, Spill

COLUMNS = ["dataset", "record_id", "role", "person_id"]


def _frames(sizes: list[int]) -> list[pd.DataFrame]:
    rng = np.random.default_rng(0)
    out = []
    for k, n in enumerate(sizes):
        pid = rng.integers(0, 10**6, n)
        out.append(pd.DataFrame({
            "dataset": f"ds{k}", "record_id": [f"R{k}{i:09d}" for i in range(n)],
            "role": np.array(["guest", "holder"], dtype=object)[rng.integers(0, 2, n)],
            "person_id": [f"P{x:08d}" if x % 13 else None for x in pid],
        }))  # fmt: skip
    return out


def _spilled(tmp_path, frames: list[pd.DataFrame]) -> bytes:
    s = Spill(tmp_path / "s.arrow", COLUMNS)
    for f in frames:
        s.add(f)
    s.to_parquet(tmp_path / "b.parquet")
    assert not (tmp_path / "s.arrow").exists()
    return (tmp_path / "b.parquet").read_bytes()


def test_spill_writes_the_bytes_pandas_writes_across_row_groups(tmp_path):
    frames = _frames([1000, ROW_GROUP - 700, 0, 5, 2000])  # crosses one row-group boundary mid-frame
    pd.concat(frames, ignore_index=True).to_parquet(tmp_path / "a.parquet", index=False)
    a = (tmp_path / "a.parquet").read_bytes()
    assert hashlib.sha256(_spilled(tmp_path, frames)).digest() == hashlib.sha256(a).digest()


def test_empty_spill_is_an_empty_table(tmp_path):
    _spilled(tmp_path, [])
    back = pd.read_parquet(tmp_path / "b.parquet")
    assert list(back.columns) == COLUMNS and len(back) == 0
