"""People, households, phones, companies, vehicles and bank accounts: the true city.

Everything here is the ground truth; department records are drawn from it later, with
their faults. Vectorised with numpy so 10^7 persons stay minutes, not hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from zhijing.sources.generate import names
from zhijing.sources.generate.geography import Geography
from zhijing.standards import citizen_id, uscc
from zhijing.standards.divisions import counties
from zhijing.standards.phone import MOBILE_PREFIXES

NON_LOCAL_SHARE = 0.2
EPOCH = np.datetime64("1970-01-01")
VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
              **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
              **dict(zip("STUVWXYZ", range(2, 10), strict=True))}  # fmt: skip
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


@dataclass
class Population:
    persons: pd.DataFrame
    households: pd.DataFrame
    companies: pd.DataFrame
    company_people: pd.DataFrame
    vehicles: pd.DataFrame
    accounts: pd.DataFrame
    phones: pd.DataFrame
    _index: pd.Index | None = field(default=None, repr=False)

    @property
    def index(self) -> pd.Index:
        """person_id → row, built once (``persons.set_index`` would copy every column)."""
        if self._index is None:
            self._index = pd.Index(self.persons.person_id.to_numpy())
        return self._index

    def by_id(self, column: str) -> pd.Series:
        """One column of the persons, indexed by person_id."""
        return pd.Series(self.persons[column].to_numpy(), index=self.index, name=column)

    def lookup(self, person_ids, columns: list[str]) -> pd.DataFrame:
        """``persons.set_index("person_id").reindex(person_ids)[columns]`` without the copies:
        unknown ids give rows of NaN, as reindex does."""
        pos = self.index.get_indexer(np.asarray(person_ids, dtype=object))
        miss = pos < 0
        out = {}
        for c in columns:
            v = self.persons[c].to_numpy()[np.where(miss, 0, pos)]
            if miss.any():
                v = v.astype(object if v.dtype == object else float)
                v[miss] = np.nan
            out[c] = v
        return pd.DataFrame(out)


def strings(values) -> np.ndarray:
    """An object array in which equal strings are one Python object.

    pandas holds one ``str`` per row for a numpy text array; for columns with few distinct
    values (sex, station, month, operator ...) sharing them saves most of their memory."""
    arr = np.asarray(values)
    if not len(arr):
        return arr.astype(object)
    uniq, inv = np.unique(arr, return_inverse=True)
    return uniq.astype(object)[inv.ravel()]


def pick(mask, yes, no) -> np.ndarray:
    """``np.where(mask, yes, no)`` for two strings, as shared objects."""
    return np.array([no, yes], dtype=object)[np.asarray(mask, dtype=bool).astype(np.intp)]


def table(fmt: str, size: int) -> np.ndarray:
    """The strings ``fmt.format(i)`` for i in 0..size-1, to be indexed by drawn integers."""
    return np.array([fmt.format(i) for i in range(size)], dtype=object)


def date_strings(values, fmt: str) -> np.ndarray:
    """``strftime`` of dates (or any timestamps that repeat), one object per distinct value."""
    d = pd.to_datetime(pd.Series(values)).to_numpy()
    uniq, inv = np.unique(d, return_inverse=True)
    return np.asarray(pd.DatetimeIndex(uniq).strftime(fmt), dtype=object)[inv.ravel()]


def _ids(divs: np.ndarray, births: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Unique valid citizen IDs: sequence numbers counted within (division, birth date)."""
    df = pd.DataFrame({"d": divs, "b": births})
    rank = df.groupby(["d", "b"]).cumcount().to_numpy()
    seq = (rank * 2 + male.astype(int) + 100) % 1000
    seq = np.where(seq % 2 == male.astype(int), seq, (seq + 1) % 1000)
    bodies = [f"{d}{str(b).replace('-', '')}{s:03d}" for d, b, s in zip(divs, births.astype("datetime64[D]"), seq, strict=True)]
    return np.array([b + citizen_id.check_char(b) for b in bodies])


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    prefixes = np.array(sorted(MOBILE_PREFIXES))
    out: set[str] = set()
    result = []
    while len(result) < n:
        need = n - len(result)
        cand = np.char.add(rng.choice(prefixes, need), np.char.zfill(rng.integers(0, 10**8, need).astype(str), 8))
        for c in cand:
            if c not in out:
                out.add(c)
                result.append(c)
    return np.array(result)


def vin(body: str) -> str:
    """A 17-character VIN with its ISO 3779 (North-American style) check digit in place 9."""
    total = sum(VIN_VALUES[c] * w for c, w in zip(body[:8] + "0" + body[9:], VIN_WEIGHTS, strict=True))
    check = "X" if total % 11 == 10 else str(total % 11)
    return body[:8] + check + body[9:]


