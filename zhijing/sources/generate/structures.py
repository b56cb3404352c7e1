"""Planted structures: the answers analyses must find.

Each planter returns its truth (written to truth/structures/) and the department records
that carry it (bank transfers, 110 calls, cases, calls, tickets), so the structure is
only visible to someone who links the sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zhijing.sources.generate.geography import Geography, jitter
from zhijing.sources.generate.population import Population

WINDOW_START = np.datetime64("2025-01-01T00:00:00")
WINDOW_DAYS = 540
WINDOW_END = WINDOW_START + np.timedelta64(WINDOW_DAYS, "D")  # the city's present: its newest records
FUNDRAISING_DAYS = 180  # deposits taken over six months, ending a month before the present


@dataclass
class Planted:
    truth: dict = field(default_factory=dict)  # name -> DataFrame or JSON-able dict
    transactions: list[pd.DataFrame] = field(default_factory=list)  # bank_transaction rows (no 流水号)
    calls: list[pd.DataFrame] = field(default_factory=list)  # call_record rows (no cdr_id)
    incidents: list[pd.DataFrame] = field(default_factory=list)  # incident rows (no jjdbh) + _person
    cases: list[pd.DataFrame] = field(default_factory=list)  # case rows (no AJBH) + persons list
    accidents: list[pd.DataFrame] = field(default_factory=list)


def _ts(rng, n, start=WINDOW_START, days=WINDOW_DAYS) -> np.ndarray:
    return start + rng.integers(0, days * 86400, n).astype("timedelta64[s]")


def _fmt(ts) -> np.ndarray:
    return pd.Series(pd.to_datetime(ts)).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy()


def _account_of(pop: Population) -> pd.Series:
    personal = pop.accounts[pop.accounts.kind == "个人"]
    return personal.drop_duplicates("holder_person_id").set_index("holder_person_id").account_no


def _transfers(pop, payer_pids, payee_accounts, payee_names, amounts, times, memo) -> pd.DataFrame:
    acct = _account_of(pop)
    names = pop.by_id("name")
    return pd.DataFrame({
        "付款账号": acct.reindex(payer_pids).to_numpy(), "付款户名": names.reindex(payer_pids).to_numpy(),
        "收款账号": payee_accounts, "收款户名": payee_names, "金额": np.round(amounts, 2), "交易时间": _fmt(times),
        "渠道": "手机银行", "摘要": memo,
    })  # fmt: skip


def _calls(pop, a_pids, b_pids, times) -> pd.DataFrame:
    phone = pop.by_id("phone")
    n = len(a_pids)
    return pd.DataFrame({
        "caller": phone.reindex(a_pids).to_numpy(), "callee": phone.reindex(b_pids).to_numpy(),
        "start_time": (pd.to_datetime(times).astype("datetime64[ms]").astype(np.int64) - 8 * 3600 * 1000),
        "duration_s": np.full(n, 120), "cell_id": "CELL1", "call_type": "voice",
    })


def crime_series(rng, geo: Geography, n_background: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Burglaries from a self-exciting (Hawkes) space-time process around hot areas:
    each event may trigger near-repeats within ~200 m and days."""
    hot = geo.addresses.sample(6, random_state=int(rng.integers(1 << 31)))[["lon", "lat", "station_code"]].reset_index(drop=True)
    k = rng.integers(0, len(hot), n_background)
    lon, lat = jitter(rng, hot.lon.to_numpy()[k], hot.lat.to_numpy()[k], 600)
    events = [dict(event_id=i, time=t, lon=x, lat=y, parent=-1, generation=0, hotspot=int(h))
              for i, (t, x, y, h) in enumerate(zip(_ts(rng, n_background), lon, lat, k, strict=True))]  # fmt: skip
    queue = list(events)
    branching = 0.45
    while queue:
        ev = queue.pop()
        for _ in range(rng.poisson(branching)):
            dt = np.timedelta64(int(rng.exponential(3 * 86400)), "s")
            t = ev["time"] + dt
            if t >= WINDOW_START + np.timedelta64(WINDOW_DAYS, "D"):
                continue
            x, y = jitter(rng, np.array([ev["lon"]]), np.array([ev["lat"]]), 150)
            child = dict(event_id=len(events), time=t, lon=x[0], lat=y[0], parent=ev["event_id"],
                         generation=ev["generation"] + 1, hotspot=ev["hotspot"])  # fmt: skip
            events.append(child)
            queue.append(child)
    df = pd.DataFrame(events)
    return df, hot


