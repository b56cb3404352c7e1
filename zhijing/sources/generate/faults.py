"""Faults the way departments really send them, planted in one place with known rates.

Every planted fault is recorded as ``(dataset, record_id, field, fault)`` so tests can
check rates and analyses can be scored. Rates are per row of a dataset (per person
mention for person fields); docs/city_sources.md lists them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zhijing.sources.generate import names
from zhijing.sources.spec import DatasetSpec
from zhijing.standards import timeparse

# fault -> rate (share of rows of a dataset that get it)
RATES = {
    "name_homophone": 0.02,
    "name_similar_shape": 0.01,
    "id_legacy_15": 0.04,  # only for holders born before 2000 (the only ones who had them)
    "id_typo": 0.01,
    "id_transposed": 0.005,
    "swapped_name_id": 0.003,
    "missing_id": 0.02,
    "missing_phone": 0.03,
    "plate_ocr": 0.02,
    "date_format": 0.15,
    "duplicate_row": 0.01,
    "malformed_row": 0.002,
}
OCR = str.maketrans({"0": "D", "D": "0", "8": "B", "B": "8", "1": "7", "5": "S"})
ALT_FORMATS = ("%Y/%-m/%-d %H:%M:%S", "%Y%m%d%H%M%S", "%Y年%-m月%-d日 %H时%M分%S秒", "excel")


class FaultLog:
    def __init__(self, dataset: str):
        self.dataset = dataset
        self.rows: list[pd.DataFrame] = []

    def add(self, record_ids, field: str, fault: str) -> None:
        ids = np.asarray(record_ids)
        if len(ids):
            self.rows.append(pd.DataFrame({"dataset": self.dataset, "record_id": ids, "field": field, "fault": fault}))

    def frame(self) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame(columns=["dataset", "record_id", "field", "fault"])
        return pd.concat(self.rows, ignore_index=True)


def _choose(rng, mask: np.ndarray, rate: float, taken: np.ndarray) -> np.ndarray:
    """Row positions (among ``mask`` and not yet ``taken``) that get a fault."""
    hit = mask & ~taken & (rng.random(len(mask)) < rate)
    taken |= hit
    return np.flatnonzero(hit)


def plant_field_faults(rng, spec: DatasetSpec, rows: pd.DataFrame, log: FaultLog) -> pd.DataFrame:
    """Name variants, ID faults, missing values and swaps on every person role; OCR misreads
    on plates; mixed date formats on the time field of text sources."""
    rows = rows.copy(deep=False)  # faulted columns are replaced, never written into
    key = rows[spec.key].astype(str).to_numpy()
    for role in spec.persons:
        taken_name = np.zeros(len(rows), bool)
        taken_id = np.zeros(len(rows), bool)
        if role.name:
            col = rows[role.name].astype(object).to_numpy()
            has = pd.notna(col)
            for fault, fn in (("name_homophone", names.homophone), ("name_similar_shape", names.similar_shape)):
                idx = _choose(rng, has, RATES[fault], taken_name)
                picks = rng.random(len(idx))
                new = [fn(col[i], p) for i, p in zip(idx, picks, strict=True)]
                ok = [i for i, v in zip(idx, new, strict=True) if v]
                col[ok] = [v for v in new if v]
                log.add(key[ok], role.name, fault)
            rows[role.name] = col
        if role.citizen_id:
            col = rows[role.citizen_id].astype(object).to_numpy()
            has = pd.notna(col) & (pd.Series(col).astype(str).str.len().to_numpy() == 18)
            pre2000 = has & (pd.Series(col).astype(str).str.slice(6, 8).to_numpy() == "19")
            idx = _choose(rng, pre2000, RATES["id_legacy_15"], taken_id)
            col[idx] = [s[:6] + s[8:17] for s in col[idx]]
            log.add(key[idx], role.citizen_id, "id_legacy_15")
            idx = _choose(rng, has, RATES["id_typo"], taken_id)
            pos = rng.integers(6, 17, len(idx))
            col[idx] = [s[:p] + str((int(s[p]) + 1 + int(d)) % 10) + s[p + 1 :]
                        for s, p, d in zip(col[idx], pos, rng.integers(0, 8, len(idx)), strict=True)]  # fmt: skip
            log.add(key[idx], role.citizen_id, "id_typo")
            idx = _choose(rng, has, RATES["id_transposed"], taken_id)
            swapped = []
            for s in col[idx]:
                p = next((q for q in range(14, 5, -1) if s[q] != s[q + 1]), 6)
                swapped.append(s[:p] + s[p + 1] + s[p] + s[p + 2 :])
            col[idx] = swapped
            log.add(key[idx], role.citizen_id, "id_transposed")
            idx = _choose(rng, has, RATES["missing_id"], taken_id)
            col[idx] = None
            log.add(key[idx], role.citizen_id, "missing_id")
            rows[role.citizen_id] = col
            if role.name:
                idx = _choose(rng, has & ~taken_name, RATES["swapped_name_id"], taken_id)
                a, b = rows[role.name].to_numpy().copy(), rows[role.citizen_id].to_numpy().copy()
                rows.loc[rows.index[idx], role.name], rows.loc[rows.index[idx], role.citizen_id] = b[idx], a[idx]
                log.add(key[idx], f"{role.name}|{role.citizen_id}", "swapped_name_id")
        if role.phone:
            col = rows[role.phone].astype(object).to_numpy()
            idx = _choose(rng, pd.notna(col) & (col != ""), RATES["missing_phone"], np.zeros(len(col), bool))
            col[idx] = None
            rows[role.phone] = col
            log.add(key[idx], role.phone, "missing_phone")
    for f in spec.fields:
        if f.element == "plate" and spec.name == "checkpoint_read":
            col = rows[f.name].astype(str).to_numpy()
            idx = _choose(rng, np.ones(len(col), bool), RATES["plate_ocr"], np.zeros(len(col), bool))
            new = np.array([s[:2] + s[2:].translate(OCR) for s in col[idx]], dtype=object)
            changed = new != col[idx]
            col = col.astype(object)
            col[idx[changed]] = new[changed]
            rows[f.name] = col
            log.add(key[idx[changed]], f.name, "plate_ocr")
    if spec.time_field and spec.format in ("csv", "excel") and rows[spec.time_field].dtype == object:
        rows[spec.time_field] = _mixed_dates(rng, rows[spec.time_field], key, spec.time_field, log)
    return rows


def _mixed_dates(rng, col: pd.Series, key: np.ndarray, field: str, log: FaultLog) -> pd.Series:
    """Some clerks' systems write other formats; every one parses to the same instant."""
    out = col.astype(object).to_numpy().copy()
    idx = np.flatnonzero(rng.random(len(col)) < RATES["date_format"])
    ts = pd.to_datetime(pd.Series(out[idx]), errors="coerce")
    kinds = rng.integers(0, len(ALT_FORMATS), len(idx))
    for i, t, k in zip(idx, ts, kinds, strict=True):
        if pd.isna(t):
            continue
        fmt = ALT_FORMATS[k]
        out[i] = (f"{(t.to_pydatetime() - timeparse.EXCEL_EPOCH).total_seconds() / 86400:.8f}" if fmt == "excel"
                  else t.strftime(fmt))  # fmt: skip
    log.add(key[idx], field, "date_format")
    return pd.Series(out, index=col.index)


