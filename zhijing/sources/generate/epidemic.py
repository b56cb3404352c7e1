"""The "六同" cohort: index cases and their true close contacts, planted as real
co-occurrences in tickets, lodging, workplace and household records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zhijing.sources.generate.names import airline_name
from zhijing.sources.generate.population import Population
from zhijing.sources.generate.records import Records

N_INDEX = 5
DATASETS = ("rail_ticket", "flight_ticket", "lodging", "coach_ticket", "enterprise_person")
PER_CHANNEL = {"train": 4, "flight": 3, "lodging": 2, "bus": 3, "workplace": 3}


def _next_ids(rec: Records, key: str, prefix: str, n: int, suffix: str = "") -> np.ndarray:
    start = len(rec.rows) + 10_000_000
    return np.array([f"{prefix}{i:010d}{suffix}" for i in range(start, start + n)])


def plant(rng: np.random.Generator, pop: Population, recs: dict[str, Records]) -> pd.DataFrame:
    """Append co-occurrence rows to the ticket / lodging / enterprise records; return the
    contacts truth (index_person_id, contact_person_id, channel, index_record_id, contact_record_id)."""
    p = pop.persons[pop.persons.phone.notna()].reset_index(drop=True)
    chosen = rng.choice(len(p), N_INDEX + N_INDEX * sum(PER_CHANNEL.values()), replace=False)
    people = p.iloc[chosen].reset_index(drop=True)
    index_people, pool = people.iloc[:N_INDEX], people.iloc[N_INDEX:].reset_index(drop=True)
    contacts, cursor = [], 0
    day = np.datetime64("2026-05-01T08:00:00")
    for i, idx in index_people.iterrows():
        when = day + np.timedelta64(int(i) * 2, "D")
        for channel, k in PER_CHANNEL.items():
            group = pd.concat([idx.to_frame().T, pool.iloc[cursor : cursor + k]], ignore_index=True)
            cursor += k
            ids = _append(rng, channel, group, when, recs, pop)
            for j in range(1, len(group)):
                contacts.append((idx.person_id, group.person_id[j], channel, ids[0], ids[j]))
        for m in pop.persons[(pop.persons.household_id == idx.household_id) & (pop.persons.person_id != idx.person_id)].person_id:
            contacts.append((idx.person_id, m, "household", None, None))
    return pd.DataFrame(contacts, columns=["index_person_id", "contact_person_id", "channel", "index_record_id", "contact_record_id"])


def _append(rng, channel: str, g: pd.DataFrame, when, recs: dict[str, Records], pop: Population) -> np.ndarray:
    n = len(g)
    t = pd.Timestamp(when)
    if channel == "train":
        r = recs["rail_ticket"]
        ids = _next_ids(r, "ticket_no", "E", n)
        rows = pd.DataFrame({"ticket_no": ids, "passenger_name": g.name, "id_no": g.citizen_id, "train_no": "G7501",
                             "dep_station": "宁波站", "arr_station": "上海虹桥站", "dep_time": t.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                             "coach": "05", "seat": [f"{6 + j // 5:02d}{'ABCDF'[j % 5]}" for j in range(n)]})  # fmt: skip
        role = "passenger"
    elif channel == "flight":
        r = recs["flight_ticket"]
        ids = _next_ids(r, "PNR_SEG", "PNR", n, "-1")
        rows = pd.DataFrame({"PNR_SEG": ids, "PAX_NAME": [airline_name(s, gv) for s, gv in zip(g.surname, g.given, strict=True)],
                             "ID_NO": g.citizen_id, "FLIGHT_NO": "MU5122", "DEP": "NGB", "ARR": "PEK",
                             "DEP_TIME": (t + pd.Timedelta(hours=5)).strftime("%Y%m%d%H%M"),
                             "SEAT": [f"{20 + j // 6}{'ABCDEF'[j % 6]}" for j in range(n)], "MOBILE": g.phone})  # fmt: skip
        role = "passenger"
    elif channel == "lodging":
        r = recs["lodging"]
        ids = _next_ids(r, "入住单号", "LD", n)
        first = r.rows.iloc[0]
        rows = pd.DataFrame({"入住单号": ids, "旅馆编码": first["旅馆编码"], "旅馆名称": first["旅馆名称"], "姓名": g.name,
                             "证件类型": "居民身份证", "证件号码": g.citizen_id,
                             "入住时间": (t + pd.Timedelta(hours=12)).strftime("%Y-%m-%d %H:%M:%S"),
                             "退房时间": (t + pd.Timedelta(hours=36)).strftime("%Y-%m-%d %H:%M:%S"),
                             "房号": [str(801 + j) for j in range(n)], "旅馆地址": first["旅馆地址"]})  # fmt: skip
        role = "guest"
    elif channel == "bus":
        r = recs["coach_ticket"]
        ids = _next_ids(r, "票号", "KY", n)
        rows = pd.DataFrame({"票号": ids, "姓名": g.name, "身份证号": g.citizen_id, "班次": "B520",
                             "发车时间": (t + pd.Timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S"), "起点站": "宁波汽车南站",
                             "终点站": "象山汽车站", "座位号": [str(10 + j) for j in range(n)]})  # fmt: skip
        role = "passenger"
    else:  # workplace: the same company's officers
        r = recs["enterprise_person"]
        ids = _next_ids(r, "rec_id", "QR", n)
        code = pop.companies.uscc.iloc[int(rng.integers(0, len(pop.companies)))]
        rows = pd.DataFrame({"rec_id": ids, "uscc": code, "person_name": g.name, "person_id": g.citizen_id,
                             "position": "经理", "share_pct": 0})  # fmt: skip
        role = "officer"
    r.rows = pd.concat([r.rows, rows], ignore_index=True)
    r.persons = pd.concat([r.persons, pd.DataFrame({"record_id": ids, "role": role, "person_id": g.person_id.to_numpy()})],
                          ignore_index=True)  # fmt: skip
    return ids