def plant(rng: np.random.Generator, pop: Population, geo: Geography) -> Planted:
    out = Planted()
    persons = pop.persons
    banked = persons.person_id.isin(_account_of(pop).index)  # planted money moves between real accounts
    adults = persons[(persons.phone.notna()) & (pd.to_datetime(persons.birth_date) < "2000-01-01") & banked]
    used: set[str] = set()

    def take(n: int) -> np.ndarray:
        pool = adults[~adults.person_id.isin(used)]
        picked = pool.person_id.to_numpy()[rng.choice(len(pool), n, replace=False)]
        used.update(picked)
        return picked

    _plant_crime(rng, pop, geo, out)
    _plant_fraud_ring(rng, pop, geo, out, take)
    _plant_pyramid(rng, pop, out, take)
    _plant_fundraising(rng, pop, out, take)
    _plant_blackspots(rng, pop, geo, out)
    return out


def _plant_crime(rng, pop, geo, out: Planted) -> None:
    n0 = max(20, len(pop.persons) // 500)
    events, hot = crime_series(rng, geo, n0)
    out.truth["crime_events"] = events.assign(time=pd.to_datetime(events.time))
    out.truth["crime_hotspots"] = hot
    out.cases.append(pd.DataFrame({
        "AJLB": "刑事", "AJXZ": "入室盗窃", "FASJ": _fmt(events.time), "FADD": "", "JD": events.lon, "WD": events.lat,
        "JYAQ": "嫌疑人撬锁入室，盗走现金及首饰。", "AJZT": "在办", "_event_id": events.event_id, "_persons": [[] for _ in range(len(events))],
    }))  # fmt: skip


def _plant_fraud_ring(rng, pop, geo, out: Planted, take) -> None:
    """Telecom fraud: victims pay mules, mules forward to the ring's collection accounts."""
    ring, mules, victims = take(4), take(10), take(40)
    acct = _account_of(pop)
    collect = acct.reindex(ring[:2]).to_numpy()
    names = pop.by_id("name")
    t_v = _ts(rng, len(victims), days=300)
    mule_of_victim = rng.integers(0, len(mules), len(victims))
    amount = rng.integers(3000, 80000, len(victims)).astype(float)
    out.transactions.append(_transfers(pop, victims, acct.reindex(mules[mule_of_victim]).to_numpy(),
                                       names.reindex(mules[mule_of_victim]).to_numpy(), amount, t_v, "转账"))  # fmt: skip
    t_m = t_v + np.timedelta64(3600, "s")
    forward = collect[rng.integers(0, 2, len(victims))]
    out.transactions.append(_transfers(pop, mules[mule_of_victim], forward, names.reindex(ring[:2]).to_numpy()[rng.integers(0, 2, len(victims))],
                                       amount * 0.95, t_m, "货款"))  # fmt: skip
    a = rng.choice(np.concatenate([ring, mules]), 80)
    b = rng.choice(ring, 80)
    out.calls.append(_calls(pop, a[a != b], b[a != b], _ts(rng, int((a != b).sum()), days=300)))
    vict = pop.lookup(victims, ["address_id", "name", "phone"])
    addr = geo.addresses.iloc[vict.address_id.to_numpy()]
    out.incidents.append(pd.DataFrame({
        "bjsj": _fmt(t_v + np.timedelta64(86400, "s")), "bjrxm": vict.name.to_numpy(), "bjrdh": vict.phone.to_numpy(),
        "sfdz": addr.text.str.slice(0, 22).to_numpy(), "jd": addr.lon.to_numpy(), "wd": addr.lat.to_numpy(),
        "bjnr": [f"报警人称接到自称客服的电话，被骗转账{int(x)}元。" for x in amount], "jqlb": "诈骗",
        "cjdw": addr.station_code.to_numpy(), "_person": victims,
    }))  # fmt: skip
    out.cases.append(pd.DataFrame({
        "AJLB": "刑事", "AJXZ": "电信诈骗", "FASJ": _fmt(t_v), "FADD": addr.text.to_numpy(), "JD": addr.lon.to_numpy(),
        "WD": addr.lat.to_numpy(), "JYAQ": "受害人被冒充客服诈骗转账。", "AJZT": "在办", "_event_id": -1,
        "_persons": [[(v, "受害人")] for v in victims],
    }))  # fmt: skip
    out.truth["fraud_ring"] = {
        "ring": ring.tolist(), "mules": mules.tolist(), "victims": victims.tolist(),
        "collection_accounts": collect.tolist(), "mule_accounts": acct.reindex(mules).tolist(),
        "flows": [{"victim": v, "mule": mules[m], "amount": float(x)} for v, m, x in zip(victims, mule_of_victim, amount, strict=True)],
    }  # fmt: skip


def _plant_pyramid(rng, pop, out: Planted, take) -> None:
    """Pyramid selling: a recruitment tree ≥ 3 levels and ≥ 30 members; each recruit pays
    an entry fee to the upline and is called by them first."""
    size = 40
    members = take(size)
    parent = np.full(size, -1)
    level = np.zeros(size, int)
    for i in range(1, size):
        # recruiters are earlier members with fewer than 4 recruits; keeps the tree deep
        cands = [j for j in range(max(0, i - 6), i) if (parent[:i] == j).sum() < 3]
        parent[i] = cands[int(rng.integers(0, len(cands)))] if cands else i - 1
        level[i] = level[parent[i]] + 1
    acct = _account_of(pop)
    names = pop.by_id("name")
    rec = np.arange(1, size)
    t = np.sort(_ts(rng, size - 1, days=200))
    up = members[parent[rec]]
    out.calls.append(_calls(pop, up, members[rec], t - np.timedelta64(86400, "s")))
    out.transactions.append(_transfers(pop, members[rec], acct.reindex(up).to_numpy(), names.reindex(up).to_numpy(),
                                       np.full(size - 1, 3980.0), t, "入会费"))  # fmt: skip
    out.truth["pyramid"] = pd.DataFrame({"person_id": members, "parent_person_id": np.where(parent >= 0, members[np.maximum(parent, 0)], None),
                                         "level": level})  # fmt: skip


def _plant_fundraising(rng, pop, out: Planted, take) -> None:
    """Illegal fundraising: an investment-consulting company takes many small 'wealth
    management' deposits promising high returns, in the half-year before the city's present
    (it collapses in the last weeks: a run as of the present must still warn of it)."""
    companies = pop.companies
    idx = int(rng.integers(0, len(companies)))
    companies.loc[idx, "name"] = "宁波鑫盛投资咨询有限公司"
    company = companies.iloc[idx]
    account = pop.accounts[pop.accounts.holder_company_id == company.company_id].account_no.iloc[0]
    investors = take(60)
    amount = rng.choice([50000.0, 100000.0, 200000.0], len(investors))
    start = WINDOW_END - np.timedelta64(FUNDRAISING_DAYS + 30, "D")
    out.transactions.append(_transfers(pop, investors, np.full(len(investors), account), np.full(len(investors), company["name"]),
                                       amount, _ts(rng, len(investors), start, FUNDRAISING_DAYS), "理财投资"))  # fmt: skip
    out.truth["fundraising"] = {"company_id": company.company_id, "uscc": company.uscc, "account_no": account,
                                "investors": investors.tolist(), "total": float(amount.sum()),
                                "start": str(start.astype("datetime64[D]"))}  # fmt: skip


def _plant_blackspots(rng, pop, geo, out: Planted) -> None:
    spots = geo.addresses.sample(8, random_state=int(rng.integers(1 << 31)))[["lon", "lat", "text", "station_code"]].reset_index(drop=True)
    spots["spot_id"] = np.arange(len(spots))
    out.truth["blackspots"] = spots
    n_total = max(40, len(pop.persons) // 200)
    n_spot = int(n_total * 0.4)
    k = rng.integers(0, len(spots), n_spot)
    lon_s, lat_s = jitter(rng, spots.lon.to_numpy()[k], spots.lat.to_numpy()[k], 40)
    other = geo.addresses.iloc[rng.integers(0, len(geo.addresses), n_total - n_spot)]
    acc = pd.DataFrame({
        "lon": np.concatenate([lon_s, other.lon.to_numpy()]), "lat": np.concatenate([lat_s, other.lat.to_numpy()]),
        "place": np.concatenate([spots.text.str.slice(0, 16).to_numpy()[k], other.text.str.slice(0, 16).to_numpy()]),
        "spot_id": np.concatenate([k, np.full(n_total - n_spot, -1)]),
    })
    out.accidents.append(acc)
