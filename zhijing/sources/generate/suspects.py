"""What the joint-operations workbench must find, planted as real records with the truth
beside them (``truth/structures/burglary_crew.json`` and ``fugitive.json``):

- a burglary crew (3 persons, one vehicle): the vehicle's plate is read at the checkpoints
  nearest each scene of one burglary series shortly before and after the burglary, and
  the crew check in together at a hotel near the scene the night before;
- a fugitive and an accomplice who take the same trains and flights (adjacent seats) and
  share hotel rooms, the fugitive's ID written differently from record to record (the
  18-digit ID, its 15-digit legacy form, a mistyped digit, two digits transposed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zhijing.sources.generate.names import airline_name
from zhijing.sources.generate.population import Population
from zhijing.sources.generate.records import Records
from zhijing.sources.generate.structures import Planted

CREW_SIZE = 3
SERIES_MAX = 10  # scenes of the crew's series
TRIPS, STAYS = 4, 4
# dataset -> (key field, id prefix, id suffix, person role)
KEYS = {"checkpoint_read": ("read_id", "KK", "", None), "lodging": ("入住单号", "LD", "", "guest"),
        "rail_ticket": ("ticket_no", "E", "", "passenger"), "flight_ticket": ("PNR_SEG", "PNR", "-1", "passenger")}  # fmt: skip
ID_FORMS = ["id", "id_legacy_15", "id", "id_typo", "id_legacy_15", "id_transposed", "id", "id_legacy_15"]


@dataclass
class Extra:
    """Rows to append to one dataset: without their key, with the true person of each row
    (None for a plate read) and the ID fault planted on purpose (or None)."""

    rows: list[dict] = field(default_factory=list)
    persons: list[str | None] = field(default_factory=list)
    faults: list[tuple[str, str] | None] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # which planted fact each row is, for the truth

    def add(self, row: dict, person: str | None, tag: str, fault: tuple[str, str] | None = None) -> None:
        self.rows.append(row)
        self.persons.append(person)
        self.faults.append(fault)
        self.tags.append(tag)


def _used(planted: Planted) -> set[str]:
    t = planted.truth
    out = set(t["fraud_ring"]["ring"]) | set(t["fraud_ring"]["mules"]) | set(t["fraud_ring"]["victims"])
    out |= set(t["pyramid"].person_id) | set(t["fundraising"]["investors"])
    return out


def _local(ts: np.datetime64, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return pd.Timestamp(ts).strftime(fmt)


def plant(rng: np.random.Generator, pop: Population, geo, hotels: pd.DataFrame, checkpoints: pd.DataFrame,
          planted: Planted) -> dict[str, Extra]:  # fmt: skip
    """Choose the crew and the fugitive pair, add the fugitive's wanted case to
    ``planted.cases`` and return the rows each dataset gets (``attach`` adds them)."""
    extra = {name: Extra() for name in KEYS}
    used = _used(planted)
    p = pop.persons
    born = pd.to_datetime(p.birth_date)
    fit = p.phone.notna().to_numpy() & (born > "1966-01-01").to_numpy() & (born < "1999-01-01").to_numpy() & ~p.person_id.isin(used).to_numpy()
    pool = p[fit]
    owners = pop.vehicles[pop.vehicles.owner_person_id.isin(pool.person_id) & ~pop.vehicles.new_energy]
    vehicle = owners.iloc[int(rng.integers(0, len(owners)))]
    others = pool[pool.person_id != vehicle.owner_person_id]
    picks = others.person_id.to_numpy()[rng.choice(len(others), CREW_SIZE - 1 + 2, replace=False)]
    crew = [vehicle.owner_person_id, *picks[: CREW_SIZE - 1]]
    fugitive, accomplice = picks[CREW_SIZE - 1 :]
    planted.truth["burglary_crew"] = _crew(rng, pop, crew, vehicle, hotels, checkpoints, planted, extra)
    planted.truth["fugitive"] = _fugitive(rng, pop, fugitive, accomplice, hotels, planted, extra)
    return extra


def _crew(rng, pop, crew, vehicle, hotels, checkpoints, planted: Planted, extra: dict[str, Extra]) -> dict:
    events = planted.truth["crime_events"]
    sizes = events.groupby("hotspot").size()
    hot = int(sizes.idxmax())
    series = events[events.hotspot == hot].sort_values("time").head(SERIES_MAX)
    cp_xy = checkpoints[["lon", "lat"]].to_numpy()
    h_xy = hotels[["lon", "lat"]].to_numpy()
    who = pop.lookup(crew, ["name", "citizen_id"])
    reads = []
    for k, ev in enumerate(series.itertuples()):
        t = np.datetime64(pd.Timestamp(ev.time).to_datetime64(), "s")
        near = np.argsort(np.hypot(cp_xy[:, 0] - ev.lon, cp_xy[:, 1] - ev.lat))[:2]
        for when, cp in ((t - np.timedelta64(int(rng.integers(10, 40)) * 60, "s"), near[0]),
                         (t + np.timedelta64(int(rng.integers(10, 40)) * 60, "s"), near[1])):  # fmt: skip
            utc_ms = int((when - np.timedelta64(8, "h")).astype("datetime64[ms]").astype(np.int64))
            extra["checkpoint_read"].add({"checkpoint_id": checkpoints.checkpoint_id.iloc[cp], "plate": vehicle.plate, "plate_color": "蓝",
                                          "ts": utc_ms, "direction": "西向东", "speed_kmh": int(rng.integers(25, 60))},
                                         None, f"event:{ev.event_id}")  # fmt: skip
            reads.append({"event_id": int(ev.event_id), "checkpoint_id": checkpoints.checkpoint_id.iloc[cp], "time": str(when)})
        if k % 2 == 0:  # the night before every other burglary, in the hotel nearest the scene
            h = hotels.iloc[int(np.hypot(h_xy[:, 0] - ev.lon, h_xy[:, 1] - ev.lat).argmin())]
            night = (t - np.timedelta64(1, "D")).astype("datetime64[D]") + np.timedelta64(21, "h")
            room = int(rng.integers(2, 9)) * 100 + 1
            for j in range(len(crew)):
                extra["lodging"].add(_lodging_row(h, who.name[j], who.citizen_id[j], night + np.timedelta64(j * 3, "m"),
                                                  night + np.timedelta64(12, "h"), room + j // 2), crew[j], f"event:{ev.event_id}")  # fmt: skip
    return {"members": list(crew), "vehicle_id": vehicle.vehicle_id, "plate": vehicle.plate, "hotspot": hot,
            "event_ids": [int(e) for e in series.event_id], "reads": reads}  # fmt: skip


def _lodging_row(h, name, cid, t_in, t_out, room) -> dict:
    return {"旅馆编码": h.hotel_code, "旅馆名称": h["name"], "姓名": name, "证件类型": "居民身份证", "证件号码": cid,
            "入住时间": _local(t_in), "退房时间": _local(t_out), "房号": str(room), "旅馆地址": h.address}  # fmt: skip


def id_variant(cid: str, form: str) -> str:
    """The ID as a clerk or a ticket system wrote it."""
    if form == "id_legacy_15":
        return cid[:6] + cid[8:17]
    if form == "id_typo":
        return cid[:10] + str((int(cid[10]) + 3) % 10) + cid[11:]
    if form == "id_transposed":
        return cid[:14] + cid[15] + cid[14] + cid[16:] if cid[14] != cid[15] else cid[:12] + cid[13] + cid[12] + cid[14:]
    return cid


def _fugitive(rng, pop, fugitive, accomplice, hotels, planted: Planted, extra: dict[str, Extra]) -> dict:
    pair = [fugitive, accomplice]
    who = pop.lookup(pair, ["name", "surname", "given", "citizen_id", "phone"])
    start = np.datetime64("2025-09-01T07:00:00") + np.timedelta64(int(rng.integers(0, 120)), "D")
    forms: dict[str, list[str]] = {"fugitive": [], "accomplice": []}
    n = 0

    def cid(j: int) -> tuple[str, tuple[str, str] | None, str]:
        nonlocal n
        form = ID_FORMS[n % len(ID_FORMS)] if j == 0 else ("id_legacy_15" if n % 3 == 1 else "id")
        n += j  # the pair's forms advance once per pair of rows
        forms[["fugitive", "accomplice"][j]].append(form)
        return id_variant(who.citizen_id[j], form), None if form == "id" else form, form

    for trip in range(TRIPS):
        t = start + np.timedelta64(trip * 9, "D") + np.timedelta64(int(rng.integers(0, 10)) * 3600, "s")
        train = f"G{int(rng.integers(100, 9999))}"
        flight = f"MU{int(rng.integers(1000, 9999))}"
        for j in range(2):
            value, fault, _ = cid(j)
            if trip % 2 == 0:
                row = {"passenger_name": who.name[j], "id_no": value, "train_no": train, "dep_station": "宁波站", "arr_station": "南京南站",
                       "dep_time": _local(t, "%Y-%m-%dT%H:%M:%S+08:00"), "coach": "07", "seat": f"12{'AB'[j]}"}  # fmt: skip
                extra["rail_ticket"].add(row, pair[j], f"trip:{trip}", fault and ("id_no", fault))
            else:
                row = {"PAX_NAME": airline_name(who.surname[j], who.given[j]), "ID_NO": value, "FLIGHT_NO": flight, "DEP": "NGB",
                       "ARR": "CAN", "DEP_TIME": _local(t, "%Y%m%d%H%M"), "SEAT": f"31{'CD'[j]}", "MOBILE": who.phone[j]}  # fmt: skip
                extra["flight_ticket"].add(row, pair[j], f"trip:{trip}", fault and ("ID_NO", fault))
    for stay in range(STAYS):
        h = hotels.iloc[int(rng.integers(0, len(hotels)))]
        t = start + np.timedelta64(stay * 9 + 1, "D") + np.timedelta64(20, "h")
        for j in range(2):
            value, fault, _ = cid(j)
            row = _lodging_row(h, who.name[j], value, t + np.timedelta64(j * 2, "m"), t + np.timedelta64(14, "h"), 606)
            extra["lodging"].add(row, pair[j], f"stay:{stay}", fault and ("证件号码", fault))
    planted.cases.append(pd.DataFrame({
        "AJLB": ["刑事"], "AJXZ": ["诈骗"], "FASJ": [_local(start - np.timedelta64(60, "D"))], "FADD": [""], "JD": [121.55], "WD": [29.87],
        "JYAQ": ["嫌疑人以投资为名骗取他人钱款后潜逃，已上网追逃。"], "AJZT": ["在办"], "_event_id": [-1],
        "_persons": [[(fugitive, "嫌疑人")]],
    }))  # fmt: skip
    return {"fugitive": fugitive, "accomplice": accomplice, "trips": TRIPS, "stays": STAYS, "id_forms": forms}


def attach(builders: dict[str, Callable[[], Records]], extra: dict[str, Extra], truth: dict) -> None:
    """Wrap each dataset's builder so that its planted rows are appended when it is built;
    the record ids the rows get go into ``truth[...]['records']``."""
    for name, ex in extra.items():
        if ex.rows:
            builders[name] = _appending(builders[name], name, ex, truth)


def _appending(build: Callable[[], Records], name: str, ex: Extra, truth: dict) -> Callable[[], Records]:
    def run() -> Records:
        rec = build()
        key, prefix, suffix, role = KEYS[name]
        start = len(rec.rows) + 20_000_000
        ids = np.array([f"{prefix}{i:010d}{suffix}" for i in range(start, start + len(ex.rows))], dtype=object)
        rows = pd.DataFrame(ex.rows).assign(**{key: ids})[list(rec.rows.columns)]
        rec.rows = pd.concat([rec.rows, rows], ignore_index=True)
        if role:
            rec.persons = pd.concat([rec.persons, pd.DataFrame({"record_id": ids, "role": role, "person_id": ex.persons})], ignore_index=True)
        bad = [(i, f) for i, f in zip(ids, ex.faults, strict=True) if f]
        if bad:
            rec.faults = pd.DataFrame({"record_id": [i for i, _ in bad], "field": [f[0] for _, f in bad], "fault": [f[1] for _, f in bad]})
        for rid, tag, person in zip(ids, ex.tags, ex.persons, strict=True):
            which = "burglary_crew" if tag.startswith("event") else "fugitive"
            truth[which].setdefault("records", []).append({"dataset": name, "record_id": rid, "tag": tag, "person_id": person})
        return rec

    return run
