"""An internet café's login register (网吧上网登记) for an already generated city: a kind of
file the city does not have, as a department would send it — Chinese headers, its own date
format (``2025/03/04 21:21``), CRLF, GBK (or UTF-8 with a BOM), no column that is unique
(a record is its file and line) — of the city's real persons, some IDs mistyped, and one planted pair: two persons who log in at
one café within minutes of each other on six different days (``truth/netbar.json``).

It is the new-file test of DESIGN §10 (``sources add`` → ``ingest`` → ``resolve`` must
bring it to search, trajectories, companions and collision without code).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from zhijing.errors import ZhijingError

HEADER = ["证件号码", "姓名", "场所编码", "场所名称", "经纬度", "上机时间", "下机时间"]
FORMAT = "%Y/%m/%d %H:%M"
BRANDS = ("星空", "极速", "网鱼", "蓝海", "飞越", "零度", "天翼", "云端", "电竞", "猎豹", "追风", "银河")
FIRST_DAY, DAYS = datetime(2025, 1, 1), 540  # the city's records span 2025-01 .. 2026-06
TYPO_RATE = 0.03
PAIR_DAYS = 6
OPEN_RATE, UNPLACED_RATE = 0.01, 0.005


def _cafes(rng: np.random.Generator, addresses: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` cafés at addresses of the city: a 14-digit code (district + serial), a name with
    its street, and "lon,lat" as one text."""
    picked = addresses.iloc[rng.choice(len(addresses), n, replace=False)].reset_index(drop=True)
    streets = picked.text.str.extract(r"[区县市]([^区县市]+?[路街道巷])")[0].fillna("中心")
    return pd.DataFrame({
        "code": [f"{d}{10000000 + i:08d}" for i, d in enumerate(picked.district_code.astype(str))],
        "name": [f"{BRANDS[i % len(BRANDS)]}网吧（{s}店）" for i, s in enumerate(streets)],
        "lonlat": [f"{lon:.6f},{lat:.6f}" for lon, lat in zip(picked.lon, picked.lat, strict=True)],
    })  # fmt: skip


def _typo(cid: str, rng: np.random.Generator) -> str:
    """One digit of the serial or birth date mistyped (the check character no longer fits)."""
    p = int(rng.integers(6, 17))
    return cid[:p] + str((int(cid[p]) + 1 + int(rng.integers(0, 8))) % 10) + cid[p + 1 :]


def _quiet_pair(city: Path, persons: pd.DataFrame) -> pd.DataFrame:
    """Two adults of one-person households with the fewest records in the city: their café
    sessions, not a family's doors or a hotel, are what makes them companions."""
    mentions = pd.read_parquet(city / "truth" / "record_persons.parquet", columns=["person_id"]).person_id.value_counts()
    alone = persons.groupby("household_id").person_id.transform("size") == 1
    adult = pd.to_datetime(persons.birth_date).dt.year.between(1960, 2003)
    pool = persons[alone & adult & persons.citizen_id.str.len().eq(18)].copy()
    pool["records"] = pool.person_id.map(mentions).fillna(0)
    return pool.sort_values(["records", "person_id"]).head(2)