def build(rng: np.random.Generator, geo: Geography, n_persons: int) -> Population:
    addresses = geo.addresses
    # Households of 1..5 people at distinct addresses.
    sizes = rng.choice([1, 2, 3, 4, 5], size=n_persons, p=[0.18, 0.30, 0.28, 0.16, 0.08])
    cum = np.cumsum(sizes)
    n_households = int(np.searchsorted(cum, n_persons) + 1)
    sizes = sizes[:n_households]
    sizes[-1] -= cum[n_households - 1] - n_persons
    household = np.repeat(np.arange(n_households), sizes)
    position = np.concatenate([np.arange(s) for s in sizes]) if n_households else np.array([], int)
    hh_address = rng.permutation(len(addresses))[:n_households] % len(addresses)
    address_id = hh_address[household]

    # Age structure: heads 25-75, spouses near the head, children younger.
    head_birth = rng.integers(365 * 25, 365 * 75, n_households)
    age_days = np.where(position == 0, head_birth[household],
               np.where(position == 1, head_birth[household] + rng.integers(-1500, 1500, n_persons),
               np.where(position == 4, head_birth[household] + 365 * 25, rng.integers(365 * 1, 365 * 24, n_persons))))  # fmt: skip
    today = np.datetime64("2026-06-30")
    births = (today - age_days.astype("timedelta64[D]")).astype("datetime64[D]")
    male = np.where(position == 1, ~(rng.random(n_persons) < 0.0), rng.random(n_persons) < 0.51)
    male = np.where(position == 1, ~np.repeat(rng.random(n_households) < 0.5, sizes), male)

    local_divs = addresses.district_code.to_numpy()[address_id]
    others = np.array([d.code for d in counties() if not d.code.startswith("3302")])
    non_local = np.repeat(rng.random(n_households) < NON_LOCAL_SHARE, sizes)
    divs = np.where(non_local, rng.choice(others, n_persons), local_divs)
    ids = _ids(divs, births, male)

    surname, given = names.draw_names(rng, n_persons)
    surname = np.where(position >= 2, surname[household * 0 + np.searchsorted(household, household)], surname)
    name = np.char.add(surname, given)
    phones = _phones(rng, n_persons)
    has_phone = (today - births).astype(int) > 365 * 14
    persons = pd.DataFrame({
        "person_id": [f"P{i:08d}" for i in range(n_persons)],
        "citizen_id": ids, "name": strings(name), "surname": strings(surname), "given": strings(given),
        "sex": pick(male, "男", "女"), "birth_date": births, "birth_division": strings(divs),
        "phone": np.where(has_phone, phones, None), "household_id": household, "household_role": position,
        "address_id": address_id, "address": addresses.text.to_numpy()[address_id],
        "district_code": local_divs, "station_code": addresses.station_code.to_numpy()[address_id],
        "non_local": non_local,
    })  # fmt: skip
    households = pd.DataFrame({"household_id": np.arange(n_households), "address_id": hh_address,
                               "head_person_id": persons.person_id.to_numpy()[np.searchsorted(household, np.arange(n_households))]})  # fmt: skip

    adults = persons.index[(today - persons.birth_date.to_numpy()).astype(int) > 365 * 20].to_numpy()
    companies, company_people = _companies(rng, persons, adults, geo)
    vehicles = _vehicles(rng, persons, adults, companies)
    accounts = _accounts(rng, persons, adults, companies)
    phone_table = persons.loc[persons.phone.notna(), ["phone", "person_id"]].reset_index(drop=True)
    return Population(persons, households, companies, company_people, vehicles, accounts, phone_table)


