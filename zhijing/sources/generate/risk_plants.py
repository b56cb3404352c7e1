"""What the risk platform must find, planted beside structures.py (issue 14).

- the fundraising company's payouts funded by new money and its collapse date;
  the pyramid's collapse date;
- public complaints (12345 热线 / 网上信访) before each collapse, among ordinary ones;
- the laundering shapes of the AML benchmarks (fan-in, fan-out, cycle, scatter-gather,
  gather-scatter, bipartite) among ordinary transfers, beside legitimate look-alikes
  (payroll fan-outs, busy merchants);
- more burglaries from the same self-exciting process (with a city-wide background), and
  more accidents at the black-spots, so a 10⁴-person city has enough events to score;
- a crowd gathering in the door-access stream.

Everything draws from its own generator (``seed`` and the issue number), so the rest of
the city is exactly what it was without these plants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zhijing.sources.generate.geography import Geography, jitter
from zhijing.sources.generate.population import Population
from zhijing.sources.generate.records import Records
from zhijing.sources.generate.structures import (
    WINDOW_DAYS,
    WINDOW_START,
    Planted,
    _account_of,
    _fmt,
    _transfers,
)

PATTERNS = ("fan_in", "fan_out", "cycle", "scatter_gather", "gather_scatter", "bipartite")
BURGLARY = {"branching": 0.45, "mean_days": 3.0, "sigma_m": 150.0, "hot_sigma_m": 600.0}
RETURN_WORDS = "承诺年化收益{r}%，保本保息，"


@dataclass
class RiskPlants:
    complaints: Records
    door_rows: pd.DataFrame
    door_persons: pd.DataFrame

    def hook(self, builders: dict) -> None:
        """Add the complaint dataset and the gathering's door events to the city's builders."""
        builders["public_complaint"] = lambda: self.complaints
        door = builders["door_access"]

        def door_with_gathering() -> Records:
            rec = door()
            rec.rows = pd.concat([rec.rows, self.door_rows], ignore_index=True)
            rec.persons = pd.concat([rec.persons, self.door_persons], ignore_index=True)
            return rec

        builders["door_access"] = door_with_gathering


def open_accounts(seed: int, pop: Population) -> None:
    """Every adult with a phone gets a personal account if they had none, so planted
    transfers between people always name real accounts (called before structures.plant)."""
    rng = np.random.default_rng([seed, 14, 1])
    p = pop.persons
    adults = p[p.phone.notna() & (pd.to_datetime(p.birth_date) < "2000-01-01")].person_id
    lacking = adults[~adults.isin(pop.accounts.holder_person_id)].to_numpy()
    n = len(lacking)
    taken = set(pop.accounts.account_no)
    numbers = [
        a
        for a in np.char.add("6214", np.char.zfill(rng.choice(10**12, n + 50, replace=False).astype(str), 12))
        if a not in taken
    ]
    new = pd.DataFrame({
        "account_no": numbers[:n], "holder_person_id": lacking, "holder_company_id": None,
        "bank": rng.choice(np.array(["招商银行宁波分行", "宁波银行"], dtype=object), n), "kind": "个人",
        "opened": np.datetime64("2010-01-01") + rng.integers(0, 5000, n).astype("timedelta64[D]"),
    })  # fmt: skip
    pop.accounts = pd.concat([pop.accounts, new], ignore_index=True)


def plant(seed: int, pop: Population, geo: Geography, planted: Planted) -> RiskPlants:
    rng = np.random.default_rng([seed, 14])
    busy = _planted_people(planted)
    pool = _account_of(pop)
    pool = pool[~pool.index.isin(busy)]
    draw = _Drawer(rng, pool)
    collapses = _fundraising_payouts(rng, pop, planted)
    collapses["pyramid"] = _pyramid_collapse(planted)
    _aml(rng, pop, planted, draw)
    _lookalikes(rng, pop, planted, draw)
    _more_burglaries(rng, geo, planted, max(200, len(pop.persons) // 40))
    _more_accidents(rng, geo, planted, len(pop.persons))
    complaints = _complaints(rng, pop, geo, planted, collapses)
    door_rows, door_persons = _gathering(rng, pop, geo, planted)
    return RiskPlants(complaints, door_rows, door_persons)


def _planted_people(planted: Planted) -> set[str]:
    fr, fund = planted.truth["fraud_ring"], planted.truth["fundraising"]
    return (
        set(fr["ring"])
        | set(fr["mules"])
        | set(fr["victims"])
        | set(fund["investors"])
        | set(planted.truth["pyramid"].person_id)
    )


class _Drawer:
    """Fresh personal accounts (holder person id → account number), never drawn twice."""

    def __init__(self, rng, pool: pd.Series):
        self.order = rng.permutation(len(pool))
        self.pool = pool
        self.next = 0

    def __call__(self, n: int) -> pd.Series:
        pick = self.pool.iloc[self.order[self.next : self.next + n]]
        self.next += n
        return pick


def _tx(pop, payers: pd.Series, payees: pd.Series, amounts, times, memo) -> pd.DataFrame:
    """Transfers between drawn accounts (payers/payees: person id → account)."""
    names = pop.by_id("name")
    df = _transfers(
        pop,
        payers.index.to_numpy(),
        payees.to_numpy(),
        names.reindex(payees.index).to_numpy(),
        amounts,
        times,
        memo,
    )
    df["付款账号"] = payers.to_numpy()  # the drawn account, whichever of the holder's it is
    return df


def _fundraising_payouts(rng, pop, planted: Planted) -> dict:
    """Monthly 'returns' to earlier investors, paid from later deposits; the collapse is
    when deposits stop and payouts end."""
    fund = planted.truth["fundraising"]
    deposits = next(df for df in planted.transactions if (df["收款账号"] == fund["account_no"]).all())
    t = pd.to_datetime(deposits["交易时间"])
    collapse = (t.max() + pd.Timedelta(days=15)).normalize()
    rows = []
    for month in pd.date_range(t.min().normalize() + pd.Timedelta(days=30), collapse, freq="30D"):
        paid = deposits[t < month]
        if len(paid):
            rows.append(pd.DataFrame({
                "付款账号": fund["account_no"], "付款户名": deposits["收款户名"].iloc[0], "收款账号": paid["付款账号"].to_numpy(),
                "收款户名": paid["付款户名"].to_numpy(), "金额": np.round(paid["金额"].to_numpy() * 0.015, 2),
                "交易时间": _fmt(np.full(len(paid), np.datetime64(month)) + rng.integers(9 * 3600, 17 * 3600, len(paid)).astype("timedelta64[s]")),
                "渠道": "网银", "摘要": "理财收益",
            }))  # fmt: skip
    planted.transactions.extend(rows)
    fund["collapse"] = collapse.strftime("%Y-%m-%d")
    return {"fundraising": collapse}


def _pyramid_collapse(planted: Planted) -> pd.Timestamp:
    fees = next(df for df in planted.transactions if (df["摘要"] == "入会费").all())
    collapse = (pd.to_datetime(fees["交易时间"]).max() + pd.Timedelta(days=20)).normalize()
    planted.truth["pyramid_collapse"] = {
        "collapse": collapse.strftime("%Y-%m-%d"),
        "root": planted.truth["pyramid"].person_id.iloc[0],
    }
    return collapse


def _aml(rng, pop, planted: Planted, draw: _Drawer, per_pattern: int = 6) -> None:
    """Laundering shapes among ordinary transfers (amounts a few thousand yuan, like many
    ordinary ones; it is the shape in time that gives them away)."""
    txs, accounts = [], []
    for pattern in PATTERNS:
        for inst in range(per_pattern):
            start = (
                WINDOW_START
                + np.timedelta64(int(rng.integers(10, WINDOW_DAYS - 30)), "D")
                + np.timedelta64(int(rng.integers(0, 86400)), "s")
            )
            df, accts = _shape(rng, pop, draw, pattern, start)
            txs.append(df)
            accounts += [(a, pattern, f"{pattern}-{inst}", role) for a, role in accts]
    planted.transactions.extend(txs)
    planted.truth["aml_accounts"] = pd.DataFrame(
        accounts, columns=["account_no", "pattern", "instance", "role"]
    )
    planted.truth["aml_transfers"] = pd.concat(
        [d.assign(pattern=p) for d, p in zip(txs, np.repeat(PATTERNS, per_pattern), strict=True)],
        ignore_index=True,
    )[["付款账号", "收款账号", "金额", "交易时间", "pattern"]]


def _hours(rng, start, n: int, span_h: float) -> np.ndarray:
    return start + np.sort(rng.integers(0, int(span_h * 3600), n)).astype("timedelta64[s]")


def _amounts(rng, n: int) -> np.ndarray:
    return np.round(rng.uniform(2000, 9500, n), 2)


def _shape(rng, pop, draw: _Drawer, pattern: str, start) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    k = int(rng.integers(6, 11))
    if pattern == "fan_in":
        src, hub = draw(k), draw(1)
        df = _tx(pop, src, hub.repeat(k), _amounts(rng, k), _hours(rng, start, k, 12), "转账")
        return df, [(hub.iloc[0], "hub")] + [(a, "source") for a in src]
    if pattern == "fan_out":
        hub, dst = draw(1), draw(k)
        df = _tx(pop, hub.repeat(k), dst, _amounts(rng, k), _hours(rng, start, k, 12), "转账")
        return df, [(hub.iloc[0], "hub")] + [(a, "target") for a in dst]
    if pattern == "cycle":
        n = int(rng.integers(3, 7))
        ring = draw(n)
        amount = float(rng.uniform(20000, 90000)) * 0.97 ** np.arange(n)
        nxt = ring.iloc[np.r_[1:n, 0]]
        times = start + np.cumsum(rng.integers(6 * 3600, 3 * 86400, n)).astype("timedelta64[s]")
        return _tx(pop, ring, nxt, amount, times, "货款"), [(a, "member") for a in ring]
    if pattern == "scatter_gather":
        m = int(rng.integers(4, 8))
        s, mid, t = draw(1), draw(m), draw(1)
        amt = _amounts(rng, m)
        out = _tx(pop, s.repeat(m), mid, amt, _hours(rng, start, m, 24), "转账")
        back = _tx(
            pop, mid, t.repeat(m), amt * 0.98, _hours(rng, start + np.timedelta64(2, "D"), m, 48), "转账"
        )
        return pd.concat([out, back]), [(s.iloc[0], "source"), (t.iloc[0], "sink")] + [
            (a, "middle") for a in mid
        ]
    if pattern == "gather_scatter":
        m = int(rng.integers(5, 9))
        src, hub, dst = draw(k), draw(1), draw(m)
        amt = _amounts(rng, k)
        inn = _tx(pop, src, hub.repeat(k), amt, _hours(rng, start, k, 12), "转账")
        out = _tx(
            pop,
            hub.repeat(m),
            dst,
            np.full(m, round(amt.sum() * 0.97 / m, 2)),
            _hours(rng, start + np.timedelta64(14, "h"), m, 12),
            "转账",
        )
        return pd.concat([inn, out]), [(hub.iloc[0], "hub")] + [(a, "source") for a in src] + [
            (a, "target") for a in dst
        ]
    # bipartite: every one of a few senders pays every one of a few receivers
    a, b = draw(int(rng.integers(3, 5))), draw(int(rng.integers(3, 5)))
    pa, pb = np.repeat(np.arange(len(a)), len(b)), np.tile(np.arange(len(b)), len(a))
    df = _tx(pop, a.iloc[pa], b.iloc[pb], _amounts(rng, len(pa)), _hours(rng, start, len(pa), 72), "转账")
    return df, [(x, "sender") for x in a] + [(x, "receiver") for x in b]


def _lookalikes(rng, pop, planted: Planted, draw: _Drawer) -> None:
    """Legitimate many-to-one and one-to-many flows: busy shops' takings, households paying
    rent to one landlord, dealers, developers and schools paid large sums by many — what a
    plain threshold mistakes."""
    rows = []
    for _ in range(8):  # a shop: many small purchases a day, every day of a month, kept
        shop, buyers = draw(1), draw(25)
        day0 = WINDOW_START + np.timedelta64(int(rng.integers(0, WINDOW_DAYS - 40)), "D")
        n = 240
        times = day0 + rng.integers(0, 30 * 86400, n).astype("timedelta64[s]")
        rows.append(
            _tx(
                pop,
                buyers.iloc[rng.integers(0, 25, n)],
                shop.repeat(n),
                np.round(rng.lognormal(4.5, 0.8, n), 2),
                times,
                "消费",
            )
        )
    for _ in range(8):  # a landlord: rent from tenants on the first of the month, kept
        landlord, tenants = draw(1), draw(8)
        day0 = WINDOW_START + np.timedelta64(int(rng.integers(0, 12)) * 30, "D")
        for m in range(6):
            rows.append(_tx(pop, tenants, landlord.repeat(8), np.full(8, float(rng.choice([1800, 2500, 3200]))),
                            _hours(rng, day0 + np.timedelta64(30 * m, "D"), 8, 20), "房租"))  # fmt: skip
    companies = pop.companies
    corp = (
        pop.accounts[pop.accounts.kind == "对公"]
        .drop_duplicates("holder_company_id")
        .set_index("holder_company_id")
        .account_no
    )
    fund = planted.truth["fundraising"]["company_id"]
    for memo, n, low, high in (
        ("购车款", 30, 80_000, 300_000),
        ("购房定金", 25, 50_000, 200_000),
        ("学费", 120, 6_000, 15_000),
    ):
        # a dealer, a developer, a school: many persons pay one company large sums, nothing flows back
        company = companies[(companies.company_id != fund) & companies.company_id.isin(corp.index)].sample(
            1, random_state=int(rng.integers(1 << 31))
        )
        payers = draw(n)
        day0 = WINDOW_START + np.timedelta64(int(rng.integers(0, WINDOW_DAYS - 200)), "D")
        df = _tx(pop, payers, pd.Series(np.full(n, corp[company.company_id.iloc[0]]), index=payers.index),
                 np.round(rng.uniform(low, high, n), -2), day0 + np.sort(rng.integers(0, 180 * 86400, n)).astype("timedelta64[s]"), memo)  # fmt: skip
        df["收款户名"] = company.name.iloc[0]
        rows.append(df)
    planted.transactions.extend(rows)


def _more_burglaries(rng, geo: Geography, planted: Planted, n0: int) -> None:
    """More of the planted burglary process around the same hot areas, plus a city-wide
    background (burglaries happen everywhere; only some areas are hot)."""
    hot = planted.truth["crime_hotspots"]
    old = planted.truth["crime_events"]
    in_hot = rng.random(n0) < 0.5
    k = rng.integers(0, len(hot), n0)
    anywhere = geo.addresses.iloc[rng.integers(0, len(geo.addresses), n0)]
    hx, hy = jitter(rng, hot.lon.to_numpy()[k], hot.lat.to_numpy()[k], BURGLARY["hot_sigma_m"])
    lon = np.where(in_hot, hx, anywhere.lon.to_numpy())
    lat = np.where(in_hot, hy, anywhere.lat.to_numpy())
    t0 = WINDOW_START + rng.integers(0, WINDOW_DAYS * 86400, n0).astype("timedelta64[s]")
    base = int(old.event_id.max()) + 1
    events = [dict(event_id=base + i, time=t, lon=x, lat=y, parent=-1, generation=0, hotspot=int(h) if hh else -1)
              for i, (t, x, y, h, hh) in enumerate(zip(t0, lon, lat, k, in_hot, strict=True))]  # fmt: skip
    queue, end = list(events), WINDOW_START + np.timedelta64(WINDOW_DAYS, "D")
    while queue:
        ev = queue.pop()
        for _ in range(rng.poisson(BURGLARY["branching"])):
            t = ev["time"] + np.timedelta64(int(rng.exponential(BURGLARY["mean_days"] * 86400)), "s")
            if t >= end:
                continue
            x, y = jitter(rng, np.array([ev["lon"]]), np.array([ev["lat"]]), BURGLARY["sigma_m"])
            child = dict(event_id=base + len(events), time=t, lon=x[0], lat=y[0], parent=ev["event_id"],
                         generation=ev["generation"] + 1, hotspot=ev["hotspot"])  # fmt: skip
            events.append(child)
            queue.append(child)
    new = pd.DataFrame(events)
    planted.truth["crime_events"] = pd.concat(
        [old, new.assign(time=pd.to_datetime(new.time))], ignore_index=True
    )
    planted.truth["crime_process"] = {**BURGLARY, "background_hot_share": 0.5}
    planted.cases.append(pd.DataFrame({
        "AJLB": "刑事", "AJXZ": "入室盗窃", "FASJ": _fmt(new.time), "FADD": "", "JD": new.lon, "WD": new.lat,
        "JYAQ": "嫌疑人撬锁入室，盗走现金及首饰。", "AJZT": "在办", "_event_id": new.event_id, "_persons": [[] for _ in range(len(new))],
    }))  # fmt: skip


def _more_accidents(rng, geo: Geography, planted: Planted, persons: int) -> None:
    """Each black-spot gets about 5 more accidents; ordinary places get accidents in
    proportion to where people live (the exposure a safety performance function models)."""
    spots = planted.truth["blackspots"]
    per = rng.poisson(5, len(spots)) + 2
    k = np.repeat(np.arange(len(spots)), per)
    lon_s, lat_s = jitter(rng, spots.lon.to_numpy()[k], spots.lat.to_numpy()[k], 40)
    other = geo.addresses.iloc[rng.integers(0, len(geo.addresses), max(60, persons // 100))]
    planted.accidents.append(pd.DataFrame({
        "lon": np.concatenate([lon_s, other.lon.to_numpy()]), "lat": np.concatenate([lat_s, other.lat.to_numpy()]),
        "place": np.concatenate([spots.text.str.slice(0, 16).to_numpy()[k], other.text.str.slice(0, 16).to_numpy()]),
        "spot_id": np.concatenate([k, np.full(len(other), -1)]),
    }))  # fmt: skip


ORDINARY_COMPLAINTS = [
    ("噪音扰民", "反映{place}附近工地夜间施工噪音扰民，请求处理。"),
    ("市容环境", "反映{place}路边垃圾长期无人清理。"),
    ("交通出行", "反映{place}路口信号灯配时不合理，高峰拥堵。"),
    ("消费维权", "反映{company}拖欠货款，多次催要未果。"),
    ("劳动保障", "反映{company}拖欠工资两个月。"),
    ("消费维权", "反映{company}售后服务态度差，要求退款。"),
]


def _complaints(rng, pop, geo, planted: Planted, collapses: dict) -> Records:
    """12345 hotline and online petitions: ordinary ones all along, and investors' and
    families' complaints in the weeks before each collapse."""
    persons = pop.persons[pop.persons.phone.notna()]
    n = max(120, len(pop.persons) // 50)
    who = persons.iloc[rng.integers(0, len(persons), n)]
    kind = rng.integers(0, len(ORDINARY_COMPLAINTS), n)
    places = geo.addresses.text.str.slice(6, 16).to_numpy()[rng.integers(0, len(geo.addresses), n)]
    companies = pop.companies.name.to_numpy()[rng.integers(0, len(pop.companies), n)]
    subject = np.where(np.isin(kind, [3, 4, 5]), companies, None)
    rows = pd.DataFrame({
        "slsj": _fmt(WINDOW_START + rng.integers(0, WINDOW_DAYS * 86400, n).astype("timedelta64[s]")),
        "qdly": rng.choice(["12345热线", "网上信访"], n, p=[0.7, 0.3]), "fyrxm": who.name.to_numpy(), "fyrdh": who.phone.to_numpy(),
        "bfdx": subject, "nr": [ORDINARY_COMPLAINTS[k][1].format(place=p, company=c) for k, p, c in zip(kind, places, companies, strict=True)],
        "sqlb": [ORDINARY_COMPLAINTS[k][0] for k in kind], "_person": who.person_id.to_numpy(),
    })  # fmt: skip
    fund = planted.truth["fundraising"]
    company = pop.companies.set_index("company_id").name[fund["company_id"]]
    inv = rng.choice(fund["investors"], 10, replace=False)
    days = np.sort(rng.integers(3, 40, len(inv)))[::-1]
    t_inv = (
        np.datetime64(collapses["fundraising"])
        - days.astype("timedelta64[D]")
        + rng.integers(8 * 3600, 20 * 3600, len(inv)).astype("timedelta64[s]")
    )
    rate = rng.choice([15, 18, 20, 24], len(inv))
    fund_rows = pd.DataFrame({
        "slsj": _fmt(t_inv), "qdly": rng.choice(["12345热线", "网上信访"], len(inv)), "fyrxm": pop.by_id("name").reindex(inv).to_numpy(),
        "fyrdh": pop.by_id("phone").reindex(inv).to_numpy(), "bfdx": company,
        "nr": [f"反映{company}以投资理财名义吸收资金，{RETURN_WORDS.format(r=r)}现到期无法提现，要求退还本金。" for r in rate],
        "sqlb": "经济纠纷", "_person": inv,
    })  # fmt: skip
    fam = persons.iloc[rng.integers(0, len(persons), 4)]
    t_pyr = np.datetime64(collapses["pyramid"]) - np.sort(rng.integers(2, 30, 4))[::-1].astype(
        "timedelta64[D]"
    )
    pyr_rows = pd.DataFrame({
        "slsj": _fmt(t_pyr), "qdly": "网上信访", "fyrxm": fam.name.to_numpy(), "fyrdh": fam.phone.to_numpy(), "bfdx": None,
        "nr": "反映家人加入一个“创业团队”，缴纳入会费3980元后被要求发展下线、拉人头返利，无法退出。", "sqlb": "经济纠纷",
        "_person": fam.person_id.to_numpy(),
    })  # fmt: skip
    rows = (
        pd.concat([rows, fund_rows, pyr_rows], ignore_index=True)
        .sort_values("slsj", kind="stable")
        .reset_index(drop=True)
    )
    rid = np.array([f"GD{i:010d}" for i in range(len(rows))], dtype=object)
    rows.insert(0, "gdbh", rid)
    truth = rows[["gdbh", "slsj"]].assign(
        about=np.where(
            rows.bfdx == company, "fundraising", np.where(rows.nr.str.contains("入会费"), "pyramid", "")
        )
    )
    planted.truth["complaints"] = truth[truth.about != ""].reset_index(drop=True)
    mentions = pd.DataFrame(
        {"record_id": rid, "role": "complainant", "person_id": rows.pop("_person").to_numpy()}
    )
    return Records(rows, mentions)


def _gathering(rng, pop, geo: Geography, planted: Planted) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A crowd at one community's gates: some 400 door openings by its residents (cards
    belong to those who live there) within 40 minutes."""
    code = geo.addresses.dzbm.str.slice(0, 14)
    community = code.value_counts().index[int(rng.integers(0, 3))]
    p = pop.persons
    residents = p[p.phone.notna() & (code.to_numpy()[p.address_id.to_numpy()] == community)]
    people = residents.iloc[rng.integers(0, len(residents), 400)]
    start = np.datetime64("2026-03-14T19:00:00")
    t = start + np.sort(rng.integers(0, 40 * 60, len(people))).astype("timedelta64[s]")
    rid = np.array([f"MJG{i:09d}" for i in range(len(people))], dtype=object)
    rows = pd.DataFrame({
        "event_id": rid, "community_code": community, "door_id": rng.choice(["D1", "D2", "D3"], len(people)),
        "card_holder": people.name.to_numpy(), "holder_phone": people.phone.to_numpy(),
        "time": t.astype("datetime64[s]").astype(np.int64) - 8 * 3600, "result": "open",
    })  # fmt: skip
    planted.truth["crowd_gathering"] = {
        "community_code": community,
        "start": str(start),
        "minutes": 40,
        "events": len(people),
    }
    return rows, pd.DataFrame({"record_id": rid, "role": "holder", "person_id": people.person_id.to_numpy()})