def generate_netbar(city: Path, out: Path, rows: int = 3000, cafes: int = 12, seed: int = 19,
                    encoding: str = "gbk") -> dict:  # fmt: skip
    """Write ``out/netbar_login.csv`` and ``out/truth/netbar.json`` (the pair, the café, each
    session's line in the file); return the truth."""
    city, out = Path(city), Path(out)
    if not (city / "truth" / "persons.parquet").exists():
        raise ZhijingError(f"{city} holds no generated city (run `zhijing generate --out {city}` first)")
    if encoding not in ("gbk", "utf-8-sig"):
        raise ZhijingError("--encoding must be gbk or utf-8-sig")
    rng = np.random.default_rng(seed)
    persons = pd.read_parquet(city / "truth" / "persons.parquet", columns=["person_id", "citizen_id", "name", "birth_date", "household_id"])
    place = _cafes(rng, pd.read_csv(city / "sources" / "geo" / "addresses.csv"), cafes)
    pair = _quiet_pair(city, persons)
    users = persons[pd.to_datetime(persons.birth_date).dt.year.between(1955, 2007) & ~persons.person_id.isin(pair.person_id)]
    users = users.iloc[rng.choice(len(users), min(len(users), max(50, rows // 4)), replace=False)]
    n = rows - 2 * PAIR_DAYS
    who = users.iloc[rng.integers(0, len(users), n)]
    start = [FIRST_DAY + timedelta(days=int(d), minutes=int(m)) for d, m in zip(rng.integers(0, DAYS, n), rng.integers(8 * 60, 24 * 60, n), strict=True)]
    length = rng.integers(30, 360, n)
    cids = [_typo(c, rng) if rng.random() < TYPO_RATE else c for c in who.citizen_id]
    at = rng.integers(0, cafes, n)
    table = [[c, nm, *place.iloc[k][["code", "name", "lonlat"]], s, s + timedelta(minutes=int(x))]
             for c, nm, k, s, x in zip(cids, who.name, at, start, length, strict=True)]  # fmt: skip
    # what a café's export also holds: sessions never closed (no 下机时间), and rows whose
    # terminal lost the café's code and coordinates (events without a place: counted, kept)
    for i in rng.choice(n, int(n * OPEN_RATE), replace=False):
        table[i][6] = None
    unplaced = rng.choice(n, int(n * UNPLACED_RATE), replace=False)
    for i in unplaced:
        table[i][2] = table[i][4] = ""
    # the pair: café 0, six different days, the second logging in 1..4 minutes after the first
    sessions = []
    for day in sorted(rng.choice(DAYS, PAIR_DAYS, replace=False)):
        t = FIRST_DAY + timedelta(days=int(day), hours=int(rng.integers(10, 21)), minutes=int(rng.integers(0, 60)))
        gap, hours = int(rng.integers(1, 5)), int(rng.integers(2, 5))
        pair_rows = []
        for i, (s, e) in enumerate(((t, t + timedelta(hours=hours)), (t + timedelta(minutes=gap), t + timedelta(hours=hours, minutes=gap)))):
            p = pair.iloc[i]
            table.append([p.citizen_id, p["name"], *place.iloc[0][["code", "name", "lonlat"]], s, e])
            pair_rows.append({"start": s.strftime(FORMAT), "end": e.strftime(FORMAT)})
        sessions.append(pair_rows)
    table.sort(key=lambda r: r[5])
    lines = [[*r[:5], r[5].strftime(FORMAT), r[6].strftime(FORMAT) if r[6] else ""] for r in table]
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([HEADER, *lines])
    out.mkdir(parents=True, exist_ok=True)
    (out / "netbar_login.csv").write_bytes(text.getvalue().encode(encoding))
    line_of = {(r[0], r[5]): i + 2 for i, r in enumerate(lines)}  # the header is line 1
    truth = {
        "file": "netbar_login.csv", "rows": len(lines), "encoding": encoding, "format": FORMAT,
        "cafe": dict(zip(("code", "name", "lonlat"), place.iloc[0][["code", "name", "lonlat"]], strict=True)),
        "pair": [{"person_id": p.person_id, "citizen_id": p.citizen_id, "name": p["name"]} for _, p in pair.iterrows()],
        "sessions": [[{**s, "line": line_of[(pair.iloc[i].citizen_id, s["start"])]} for i, s in enumerate(day)] for day in sessions],
        "typo_rows": sum(c != o for c, o in zip(cids, who.citizen_id, strict=True)), "unplaced_rows": len(unplaced),
    }  # fmt: skip
    (out / "truth").mkdir(exist_ok=True)
    (out / "truth" / "netbar.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return truth
