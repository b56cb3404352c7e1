"""Cases (案件) with their persons, and traffic accidents, from the planted structures plus
ordinary case load."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zhijing.sources.generate.geography import Geography, station_at
from zhijing.sources.generate.population import Population
from zhijing.sources.generate.records import Records
from zhijing.sources.generate.structures import Planted

ORDINARY = [("刑事", "盗窃", "嫌疑人趁无人之机盗走财物。"), ("刑事", "故意伤害", "双方因琐事发生争执，嫌疑人持械伤人。"),
            ("行政", "寻衅滋事", "嫌疑人酒后在公共场所滋事。"), ("刑事", "抢劫", "嫌疑人持刀抢走受害人手机。"),
            ("行政", "殴打他人", "双方因停车问题发生冲突。")]  # fmt: skip


def build(rng: np.random.Generator, pop: Population, geo: Geography, planted: Planted) -> tuple[Records, Records]:
    n = max(30, len(pop.persons) // 300)
    kind = rng.integers(0, len(ORDINARY), n)
    addr = geo.addresses.iloc[rng.integers(0, len(geo.addresses), n)]
    adults = pop.persons[pd.to_datetime(pop.persons.birth_date) < "2008-01-01"].person_id.to_numpy()
    ordinary = pd.DataFrame({
        "AJLB": [ORDINARY[k][0] for k in kind], "AJXZ": [ORDINARY[k][1] for k in kind],
        "FASJ": pd.Series(pd.to_datetime(np.datetime64("2025-01-01") + rng.integers(0, 540 * 86400, n).astype("timedelta64[s]"))).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
        "FADD": addr.text.to_numpy(), "JD": addr.lon.to_numpy(), "WD": addr.lat.to_numpy(), "JYAQ": [ORDINARY[k][2] for k in kind],
        "AJZT": rng.choice(["在办", "已破", "已结"], n), "_event_id": -1,
        "_persons": [[(s, "嫌疑人"), (v, "受害人")] for s, v in zip(rng.choice(adults, n), rng.choice(adults, n), strict=True)],
    })  # fmt: skip
    cases = pd.concat([*planted.cases, ordinary], ignore_index=True)
    cases.insert(0, "AJBH", [f"A3302{i:011d}" for i in range(len(cases))])
    nearest = station_at(geo, cases.JD.to_numpy(), cases.WD.to_numpy())
    cases["LADW"] = nearest + "0000"
    cases["FADD"] = np.where(cases.FADD == "", geo.stations.set_index("station_code").name.reindex(nearest).to_numpy() + "辖区", cases.FADD)
    planted.truth["crime_cases"] = cases.loc[cases._event_id >= 0, ["AJBH", "_event_id"]].rename(columns={"_event_id": "event_id"})
    people = cases[["AJBH", "_persons"]].explode("_persons").dropna()
    pid = [p[0] for p in people._persons]
    who = pop.lookup(pid, ["name", "citizen_id", "sex", "phone", "address"])
    rid = [f"R{i:012d}" for i in range(len(people))]
    case_person = pd.DataFrame({
        "RYBH": rid, "AJBH": people.AJBH.to_numpy(), "RYLX": [p[1] for p in people._persons], "XM": who.name.to_numpy(),
        "ZJHM": who.citizen_id.to_numpy(), "XB": who.sex.to_numpy(), "LXDH": who.phone.to_numpy(), "HJDZ": who.address.to_numpy(),
    })  # fmt: skip
    info = Records(cases.drop(columns=["_event_id", "_persons"]))
    return info, Records(case_person, pd.DataFrame({"record_id": rid, "role": "self", "person_id": pid}))


def accidents(rng: np.random.Generator, pop: Population, planted: Planted) -> Records:
    acc = pd.concat(planted.accidents, ignore_index=True)
    n = len(acc)
    v = pop.vehicles.iloc[rng.integers(0, len(pop.vehicles), n)].reset_index(drop=True)
    owner = pop.lookup(v.owner_person_id, ["name", "citizen_id"])
    rid = [f"SG3302{i:08d}" for i in range(n)]
    t = np.datetime64("2025-01-01") + rng.integers(0, 540 * 86400, n).astype("timedelta64[s]")
    rows = pd.DataFrame({
        "事故编号": rid, "事故时间": pd.Series(pd.to_datetime(t)).dt.strftime("%Y-%m-%d %H:%M:%S"), "事故地点": acc.place,
        "经度": acc.lon, "纬度": acc.lat, "当事人姓名": owner.name.to_numpy(), "当事人证件号": owner.citizen_id.to_numpy(),
        "号牌号码": v.plate, "死亡人数": (rng.random(n) < 0.03).astype(int), "受伤人数": rng.poisson(0.6, n),
        "事故形态": rng.choice(["追尾", "侧面碰撞", "刮擦", "碰撞行人", "单车事故"], n),
    })  # fmt: skip
    planted.truth["blackspot_accidents"] = pd.DataFrame({"record_id": rid, "spot_id": acc.spot_id})
    return Records(rows, pd.DataFrame({"record_id": rid, "role": "party", "person_id": v.owner_person_id}))

