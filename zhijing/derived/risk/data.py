"""What the risk models read from the lake, as small pandas frames through DuckDB.

Models see transfers as (payer, payee, amount, ts, memo): account numbers, never the
holders' names; persons appear only as master ids (entities zone)."""

from __future__ import annotations

import duckdb
import pandas as pd

from zhijing.config import Settings
from zhijing.lake.store import current_files
from zhijing.localtime import zone


def files(settings: Settings, dataset: str, zone: str = "clean") -> list[str]:
    return current_files(settings, zone, dataset)


def query(settings: Settings, sql: str, **datasets: str) -> pd.DataFrame:
    """Run ``sql`` with each keyword bound as a view over that clean (or ``zone/name``)
    dataset; a dataset with no version yet is an empty result, not an error."""
    con = duckdb.connect()
    for view, name in datasets.items():
        zone, _, ds = name.rpartition("/")
        f = files(settings, ds, zone or "clean")
        if not f:
            return pd.DataFrame()
        con.read_parquet(f, union_by_name=True, hive_partitioning=True).create_view(view)
    return con.execute(sql).df()


EMPTY_TRANSFERS = pd.DataFrame({
    "tx": pd.Series(dtype=str), "payer": pd.Series(dtype=str), "payee": pd.Series(dtype=str),
    "amount": pd.Series(dtype=float), "ts": pd.Series(dtype="datetime64[us, UTC]"), "memo": pd.Series(dtype=str),
})  # fmt: skip


def transfers(settings: Settings, before: pd.Timestamp | None = None) -> pd.DataFrame:
    """Bank transfers (times in UTC) up to ``before``."""
    cond = f"AND 交易时间 < TIMESTAMPTZ '{before.isoformat()}'" if before is not None else ""
    if not files(settings, "bank_transaction"):
        return EMPTY_TRANSFERS.copy()
    return query(settings, f"""
        SELECT 流水号 AS tx, 付款账号 AS payer, 收款账号 AS payee, 金额 AS amount, 交易时间 AS ts, 摘要 AS memo
        FROM t WHERE 付款账号 IS NOT NULL AND 收款账号 IS NOT NULL AND 金额 IS NOT NULL AND 交易时间 IS NOT NULL {cond}
    """, t="bank_transaction")  # fmt: skip


def masters_of(settings: Settings, dataset: str, role: str) -> pd.DataFrame:
    """record_id → master_id for one dataset's person mentions (entity resolution's links)."""
    if not files(settings, "person_links", "entities"):
        return pd.DataFrame({"record_id": pd.Series(dtype=str), "master_id": pd.Series(dtype=str)})
    return query(settings, f"""
        SELECT split_part(mention_id, '|', 2) AS record_id, master_id FROM l
        WHERE mention_id LIKE '{dataset}|%|{role}'
    """, l="entities/person_links")  # fmt: skip


def as_utc(t) -> pd.Timestamp:
    """A model's ``as_of`` (the deployment's wall time when naive) as a UTC instant."""
    t = pd.Timestamp(t)
    return t.tz_localize(zone()).tz_convert("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def newest(settings: Settings, dataset: str, column: str) -> pd.Timestamp | None:
    """The newest ``column`` time (UTC) in a clean dataset, or None when it has none."""
    f = query(settings, f'SELECT max("{column}") AS t FROM d', d=dataset)
    return None if f.empty or pd.isna(f.t.iloc[0]) else pd.Timestamp(f.t.iloc[0])
