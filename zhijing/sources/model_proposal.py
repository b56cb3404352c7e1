"""The model mappings ``zhijing sources add`` proposes from the 数据元 it profiled (DESIGN §10).

What a reviewer would write, read off the elements: a person + two date-times + a place is a
stay (a lodging register) or an access (an internet café, a door); one date-time + a place is
an access at a point in time; two phones + a date-time a call; two accounts + an amount a
payment; a plate + a date-time + a place a checkpoint pass. Headers only break ties (which
time starts the interval, which phone calls, which account pays, what kind of place). The
proposal is shown for review and validated like a hand-written mapping.
"""

from __future__ import annotations

import re

from zhijing.sources.spec import LONLAT_PARTS, DatasetSpec, ModelMapping, PlaceRef

START = re.compile(r"上机|入住|开始|起始|进入|登录|上线|发车|出发|start|begin|from|_in$|^in_")
END = re.compile(r"下机|退房|结束|终止|离开|登出|下线|到达|end|stop|until|_out$|^out_")
FIRST = re.compile(r"主叫|付款|转出|汇出|借方|本方|caller|calling|payer|from|src")
SECOND = re.compile(r"被叫|收款|转入|汇入|贷方|对方|callee|called|payee|to$|dst")
LODGING = re.compile(r"入住|退房|住宿|旅馆|酒店|宾馆|lodg|hotel|checkin|check_in")
# the kind of place a code names, told by the words of the dataset (its headers, name, title);
# a kind that a ``places:`` source declares is joined to it, any other is a label
KINDS = ((r"旅馆|酒店|宾馆|住宿|lodg|hotel", "hotel"), (r"卡口|过车|checkpoint|kkbh", "checkpoint"),
         (r"网吧|网咖|上网|上机|下机|netbar|wangba|internet", "netbar"), (r"基站|cell|lac", "cell"),
         (r"门禁|社区|小区|community|door", "community"))  # fmt: skip


def _fields(spec: DatasetSpec, *elements: str) -> list[str]:
    return [f.name for f in spec.fields if f.element in elements]


def _pick(names: list[str], pattern: re.Pattern) -> str | None:
    return next((n for n in names if pattern.search(n.lower())), None)


def _ordered(names: list[str], first: re.Pattern, second: re.Pattern) -> tuple[str, str]:
    """Two fields in their roles' order: by the header words, else as the columns stand."""
    a = _pick(names, first) or next(n for n in names if n != _pick(names, second))
    b = _pick([n for n in names if n != a], second) or next(n for n in names if n != a)
    return a, b


def _words(spec: DatasetSpec) -> str:
    return " ".join([spec.name, spec.title, *spec.field_names]).lower()


def _kind(spec: DatasetSpec, code: str | None) -> str:
    for where in ((code or "").lower(), _words(spec)):
        kind = next((k for pattern, k in KINDS if re.search(pattern, where)), None)
        if kind:
            return kind
    return spec.name


def _place(spec: DatasetSpec) -> PlaceRef | None:
    """A place code, coordinates (a lon and a lat field, or one ``lonlat`` field's two
    columns) and the place's name (a 名称 column beside them)."""
    code = next(iter(_fields(spec, "place_code")), None)
    lon, lat = next(iter(_fields(spec, "lon")), None), next(iter(_fields(spec, "lat")), None)
    if not (lon and lat) and (both := _fields(spec, "lonlat")):
        lon, lat = (both[0] + part for part in LONLAT_PARTS)
    if not code and not (lon and lat):
        return None
    name = next((f.name for f in spec.fields if "名称" in f.name or f.name.lower().endswith("name")
                 and f.element in ("text", "category", "company_name")), None)  # fmt: skip
    return PlaceRef(kind=_kind(spec, code), code=code, name=name, lon=lon if lat else None, lat=lat if lon else None)


def _span(times: list[str]) -> tuple[str, str | None]:
    """(start, end) of an interval from the date-time fields (one: an instant)."""
    if len(times) < 2:
        return times[0], None
    start = _pick(times, START) or times[0]
    rest = [t for t in times if t != start]
    return start, _pick(rest, END) or rest[0]


def propose(spec: DatasetSpec) -> list[ModelMapping]:
    """The model mappings of a profiled dataset (empty when its elements name no event)."""
    times = _fields(spec, "datetime") or _fields(spec, "date")
    if not times:
        return []
    start, end = _span(times)
    place = _place(spec)
    out: list[ModelMapping] = []
    phones, accounts, amounts = _fields(spec, "phone"), _fields(spec, "account_no"), _fields(spec, "amount")
    if len(accounts) >= 2 and amounts:
        payer, payee = _ordered(accounts, FIRST, SECOND)
        out.append(ModelMapping(type="payment", roles={"payer": payer, "payee": payee}, time=start,
                                properties={"amount": amounts[0]}))  # fmt: skip
    if len(phones) >= 2:
        caller, callee = _ordered(phones, FIRST, SECOND)
        duration = next(iter(_fields(spec, "duration_s")), None)
        out.append(ModelMapping(type="call", roles={"caller": caller, "callee": callee}, time=start,
                                end=None if duration else end, duration=duration, place=place))  # fmt: skip
    if place is None:
        return out
    for plate in _fields(spec, "plate")[:1]:
        out.append(ModelMapping(type="pass", roles={"vehicle": plate}, time=start, place=place))
    kind = "stay" if end and LODGING.search(_words(spec)) else "access"
    for role in spec.persons if len(phones) < 2 else ():  # a call's numbers are its people
        roles = {"guest": role.role} if kind == "stay" else {"holder": role.role, **({"phone": role.phone} if role.phone else {})}
        out.append(ModelMapping(type=kind, roles=roles, time=start, end=end, place=place))
    return out


def describe(m: ModelMapping) -> str:
    """One line a reviewer reads: ``access: holder=self · 上机时间 → 下机时间 · netbar code 场所编码 ...``."""
    roles = ", ".join(f"{r}={f}" for r, f in m.roles.items())
    when = m.time + (f" → {m.end}" if m.end else f" + {m.duration} s" if m.duration else "")
    where = ""
    if m.place:
        p = m.place
        where = " · " + " ".join(x for x in (f"place {p.kind}", p.code and f"code {p.code}", p.name and f"name {p.name}",
                                              p.lon and f"lon {p.lon}", p.lat and f"lat {p.lat}") if x)  # fmt: skip
    props = " · " + ", ".join(f"{k}={v}" for k, v in m.properties.items()) if m.properties else ""
    return f"{m.type}: {roles} · {when}{where}{props}"
