"""An independent test set for person resolution: people made with Faker's zh_CN provider,
not with zhijing's generator, recorded by several departments in one CSV (CRLF line
endings, UTF-8) with a truth file beside it. The platform never reads the truth.

Noise model (what the set plants, and how often):

- **population**: every person has a name (Faker's surnames and given names; 8 % one of the
  20 most common Chinese names, 2 % a compound surname, 3 % a Uyghur-style name joined by a
  middle dot such as 热依拉·吾斯曼), a valid citizen ID (Faker's ``ssn``: birth date and sex
  follow from it), a mobile phone (3 % with a prefix no network was allocated: kept as
  evidence, never a valid phone) and an address in a real county (GB/T 2260 names);
- **families**: 2 % of persons have a twin (same birth date, surname, address and phone,
  a different given name, the next free sequence number in the ID); one twin record in three
  carries a mistyped ID one character away from the sibling's; 2 % have a child with
  the **same full name** at the same address and phone, born 22–38 years later;
- **records**: each person appears 1–6 times, in departments with their own fields:
  户籍 (ID, birth date, sex, address, phone half the time), 通信 (phone, address; ID 30 %,
  birth date 60 %), 网格 (phone, stated birth date, sex, address; ID 25 %), 旅馆 (ID, address
  80 %; phone 30 %), 医保 (ID, birth date; phone 50 %, address 60 %); 15 % of persons have
  **no record with both an ID and a phone** (their ID-only and phone-only records meet only
  through name, birth date and address, and some share none of them); in a household of a
  same-named parent and child every record carries an ID or a stated birth date; 6 % of
  persons **changed their phone**: half of their records without an ID carry the new one, and
  those state the birth date and the full address (common names included);
- **names**: 4 % in traditional characters (OpenCC's standard, Taiwan or Hong Kong
  tables: 沈靜, 衞娟), 3 % with a space inside (慕 容华静), five times as
  often beside a mistyped ID; dotted names written with a look-alike (•・‧．) or no dot half
  the time;
- **IDs**: 3 % one digit mistyped, 2 % one digit of the **division code** (the first six)
  mistyped, 1 % two digits transposed, 2 % the 15-digit legacy form, 2 % fullwidth digits,
  2 % with spaces, lower-case x as it comes (a mistyped ID keeps its stale check digit);
- **phones**: 5 % ``+86`` prefixed, 5 % with dashes, 3 % fullwidth digits;
- **addresses**: 30 % without the province, 20 % the province without 省, 20 % the city
  without 市, 30 % of county-level cities without 市 (浏阳), 20 % 幢 for 栋, 5 % fullwidth
  digits, 5 % spaces;
- **birth dates**: four styles in one column, none dominant: 35 % ``YYYY-MM-DD``, 15 %
  ``YYYYMMDD``, 20 % ``YYYY年M月D日``, 30 % **day-first** ``DD/MM/YYYY`` (06/04/1982 is the 6th
  of April: nothing declares it, ``zhijing sources add`` has to tell); 3 % of the dates that
  can be are written with **day and month swapped** against the ID's;
- **sex**: 男/女, 1/2, fullwidth １/２ or M/F.

The hold-out of issue 18 (11,442 records of 4,000 people, made by no one on the project)
missed on the kinds marked in bold; they are planted here so the test set measures them.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

DATASET = "independent_persons"
COLUMNS = ["记录编号", "来源单位", "姓名", "公民身份号码", "出生日期", "性别", "联系电话", "住址"]
COMMON = ["张伟", "王伟", "王芳", "李伟", "王秀英", "李秀英", "李娜", "张秀英", "刘伟", "张敏", "李静", "张丽", "王静",
          "王丽", "李强", "张静", "李敏", "王敏", "王磊", "刘洋"]  # fmt: skip
COMPOUND = ["慕容", "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐"]
DOTTED_GIVEN = ["热依拉", "阿依古丽", "古丽娜尔", "艾力", "买买提", "努尔", "阿不都", "迪丽拜尔", "帕提古丽", "依明"]
DOTTED_FAMILY = ["吾斯曼", "买买提", "阿不都拉", "艾则孜", "肉孜", "伊明", "托合提", "热合曼", "吐尔逊", "司马义"]
DOT_LOOKALIKES = ["•", "・", "‧", "．", ""]
UNALLOCATED = ["140", "141", "142", "143", "144", "146", "148", "154", "160", "161", "164", "168", "169", "174", "179", "194"]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
# department -> (P(ID), P(phone), P(stated birth date), P(sex), P(address))
DEPARTMENTS = {
    "户籍": (1.0, 0.5, 1.0, 1.0, 1.0),
    "通信": (0.3, 1.0, 0.6, 0.5, 1.0),
    "网格": (0.25, 1.0, 1.0, 1.0, 1.0),
    "旅馆": (1.0, 0.3, 0.0, 0.5, 0.8),
    "医保": (1.0, 0.5, 1.0, 0.5, 0.6),
}


@dataclass
class Person:
    pid: str
    name: str
    cid: str
    birth: date
    male: bool
    phone: str
    address: tuple[str, str, str, str]  # province, city, district, detail
    split: bool = False  # no record with both ID and phone
    new_phone: str | None = None  # a phone taken later (records without an ID may carry it)
    child: bool = False
    noise: list[str] = field(default_factory=list)


def _check(body17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, WEIGHTS, strict=True)) % 11]


class Maker:
    def __init__(self, seed: int) -> None:
        from faker import Faker

        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.rnd = random.Random(seed)
        from opencc import OpenCC

        self.to_traditional = [OpenCC(c) for c in ("s2t", "s2tw", "s2hk")]  # mainland, Taiwan, Hong Kong tables
        self.counties = self._counties()
        self.used_ids: set[str] = set()

    @staticmethod
    def _counties() -> list[tuple[str, str, str]]:
        from zhijing.standards.divisions import divisions

        table = divisions()
        out = []
        for code, d in table.items():
            if code.endswith("00") or code[:2] in ("71", "81", "82"):
                continue
            prov, city = table.get(code[:2] + "0000"), table.get(code[:4] + "00")
            if prov and city and city.name.endswith("市") and not prov.name.endswith("市"):
                out.append((prov.name, city.name, d.name))
        return out

    def name(self, male: bool) -> str:
        r = self.rnd.random()
        if r < 0.08:
            return self.rnd.choice(COMMON)
        if r < 0.10:
            return self.rnd.choice(COMPOUND) + self.fake.first_name_male() if male else self.rnd.choice(COMPOUND) + self.fake.first_name_female()
        if r < 0.13:
            return self.rnd.choice(DOTTED_GIVEN) + "·" + self.rnd.choice(DOTTED_FAMILY)
        given = self.fake.first_name_male() if male else self.fake.first_name_female()
        return self.fake.last_name() + given

    def cid(self, male: bool, birth: date | None = None, division: str | None = None) -> str:
        while True:
            base = self.fake.ssn(min_age=16, max_age=85, gender="M" if male else "F")
            div = division or base[:6]
            born = birth or date(int(base[6:10]), int(base[10:12]), int(base[12:14]))
            seq = int(base[14:17])
            body = f"{div}{born:%Y%m%d}{seq:03d}"
            full = body + _check(body)
            if full not in self.used_ids:
                self.used_ids.add(full)
                return full

    def phone(self) -> str:
        if self.rnd.random() < 0.03:
            return self.rnd.choice(UNALLOCATED) + f"{self.rnd.randrange(10**8):08d}"
        return self.fake.phone_number()

    def address(self) -> tuple[str, str, str, str]:
        prov, city, dist = self.rnd.choice(self.counties)
        detail = f"{self.fake.street_name()}{self.rnd.randint(1, 300)}号{self.rnd.randint(1, 30)}栋{self.rnd.randint(1, 30)}0{self.rnd.randint(1, 4)}室"
        return prov, city, dist, detail

    def person(self, pid: str) -> Person:
        male = self.rnd.random() < 0.5
        cid = self.cid(male)
        birth = date(int(cid[6:10]), int(cid[10:12]), int(cid[12:14]))
        return Person(pid, self.name(male), cid, birth, male, self.phone(), self.address(),
                      split=self.rnd.random() < 0.15, new_phone=self.phone() if self.rnd.random() < 0.06 else None)  # fmt: skip


def population(mk: Maker, n: int) -> list[Person]:
    people: list[Person] = []
    while len(people) < n:
        p = mk.person(f"P{len(people):06d}")
        people.append(p)
        r = mk.rnd.random()
        if r < 0.02 and len(people) < n:  # a twin: same birth, surname, address, phone
            male = mk.rnd.random() < 0.5
            surname = p.name[:2] if p.name[:2] in COMPOUND else p.name[0]
            given = mk.fake.first_name_male() if male else mk.fake.first_name_female()
            twin_name = surname + given if "·" not in p.name else mk.rnd.choice(DOTTED_GIVEN) + p.name[p.name.index("·"):]
            if twin_name == p.name:
                continue
            tw = Person(f"P{len(people):06d}", twin_name, mk.cid(male, p.birth, p.cid[:6]), p.birth, male, p.phone,
                        p.address, noise=["twin"])  # fmt: skip
            p.noise.append("twin")
            people.append(tw)
        elif r < 0.04 and len(people) < n and p.birth.year < 1985:  # a child with the same full name
            born = p.birth + timedelta(days=365 * mk.rnd.randint(22, 38) + mk.rnd.randint(0, 300))
            if born.year > 2008:
                continue
            male = p.male
            ch = Person(f"P{len(people):06d}", p.name, mk.cid(male, born, p.cid[:6]), born, male, p.phone, p.address,
                        child=True, noise=["same_name_child"])  # fmt: skip
            p.noise.append("same_name_parent")
            people.append(ch)
    return people


def _id_text(mk: Maker, p: Person, sibling: str | None, noise: list[str]) -> str:
    rnd, cid = mk.rnd, p.cid
    r = rnd.random()
    if sibling and rnd.random() < 1 / 3:  # a twin's ID mistyped one character away from the sibling's
        diff = [i for i in range(18) if cid[i] != sibling[i]]
        keep = rnd.choice(diff)
        cid = "".join(sibling[i] if i != keep else cid[i] for i in range(18))
        noise.append("twin_id_typo")
    elif r < 0.03:
        i = rnd.randrange(14, 17) if rnd.random() < 0.5 else rnd.randrange(0, 17)
        cid = cid[:i] + str((int(cid[i]) + rnd.randint(1, 9)) % 10) + cid[i + 1:]
        noise.append("id_typo")
    elif r < 0.05:  # a division code digit (the ID's first six): the check digit left as it was
        i = rnd.randrange(0, 6)
        cid = cid[:i] + str((int(cid[i]) + rnd.randint(1, 9)) % 10) + cid[i + 1:]
        noise.append("id_division_typo")
    elif r < 0.06:
        i = rnd.randrange(6, 16)
        if cid[i] != cid[i + 1]:
            cid = cid[:i] + cid[i + 1] + cid[i] + cid[i + 2:]
            noise.append("id_transposed")
    elif r < 0.08 and p.birth.year < 2000:
        cid = cid[:6] + cid[8:17]
        noise.append("id_legacy_15")
    r = rnd.random()
    if r < 0.02:
        cid, _ = cid.translate(FULLWIDTH), noise.append("id_fullwidth")
    elif r < 0.04:
        cid, _ = f"{cid[:6]} {cid[6:14]} {cid[14:]}", noise.append("id_spaces")
    return cid.lower() if rnd.random() < 0.5 else cid


def _name_text(mk: Maker, name: str, noise: list[str]) -> str:
    """Traditional characters and inner spaces, five times as often beside a mistyped ID
    (the clerk who mistypes one is the one whose system writes the other)."""
    rnd = mk.rnd
    if "·" in name and rnd.random() < 0.5:
        name = name.replace("·", rnd.choice(DOT_LOOKALIKES))
        noise.append("name_dot_variant")
    r = rnd.random() / (5 if any(n.startswith("id_") and "typo" in n for n in noise) else 1)
    if r < 0.04:
        trad = rnd.choice(mk.to_traditional).convert(name)
        if trad != name:
            name = trad
            noise.append("name_traditional")
    elif r < 0.07 and len(name) >= 3 and "·" not in name:
        i = rnd.randrange(1, len(name))
        name = name[:i] + " " + name[i:]
        noise.append("name_space")
    return name


def _phone_text(mk: Maker, phone: str, noise: list[str]) -> str:
    r = mk.rnd.random()
    if r < 0.05:
        noise.append("phone_country_code")
        return "+86 " + phone
    if r < 0.10:
        noise.append("phone_dashes")
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if r < 0.13:
        noise.append("phone_fullwidth")
        return phone.translate(FULLWIDTH)
    return phone


def _address_text(mk: Maker, addr: tuple[str, str, str, str], noise: list[str]) -> str:
    rnd = mk.rnd
    prov, city, dist, detail = addr
    r = rnd.random()
    if r < 0.3:
        prov = ""
        noise.append("address_no_province")
    elif r < 0.5 and prov.endswith("省"):
        prov = prov.removesuffix("省")
        noise.append("address_province_short")
    if rnd.random() < 0.2:
        city = city.removesuffix("市")
        noise.append("address_city_short")
    if dist.endswith("市") and rnd.random() < 0.3:  # a county-level city: 浏阳 for 浏阳市
        dist = dist.removesuffix("市")
        noise.append("address_county_short")
    if rnd.random() < 0.2:
        detail = detail.replace("栋", "幢")
        noise.append("address_zhuang")
    text = prov + city + dist + detail
    r = rnd.random()
    if r < 0.05:
        text = text.translate(FULLWIDTH)
        noise.append("address_fullwidth")
    elif r < 0.10:
        text = f"{prov}{city} {dist} {detail}"
        noise.append("address_spaces")
    return text


def _birth_text(mk: Maker, born: date, noise: list[str]) -> str:
    """Four styles in one column (none dominant, so no one format can be declared), 3 %
    with day and month swapped against the truth (a month-first clerk)."""
    rnd = mk.rnd
    if born.day <= 12 and born.day != born.month and rnd.random() < 0.03:
        born = born.replace(month=born.day, day=born.month)
        noise.append("birth_swapped")
    r = rnd.random()
    if r < 0.35:
        return born.isoformat()
    if r < 0.5:
        return born.strftime("%Y%m%d")
    if r < 0.7:
        return f"{born.year}年{born.month}月{born.day}日"
    if born.day <= 12:
        noise.append("birth_day_first")
    return born.strftime("%d/%m/%Y")


def _sex_text(mk: Maker, male: bool) -> str:
    r = mk.rnd.random()
    if r < 0.6:
        return "男" if male else "女"
    if r < 0.85:
        return "1" if male else "2"
    if r < 0.92:
        return "１" if male else "２"
    return "M" if male else "F"


def records(mk: Maker, people: list[Person]) -> list[tuple[dict, str, list[str]]]:
    """(row, person id, noise tags) for every record."""
    rnd, out = mk.rnd, []
    twin_of = {}
    for a, b in zip(people, people[1:], strict=False):
        if "twin" in a.noise and "twin" in b.noise and a.birth == b.birth and a.phone == b.phone:
            twin_of[a.pid], twin_of[b.pid] = b.cid, a.cid
    for p in people:
        k = rnd.choice([1, 2, 2, 3, 3, 3, 4, 4, 5, 6])
        for _ in range(k):
            dept = rnd.choice(list(DEPARTMENTS))
            p_id, p_phone, p_birth, p_sex, p_addr = DEPARTMENTS[dept]
            has_id, has_phone = rnd.random() < p_id, rnd.random() < p_phone
            if p.split and has_id and has_phone:
                has_id, has_phone = (True, False) if rnd.random() < 0.5 else (False, True)
            if not has_id and not has_phone:
                has_id = True
            stated, addressed = rnd.random() < p_birth, rnd.random() < p_addr
            if (p.child or "same_name_parent" in p.noise) and not has_id:
                stated = True  # a household of two same-named people: a record without ID states the birth
            noise: list[str] = []
            phone = p.phone
            if p.new_phone and has_phone and not has_id and rnd.random() < 0.5:
                # the phone changed: name, birth date and full address are what the record shares
                phone, stated, addressed = p.new_phone, True, True
                noise.append("phone_changed")
            id_text = _id_text(mk, p, twin_of.get(p.pid), noise) if has_id else ""
            row = {"来源单位": dept, "姓名": _name_text(mk, p.name, noise), "公民身份号码": id_text,
                   "出生日期": _birth_text(mk, p.birth, noise) if stated else "",
                   "性别": _sex_text(mk, p.male) if rnd.random() < p_sex else "",
                   "联系电话": _phone_text(mk, phone, noise) if has_phone else "",
                   "住址": _address_text(mk, p.address, noise) if addressed else ""}  # fmt: skip
            out.append((row, p.pid, noise + p.noise))
    rnd.shuffle(out)
    return out


def generate(out_dir: Path, persons: int = 4000, seed: int = 7) -> dict:
    """Write ``out_dir/sources/independent/persons.csv`` (CRLF) and ``out_dir/truth/``; return counts."""
    mk = Maker(seed)
    people = population(mk, persons)
    rows = records(mk, people)
    src = out_dir / "sources" / "independent"
    truth = out_dir / "truth"
    src.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    with open(src / "persons.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(COLUMNS)
        for i, (row, _, _) in enumerate(rows):
            w.writerow([f"R{i + 1:07d}", *(row[c] for c in COLUMNS[1:])])
    with open(truth / "records.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["record_id", "person_id", "noise"])
        for i, (_, pid, noise) in enumerate(rows):
            w.writerow([f"R{i + 1:07d}", pid, ";".join(noise)])
    return {"persons": len(people), "records": len(rows)}


def read_truth(out_dir: Path):
    """The truth in the shape ``zhijing.entities.evaluate.score`` reads."""
    import pandas as pd

    t = pd.read_csv(out_dir / "truth" / "records.csv", dtype=str, keep_default_na=False)
    return t.assign(dataset=DATASET, role="self")