def duplicate_order(rng, spec: DatasetSpec, rows: pd.DataFrame, log: FaultLog) -> np.ndarray:
    """Exact repeated rows (a system that re-sends a batch): the positions of ``rows`` to
    write, each repeated row right after itself."""
    idx = np.flatnonzero(rng.random(len(rows)) < RATES["duplicate_row"])
    log.add(rows[spec.key].astype(str).to_numpy()[idx], "*", "duplicate_row")
    times = np.ones(len(rows), dtype=np.intp)
    times[idx] = 2
    return np.repeat(np.arange(len(rows)), times)


def malformed_positions(rng, spec: DatasetSpec, rows: pd.DataFrame, log: FaultLog, order: np.ndarray | None = None) -> np.ndarray:
    """Rows the writer will break beyond repair (wrong column count, truncated JSON,
    binary garbage): recorded here, broken in writers.py. Positions count among the rows
    written, ``rows.take(order)`` when ``order`` is given."""
    if spec.format not in ("csv", "jsonl", "stream"):
        return np.array([], int)
    n = len(rows) if order is None else len(order)
    idx = np.flatnonzero(rng.random(n) < RATES["malformed_row"])
    src = idx if order is None else np.asarray(order)[idx]
    log.add(rows[spec.key].astype(str).to_numpy()[src], "*", "malformed_row")
    return idx