def _companies(rng, persons, adults, geo):
    n = max(20, len(persons) // 50)
    reps = rng.choice(adults, n, replace=False)
    addr = geo.addresses.sample(n, random_state=int(rng.integers(1 << 31)), replace=True)
    words = np.array(list("鑫源华泰恒达宏信瑞丰盛通海天嘉禾永兴博远联创"))
    trades = np.array(["贸易", "科技", "建设", "物流", "餐饮管理", "投资咨询", "电子商务", "机械制造", "网络科技"])
    brand = np.char.add(rng.choice(words, n), rng.choice(words, n))
    name = np.char.add(np.char.add("宁波" + brand.astype(object), rng.choice(trades, n)).astype(str), "有限公司")
    codes = [uscc.make(d, int(s)) for d, s in zip(addr.district_code, rng.choice(10**8, n, replace=False), strict=True)]
    companies = pd.DataFrame({
        "company_id": [f"C{i:07d}" for i in range(n)], "uscc": codes, "name": name,
        "legal_rep_person_id": persons.person_id.to_numpy()[reps], "address": addr.text.to_numpy(),
        "district_code": addr.district_code.to_numpy(), "reg_date": np.datetime64("2005-01-01") + rng.integers(0, 7000, n).astype("timedelta64[D]"),
        "capital_wan": rng.choice([10, 50, 100, 200, 500, 1000], n),
    })  # fmt: skip
    k = n * 2
    officers = pd.DataFrame({
        "company_id": rng.choice(companies.company_id.to_numpy(), k),
        "person_id": persons.person_id.to_numpy()[rng.choice(adults, k)],
        "position": rng.choice(["股东", "董事", "监事", "经理", "财务负责人"], k),
    })
    legal = pd.DataFrame({"company_id": companies.company_id, "person_id": companies.legal_rep_person_id, "position": "股东"})
    people = pd.concat([legal, officers]).drop_duplicates(["company_id", "person_id"]).reset_index(drop=True)
    people["share_pct"] = np.where(people.position == "股东", rng.integers(5, 80, len(people)), 0)
    return companies, people


def _vehicles(rng, persons, adults, companies):
    n = max(10, len(persons) * 3 // 10)
    owners = rng.choice(adults, n)
    letters = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))
    digits = np.array(list("0123456789"))
    ne = rng.random(n) < 0.15
    tail5 = ["".join(x) for x in rng.choice(np.concatenate([letters[:10], digits, digits]), (n, 5))]
    tail_ne = ["D" + "".join(x) for x in rng.choice(digits, (n, 5))]
    city_letter = rng.choice(np.array(list("BBBBBH")), n)
    plate = np.char.add(np.char.add("浙", city_letter), np.where(ne, tail_ne, tail5))
    plate_series = pd.Series(plate)
    keep = ~plate_series.duplicated().to_numpy()
    bodies = ["".join(x) for x in rng.choice(np.array(list(VIN_CHARS)), (n, 17))]
    vins = [vin("LSV" + b[3:]) for b in bodies]
    return pd.DataFrame({
        "vehicle_id": [f"V{i:08d}" for i in range(n)], "plate": plate, "vin": vins,
        "owner_person_id": persons.person_id.to_numpy()[owners], "new_energy": ne,
        "brand": rng.choice(np.array(["大众", "丰田", "比亚迪", "吉利", "本田", "特斯拉", "长安", "蔚来"], dtype=object), n),
        "reg_date": np.datetime64("2008-01-01") + rng.integers(0, 6500, n).astype("timedelta64[D]"),
    })[keep].reset_index(drop=True)  # fmt: skip


def _accounts(rng, persons, adults, companies):
    n = max(10, len(persons) * 6 // 10)
    holders = rng.choice(adults, n)
    banks = np.array(["工商银行宁波分行", "农业银行宁波分行", "建设银行宁波分行", "宁波银行", "中国银行宁波分行"], dtype=object)
    prefixes = np.array(["6222", "6228", "6217", "6230", "6013"])
    numbers = np.char.add(rng.choice(prefixes, n), np.char.zfill(rng.choice(10**12, n, replace=False).astype(str), 12))
    personal = pd.DataFrame({
        "account_no": numbers, "holder_person_id": persons.person_id.to_numpy()[holders], "holder_company_id": None,
        "bank": rng.choice(banks, n), "kind": "个人",
        "opened": np.datetime64("2010-01-01") + rng.integers(0, 5000, n).astype("timedelta64[D]"),
    })  # fmt: skip
    m = len(companies)
    corp = pd.DataFrame({
        "account_no": np.char.add("3301", np.char.zfill(rng.choice(10**12, m, replace=False).astype(str), 12)),
        "holder_person_id": None, "holder_company_id": companies.company_id.to_numpy(), "bank": rng.choice(banks, m),
        "kind": "对公", "opened": companies.reg_date.to_numpy(),
    })  # fmt: skip
    return pd.concat([personal, corp]).drop_duplicates("account_no").reset_index(drop=True)


def day_offsets(rng: np.random.Generator, n: int, start: str = "2025-01-01", days: int = 540) -> np.ndarray:
    """Random local timestamps (numpy datetime64[s]) in the observation window."""
    base = np.datetime64(start + "T00:00:00")
    return base + rng.integers(0, days * 86400, n).astype("timedelta64[s]")


def as_date(d: np.datetime64) -> date:
    return pd.Timestamp(d).date()
