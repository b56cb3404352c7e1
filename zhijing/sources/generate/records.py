"""Department records drawn from the true city, one builder per dataset.

Each builder returns the rows in the department's own field names (city_sources.yaml)
with true values, plus who each person mention really is: ``(record_id, role,
person_id)``. Faults are planted afterwards, in one place (faults.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zhijing.sources.generate import calls as calls_110
from zhijing.sources.generate.geography import Geography, jitter
from zhijing.sources.generate.names import airline_name
from zhijing.sources.generate.population import Population, date_strings, day_offsets, pick, strings, table

STATIONS_RAIL = ["宁波站", "宁波东站", "余姚北站", "上海虹桥站", "杭州东站", "南京南站", "北京南站", "温州南站"]
AIRPORTS = ["NGB", "PEK", "PVG", "CAN", "SZX", "CTU", "XIY", "KMG"]
COACH_STATIONS = ["宁波汽车南站", "宁波汽车北站", "余姚客运中心", "慈溪客运站", "象山汽车站", "舟山客运站"]
# Approximate public coordinates of the stations and airports the department records name
# (lon, lat); a trip is placed at its departure.
TERMINALS = {
    "宁波站": (121.540, 29.862), "宁波东站": (121.612, 29.876), "余姚北站": (121.157, 30.077), "上海虹桥站": (121.320, 31.194),
    "杭州东站": (120.213, 30.291), "南京南站": (118.797, 31.969), "北京南站": (116.379, 39.865), "温州南站": (120.584, 27.973),
    "NGB": (121.462, 29.827), "PEK": (116.603, 40.080), "PVG": (121.805, 31.143), "CAN": (113.299, 23.392),
    "SZX": (113.811, 22.639), "CTU": (103.947, 30.578), "XIY": (108.752, 34.447), "KMG": (102.929, 25.101),
    "宁波汽车南站": (121.538, 29.857), "宁波汽车北站": (121.548, 29.893), "余姚客运中心": (121.160, 30.040),
    "慈溪客运站": (121.266, 30.170), "象山汽车站": (121.869, 29.477), "舟山客运站": (122.207, 29.985),
}  # fmt: skip


@dataclass
class Records:
    rows: pd.DataFrame
    persons: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["record_id", "role", "person_id"]))
    faults: pd.DataFrame | None = None  # record_id, field, fault planted on purpose before the random faults


def _mentions(record_ids, person_ids, role: str) -> pd.DataFrame:
    return pd.DataFrame({"record_id": record_ids, "role": role, "person_id": person_ids})


def _ids(prefix: str, n: int, start: int = 0, suffix: str = "") -> np.ndarray:
    """Record ids as Python strings (shared by the rows and the mention truth)."""
    return np.fromiter((f"{prefix}{i:010d}{suffix}" for i in range(start, start + n)), dtype=object, count=n)


def _local(ts: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(ts)).dt.strftime("%Y-%m-%d %H:%M:%S")


def _pick(rng: np.random.Generator, df: pd.DataFrame, n: int, columns: list[str] | None = None) -> pd.DataFrame:
    """n random rows of ``df`` (only ``columns``, so large tables are not copied whole)."""
    idx = rng.integers(0, len(df), n)
    if columns is None:
        return df.iloc[idx].reset_index(drop=True)
    return pd.DataFrame({c: df[c].to_numpy()[idx] for c in columns})


def hukou(rng, pop: Population, geo: Geography) -> Records:
    cols = ["person_id", "citizen_id", "name", "sex", "birth_date", "phone", "household_id", "household_role", "address_id", "address"]
    p = pop.persons.loc[~pop.persons.non_local.to_numpy(), cols].reset_index(drop=True)
    rel = np.select([p.household_role == 0, p.household_role == 1, p.household_role == 4],
                    ["02", "10", "50"], np.where(p.sex == "男", "20", "30"))  # fmt: skip
    rel = strings(rel)
    dzbm = geo.addresses.dzbm.to_numpy()[p.address_id]
    rid = _ids("RK", len(p))
    rows = pd.DataFrame({
        "RKBM": rid, "GMSFHM": p.citizen_id, "XM": p.name, "XB": pick(p.sex == "男", "1", "2"),
        "CSRQ": date_strings(p.birth_date, "%Y%m%d"), "HH": table("HH{}", int(p.household_id.max()) + 1 if len(p) else 0)[p.household_id],
        "YHZGX": rel, "ZZ": p.address, "DZBM": dzbm, "LXDH": p.phone,
        "DJRQ": date_strings(p.birth_date, "%Y-%m-%d"),
    })  # fmt: skip
    return Records(rows, _mentions(rid, p.person_id, "self"))


def floating(rng, pop: Population, geo: Geography) -> Records:
    """流动人口居住登记: everyone who lives here with a hukou elsewhere, registered at the
    dwelling (居住登记, every member of the household, children too) — what the hukou is for
    a local household, so a non-local one is as observable."""
    cols = ["person_id", "citizen_id", "name", "sex", "birth_date", "phone", "household_id", "address_id", "address",
            "birth_division", "station_code"]  # fmt: skip
    p = pop.persons.loc[pop.persons.non_local.to_numpy(), cols].reset_index(drop=True)
    n, households = len(p), int(pop.persons.household_id.max()) + 1 if len(pop.persons) else 0
    moved_in = np.datetime64("2016-01-01") + rng.integers(0, 3650, households).astype("timedelta64[D]")
    born = p.birth_date.to_numpy().astype("datetime64[D]")
    registered = np.maximum(moved_in[p.household_id], born + np.timedelta64(30, "D")) + rng.integers(0, 30, n).astype("timedelta64[D]")
    age = (np.datetime64("2026-06-30") - born).astype(int) / 365.25
    reason = np.where(age >= 18, rng.choice(np.array(["务工", "经商", "投靠亲友", "其他"], dtype=object), n, p=[0.6, 0.2, 0.15, 0.05]),
                      np.where(age >= 6, "就学", "投靠亲友"))  # fmt: skip
    dwelling = np.array(["租赁房屋", "自购房", "单位内部", "借住"], dtype=object)[rng.choice(4, households, p=[0.7, 0.15, 0.1, 0.05])]
    rid = _ids("ZZ", n)
    rows = pd.DataFrame({
        "DJBH": rid, "GMSFHM": p.citizen_id, "XM": p.name, "XB": pick(p.sex == "男", "1", "2"),
        "CSRQ": date_strings(p.birth_date, "%Y%m%d"), "HJDQH": p.birth_division, "JZDZ": p.address,
        "DZBM": geo.addresses.dzbm.to_numpy()[p.address_id], "JZCS": dwelling[p.household_id], "JZSY": strings(reason),
        "LXDH": p.phone, "DJDW": p.station_code, "DJRQ": date_strings(registered, "%Y-%m-%d"),
    })  # fmt: skip
    return Records(rows, _mentions(rid, p.person_id, "self"))


def lodging(rng, pop: Population, geo: Geography, hotels: pd.DataFrame) -> Records:
    n = len(pop.persons) * 3 // 10
    guests = _pick(rng, pop.persons, n, ["name", "citizen_id", "person_id"])
    h = _pick(rng, hotels, n)
    t_in = day_offsets(rng, n)
    t_out = t_in + rng.integers(3600 * 8, 3600 * 24 * 4, n).astype("timedelta64[s]")
    rid = _ids("LD", n)
    rows = pd.DataFrame({
        "入住单号": rid, "旅馆编码": h.hotel_code, "旅馆名称": h.name, "姓名": guests.name, "证件类型": "居民身份证",
        "证件号码": guests.citizen_id, "入住时间": _local(t_in), "退房时间": _local(t_out),
        "房号": table("{}", 1230)[rng.integers(101, 1230, n)], "旅馆地址": h.address,
    })  # fmt: skip
    return Records(rows, _mentions(rid, guests.person_id, "guest"))


def rail(rng, pop: Population) -> Records:
    n = len(pop.persons) // 2
    pax = _pick(rng, pop.persons, n, ["name", "citizen_id", "person_id"])
    t = day_offsets(rng, n)
    rid = _ids("E", n)
    dep = rng.choice(np.array(STATIONS_RAIL[:3], dtype=object), n)
    arr = rng.choice(np.array(STATIONS_RAIL[3:], dtype=object), n)
    swap = rng.random(n) < 0.5
    rows = pd.DataFrame({
        "ticket_no": rid, "passenger_name": pax.name, "id_no": pax.citizen_id,
        "train_no": strings(np.char.add(rng.choice(np.array(["G", "D", "K"]), n, p=[0.7, 0.2, 0.1]), rng.integers(10, 9999, n).astype(str))),
        "dep_station": np.where(swap, arr, dep), "arr_station": np.where(swap, dep, arr),
        "dep_time": pd.Series(pd.to_datetime(t)).dt.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
        "coach": table("{:02d}", 17)[rng.integers(1, 17, n)],
        "seat": strings(np.char.add(np.char.zfill(rng.integers(1, 20, n).astype(str), 2), rng.choice(np.array(list("ABCDF")), n))),
    })  # fmt: skip
    return Records(rows, _mentions(rid, pax.person_id, "passenger"))


def flight(rng, pop: Population) -> Records:
    n = len(pop.persons) // 10
    pax = _pick(rng, pop.persons, n, ["surname", "given", "citizen_id", "phone", "person_id"])
    t = day_offsets(rng, n)
    rid = _ids("PNR", n, suffix="-1")
    plus86 = rng.random(n) < 0.5
    phone = np.where(pax.phone.isna(), "", pax.phone.fillna(""))
    rows = pd.DataFrame({
        "PNR_SEG": rid, "PAX_NAME": [airline_name(s, g) for s, g in zip(pax.surname, pax.given, strict=True)],
        "ID_NO": pax.citizen_id, "FLIGHT_NO": strings(np.char.add(rng.choice(np.array(["MU", "CA", "CZ", "ZH", "3U"]), n), rng.integers(1000, 9999, n).astype(str))),
        "DEP": "NGB", "ARR": rng.choice(np.array(AIRPORTS[1:], dtype=object), n),
        "DEP_TIME": pd.Series(pd.to_datetime(t)).dt.strftime("%Y%m%d%H%M"),
        "SEAT": strings(np.char.add(rng.integers(1, 40, n).astype(str), rng.choice(np.array(list("ABCDEF")), n))),
        "MOBILE": np.where(plus86 & (phone != ""), np.char.add("+86", phone.astype(str)), phone),
    })  # fmt: skip
    return Records(rows, _mentions(rid, pax.person_id, "passenger"))


def coach(rng, pop: Population) -> Records:
    n = len(pop.persons) // 5
    pax = _pick(rng, pop.persons, n, ["name", "citizen_id", "person_id"])
    t = day_offsets(rng, n)
    rid = _ids("KY", n)
    rows = pd.DataFrame({
        "票号": rid, "姓名": pax.name, "身份证号": pax.citizen_id,
        "班次": table("B{}", 999)[rng.integers(100, 999, n)], "发车时间": _local(t),
        "起点站": rng.choice(np.array(COACH_STATIONS[:3], dtype=object), n), "终点站": rng.choice(np.array(COACH_STATIONS[3:], dtype=object), n),
        "座位号": table("{}", 50)[rng.integers(1, 50, n)],
    })  # fmt: skip
    return Records(rows, _mentions(rid, pax.person_id, "passenger"))


def checkpoint_reads(rng, pop: Population, checkpoints: pd.DataFrame) -> Records:
    n = len(pop.vehicles) * 10
    v = _pick(rng, pop.vehicles, n, ["plate", "new_energy"])
    cp = _pick(rng, checkpoints, n, ["checkpoint_id"])
    t = day_offsets(rng, n)
    rows = pd.DataFrame({
        "read_id": _ids("KK", n), "checkpoint_id": cp.checkpoint_id, "plate": v.plate,
        "plate_color": pick(v.new_energy, "绿", "蓝"),
        "ts": (t.astype("datetime64[ms]").astype(np.int64) - 8 * 3600 * 1000),
        "direction": rng.choice(np.array(["东向西", "西向东", "南向北", "北向南"], dtype=object), n),
        "speed_kmh": rng.integers(15, 120, n),
    }, copy=False)  # fmt: skip
    return Records(rows)


def door_access(rng, pop: Population, geo: Geography) -> Records:
    residents = pop.persons.loc[pop.persons.phone.notna().to_numpy(), ["address_id", "name", "phone", "person_id"]]
    n = len(pop.persons) * 2
    r = _pick(rng, residents, n, list(residents.columns))
    t = day_offsets(rng, n, start="2026-01-01", days=170)
    rid = _ids("MJ", n)
    rows = pd.DataFrame({
        "event_id": rid, "community_code": geo.addresses.dzbm.str.slice(0, 14).to_numpy()[r.address_id],
        "door_id": table("D{}", 9)[rng.integers(1, 9, n)], "card_holder": r.name, "holder_phone": r.phone,
        "time": (t.astype("datetime64[s]").astype(np.int64) - 8 * 3600), "result": pick(rng.random(n) < 0.98, "open", "denied"),
    }, copy=False)  # fmt: skip
    return Records(rows, _mentions(rid, r.person_id, "holder"))


def subscribers(rng, pop: Population) -> Records:
    p = pop.persons.loc[pop.persons.phone.notna().to_numpy(), ["person_id", "citizen_id", "name", "phone"]].reset_index(drop=True)
    rid = _ids("SUB", len(p))
    rows = pd.DataFrame({
        "sub_id": rid, "msisdn": p.phone, "holder_name": p.name, "holder_id": p.citizen_id,
        "activated": (np.datetime64("2012-01-01") + np.arange(5000).astype("timedelta64[D]")).astype(str).astype(object)[rng.integers(0, 5000, len(p))],
        "operator": rng.choice(np.array(["中国移动", "中国联通", "中国电信"], dtype=object), len(p)),
    })  # fmt: skip
    return Records(rows, _mentions(rid, p.person_id, "holder"))


def calls(rng, pop: Population, extra: pd.DataFrame | None = None) -> Records:
    """Calls between phones, with the planted calls (``extra``, no cdr_id) appended."""
    p = pop.phones
    n = len(pop.persons) * 5
    a = rng.integers(0, len(p), n)
    # most calls stay within a household or a small circle: pick the callee near the caller
    b = np.clip(a + rng.integers(-30, 30, n), 0, len(p) - 1)
    b = np.where(b == a, (a + 1) % len(p), b)
    t = day_offsets(rng, n, start="2026-01-01", days=170)
    cols = {
        "caller": p.phone.to_numpy()[a], "callee": p.phone.to_numpy()[b],
        "start_time": (t.astype("datetime64[ms]").astype(np.int64) - 8 * 3600 * 1000),
        "duration_s": rng.exponential(90, n).astype(int), "cell_id": table("CELL{}", 500)[rng.integers(1, 500, n)],
        "call_type": pick(rng.random(n) < 0.85, "voice", "sms"),
    }  # fmt: skip
    del a, b, t
    return Records(_frame("cdr_id", "CDR", cols, extra))


def _frame(key: str, prefix: str, cols: dict[str, np.ndarray], extra: pd.DataFrame | None) -> pd.DataFrame:
    """The rows of ``cols`` then those of ``extra``, numbered by ``key`` (one frame built
    once, instead of a frame and its concatenation)."""
    if extra is not None and len(extra):
        for k in list(cols):  # in place, so each column exists once
            cols[k] = np.concatenate([np.asarray(cols[k]), extra[k].to_numpy()])
    n = len(next(iter(cols.values())))
    cols = {key: _ids(prefix, n), **cols}
    return pd.DataFrame(cols, copy=False)  # every column is a fresh array: use it, don't stack a copy


def bank_accounts(rng, pop: Population) -> Records:
    acc = pop.accounts
    companies = pop.companies.set_index("company_id")
    personal = acc.holder_person_id.notna().to_numpy()
    hp = pop.lookup(acc.holder_person_id, ["name", "citizen_id", "phone"])
    hc = companies.reindex(acc.holder_company_id)
    rows = pd.DataFrame({
        "账号": acc.account_no, "户名": np.where(personal, hp.name.to_numpy(), hc.name.to_numpy()),
        "证件号码": np.where(personal, hp.citizen_id.to_numpy(), None), "开户行": acc.bank,
        "开户日期": date_strings(acc.opened, "%Y/%m/%d"),
        "预留手机": np.where(personal, hp.phone.to_numpy(), None), "账户类型": acc.kind,
        "统一社会信用代码": np.where(personal, None, hc.uscc.to_numpy()),
    })  # fmt: skip
    mentions = _mentions(acc.account_no[personal].to_numpy(), acc.holder_person_id[personal].to_numpy(), "holder")
    return Records(rows, mentions)


def transactions(rng, pop: Population, planted: pd.DataFrame | None = None) -> Records:
    acc = pop.accounts[pop.accounts.kind == "个人"].reset_index(drop=True)
    names = pop.lookup(acc.holder_person_id, ["name"]).name.to_numpy()
    n = len(pop.persons) * 2
    a = rng.integers(0, len(acc), n)
    b = rng.integers(0, len(acc), n)
    t = day_offsets(rng, n)
    cols = {
        "付款账号": acc.account_no.to_numpy()[a], "付款户名": names[a], "收款账号": acc.account_no.to_numpy()[b],
        "收款户名": names[b], "金额": np.round(rng.lognormal(5.5, 1.2, n), 2), "交易时间": _local(t).to_numpy(),
        "渠道": rng.choice(np.array(["柜面", "网银", "手机银行", "ATM", "第三方支付"], dtype=object), n, p=[0.05, 0.2, 0.5, 0.05, 0.2]),
        "摘要": rng.choice(np.array(["转账", "消费", "还款", "生活费", "货款", "工资"], dtype=object), n),
    }  # fmt: skip
    del a, b, t
    return Records(_frame("流水号", "TX", cols, planted))


def incidents(rng, pop: Population, geo: Geography, extra: pd.DataFrame | None = None, truth: dict | None = None) -> Records:
    """110 calls: narratives from the call generator (calls.py: varied phrasings and noise), the
    true category and priority of each into ``truth["calls_110"]``."""
    n = max(50, len(pop.persons) // 20)
    callers = _pick(rng, pop.persons.loc[pop.persons.phone.notna().to_numpy(), ["name", "phone", "person_id"]], n)
    addr = _pick(rng, geo.addresses, n)
    share = calls_110.shares()
    kinds = rng.choice(np.array(list(share), dtype=object), n, p=list(share.values()))
    r = random.Random(int(rng.integers(0, 2**63)))
    said = [calls_110.narrative(r, k, a[:22]) for k, a in zip(kinds, addr.text, strict=True)]
    lon, lat = jitter(rng, addr.lon.to_numpy(), addr.lat.to_numpy(), 30)
    rows = pd.DataFrame({
        "bjsj": _local(day_offsets(rng, n)), "bjrxm": callers.name, "bjrdh": callers.phone,
        "sfdz": addr.text.str.slice(0, 22), "jd": lon, "wd": lat, "bjnr": [c.narrative for c in said], "jqlb": kinds,
        "cjdw": addr.station_code, "_person": callers.person_id,
    })  # fmt: skip
    labels = pd.DataFrame({"category": kinds, "priority": [c.priority for c in said], "template": [c.template for c in said],
                           "noise": [c.noise for c in said]})  # fmt: skip
    if extra is not None and len(extra):
        rows = pd.concat([rows, extra[rows.columns]], ignore_index=True)
        labels = pd.concat([labels, pd.DataFrame({"category": extra.jqlb.to_numpy(), "priority": 3, "template": "planted", "noise": ""})],
                           ignore_index=True)  # fmt: skip
    rid = _ids("JJ", len(rows))
    rows.insert(0, "jjdbh", rid)
    if truth is not None:
        truth["calls_110"] = labels.assign(record_id=rid, station=rows.cjdw.to_numpy())[
            ["record_id", "category", "priority", "station", "template", "noise"]]
    mentions = _mentions(rid, rows.pop("_person"), "caller")
    return Records(rows, mentions.dropna())


def vehicle_registrations(rng, pop: Population) -> Records:
    v = pop.vehicles
    owner = pop.lookup(v.owner_person_id, ["name", "citizen_id", "phone", "address"])
    rid = _ids("CL", len(v))
    rows = pd.DataFrame({
        "登记编号": rid, "号牌号码": v.plate, "号牌种类": pick(v.new_energy, "52", "02"), "车辆识别代号": v.vin,
        "所有人": owner.name.to_numpy(), "身份证明号码": owner.citizen_id.to_numpy(), "联系电话": owner.phone.to_numpy(),
        "住所地址": owner.address.to_numpy(), "初次登记日期": date_strings(v.reg_date, "%Y-%m-%d"),
        "车辆品牌": v.brand,
    })  # fmt: skip
    return Records(rows, _mentions(rid, v.owner_person_id, "owner"))


def enterprises(rng, pop: Population) -> Records:
    c = pop.companies
    rep = pop.lookup(c.legal_rep_person_id, ["name", "citizen_id"])
    rid = _ids("QY", len(c))
    variant = rng.random(len(c)) < 0.3  # registries write both forms
    rows = pd.DataFrame({
        "reg_id": rid, "uscc": c.uscc, "name": np.where(variant, c.name.str.replace("有限公司$", "有限责任公司", regex=True), c.name),
        "legal_rep": rep.name.to_numpy(), "legal_rep_id": rep.citizen_id.to_numpy(), "address": c.address,
        "reg_date": pd.to_datetime(c.reg_date).dt.strftime("%Y-%m-%d"), "capital_wan": c.capital_wan,
        "status": np.where(rng.random(len(c)) < 0.9, "存续", "注销"), "scope": np.where(c.name.str.contains("投资"), "投资咨询；资产管理", "一般项目"),
    })  # fmt: skip
    return Records(rows, _mentions(rid, c.legal_rep_person_id, "legal_rep"))


def enterprise_people(rng, pop: Population) -> Records:
    cp = pop.company_people
    who = pop.lookup(cp.person_id, ["name", "citizen_id"])
    codes = pop.companies.set_index("company_id").uscc.reindex(cp.company_id).to_numpy()
    rid = _ids("QR", len(cp))
    rows = pd.DataFrame({"rec_id": rid, "uscc": codes, "person_name": who.name.to_numpy(), "person_id": who.citizen_id.to_numpy(),
                         "position": cp.position, "share_pct": cp.share_pct})  # fmt: skip
    return Records(rows, _mentions(rid, cp.person_id, "officer"))
