"""What the risk models read from the lake, as small pandas frames through DuckDB.

They read the model (DESIGN §10), never a dataset or a column header: a transfer is a
``payment`` (payer, payee, amount, ts, memo — account numbers, never the holders' names),
an account's holder an ``ownership`` whose owner mention is resolved to a master by the
entity links; the map's reference data comes by geography role. So every bank's file a
deployment maps to ``payment`` reaches 神鹰, whatever its headers."""

from __future__ import annotations

import duckdb
import pandas as pd

from zhijing.config import Settings
from zhijing.lake.store import current_files, current_manifest
from zhijing.localtime import zone
from zhijing.model import places, read

LINKS = "entities/person_links"


def files(settings: Settings, source: str) -> list[str]:
    """The files of a source: a model type (``payment``), ``entities/<table>``, or a geography
    role as ``places/<role>`` (``places/district``)."""
    area, _, name = source.rpartition("/")
    if area == "places":
        return places.files(settings, name)
    if area:
        return current_files(settings, area, name)
    return read.files(settings, name)


def version(settings: Settings, source: str) -> str | None:
    """The current version of a source (see ``files``), None before its first."""
    area, _, name = source.rpartition("/")
    if area == "places":
        area, name = "clean", places.dataset(settings, name) or ""
    manifest = current_manifest(settings, area or "model", name) if name else None
    return manifest.version if manifest else None


def query(settings: Settings, sql: str, **sources: str) -> pd.DataFrame:
    """Run ``sql`` with each keyword bound as a view over that source (see ``files``); a
    source with no data yet is an empty result, not an error."""
    con = duckdb.connect()
    for view, source in sources.items():
        found = files(settings, source)
        if not found:
            return pd.DataFrame()
        con.read_parquet(found, union_by_name=True, hive_partitioning=True).create_view(view)
    return con.execute(sql).df()


def master(mention: str) -> str:
    """SQL joining the entity links ``l`` to a person role's mention column."""
    return f"JOIN l ON l.mention_id = {mention}"


EMPTY_TRANSFERS = pd.DataFrame({
    "tx": pd.Series(dtype=str), "payer": pd.Series(dtype=str), "payee": pd.Series(dtype=str),
    "amount": pd.Series(dtype=float), "ts": pd.Series(dtype="datetime64[us, UTC]"), "memo": pd.Series(dtype=str),
})  # fmt: skip


def transfers(settings: Settings, before: pd.Timestamp | None = None) -> pd.DataFrame:
    """Payments between two accounts (times in UTC) up to ``before``."""
    cond = f"AND ts < TIMESTAMPTZ '{before.isoformat()}'" if before is not None else ""
    found = query(settings, f"""
        SELECT record_id AS tx, payer, payee, amount, ts, memo FROM p
        WHERE payer IS NOT NULL AND payee IS NOT NULL AND amount IS NOT NULL AND ts IS NOT NULL {cond}
    """, p="payment")  # fmt: skip
    return EMPTY_TRANSFERS.copy() if found.empty else found


def holders(settings: Settings) -> pd.DataFrame:
    """account → master_id of its holder (the resolved owner of each account ownership)."""
    found = query(settings, f"""
        SELECT DISTINCT o.account, l.master_id FROM o {master('o.owner')} WHERE o.account IS NOT NULL
    """, o="ownership", l=LINKS)  # fmt: skip
    return found if not found.empty else pd.DataFrame({"account": pd.Series(dtype=str), "master_id": pd.Series(dtype=str)})


def as_utc(t) -> pd.Timestamp:
    """A model's ``as_of`` (the deployment's wall time when naive) as a UTC instant."""
    t = pd.Timestamp(t)
    return t.tz_localize(zone()).tz_convert("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def newest(settings: Settings, type_name: str) -> pd.Timestamp | None:
    """The newest time (UTC) of a model type's events, or None when it has none."""
    f = query(settings, "SELECT max(ts) AS t FROM e", e=type_name)
    return None if f.empty or pd.isna(f.t.iloc[0]) else pd.Timestamp(f.t.iloc[0])
