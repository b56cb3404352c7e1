"""Organisation administration and the demo organisation (units from the generated city
when there is one, demo officers with logins, demo cases and an emergency)."""

from __future__ import annotations

import csv
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from zhijing.access import models, sessions
from zhijing.access.passwords import hash_password
from zhijing.errors import ZhijingError


def add_unit(settings, code: str, name: str, tier: str, parent: str | None = None) -> None:
    if tier not in models.TIERS:
        raise ZhijingError(f"tier must be one of {', '.join(models.TIERS)}")
    with models.engine(settings).begin() as conn:
        if parent and conn.execute(sa.select(models.units.c.code).where(models.units.c.code == parent)).first() is None:
            raise ZhijingError(f"parent unit {parent} does not exist")
        _upsert(conn, models.units, "code", {"code": code, "name": name, "tier": tier, "parent_code": parent})


def add_user(settings, username: str, name: str, unit: str, department: str, password: str, roles: str = "officer",
             clearance: int = 1, kind: str = "officer", household_id: str | None = None) -> None:  # fmt: skip
    if not 0 <= clearance <= 3:
        raise ZhijingError("clearance must be 0 (public) .. 3 (secret)")
    if len(password) < 10:
        raise ZhijingError("password must have at least 10 characters")
    with models.engine(settings).begin() as conn:
        if conn.execute(sa.select(models.units.c.code).where(models.units.c.code == unit)).first() is None:
            raise ZhijingError(f"unit {unit} does not exist")
        _upsert(conn, models.users, "username", {
            "username": username, "name": name, "unit_code": unit, "department": department, "roles": roles,
            "clearance": clearance, "password_hash": hash_password(password), "kind": kind, "household_id": household_id,
            "active": True})  # fmt: skip


def set_active(settings, username: str, active: bool) -> None:
    """Enable or disable an account; disabling ends its sessions, and their refresh tokens with them."""
    with models.engine(settings).begin() as conn:
        conn.execute(sa.update(models.users).where(models.users.c.username == username).values(active=active))
    if not active:
        sessions.end_all(settings, username)


def add_purpose(settings, ref: str, title: str, unit: str, assigned: list[str], status: str = "open",
                expires_at: datetime | None = None, subjects: list[str] | None = None, topic: str | None = None) -> None:  # fmt: skip
    """A purpose; ``topic`` says what it is about: a case's matter (``fraud``, ``burglary``…,
    which warnings it may open), a ticket's service (``hukou_certificate``…, which fields it opens)."""
    kind = ref.split(":", 1)[0]
    with models.engine(settings).begin() as conn:
        _upsert(conn, models.purposes, "ref", {"ref": ref, "kind": kind, "title": title, "unit_code": unit, "status": status,
                                               "expires_at": expires_at, "subjects": ",".join(subjects or []), "topic": topic})  # fmt: skip
        conn.execute(sa.delete(models.assignments).where(models.assignments.c.ref == ref))
        if assigned:
            conn.execute(sa.insert(models.assignments), [{"ref": ref, "username": u} for u in assigned])


def name_subjects(settings, ref: str, subjects: list[str]) -> None:
    """Name persons in a purpose (a ticket's applicants, an order's targets): it opens them."""
    with models.engine(settings).begin() as conn:
        old = conn.execute(sa.select(models.purposes.c.subjects).where(models.purposes.c.ref == ref)).scalar() or ""
        named = list(dict.fromkeys([*(s for s in old.split(",") if s), *subjects]))
        conn.execute(sa.update(models.purposes).where(models.purposes.c.ref == ref).values(subjects=",".join(named)))


def set_purpose_status(settings, ref: str, status: str) -> None:
    with models.engine(settings).begin() as conn:
        conn.execute(sa.update(models.purposes).where(models.purposes.c.ref == ref).values(status=status))


def _upsert(conn, table, key: str, values: dict) -> None:
    conn.execute(sa.delete(table).where(table.c[key] == values[key]))
    conn.execute(sa.insert(table).values(**values))


DEMO_CASE = "case:A330200000000001"  # the burglary series, assigned to xingzhen01
STATION_CASE = "case:A330200000000004"  # a station's public-order case, worked by paichusuo01 (clearance 1)
DEMO_TICKET = "ticket:GD2026000001"  # a station's 户籍证明 ticket: opens the persons it names, the household fields only
DEMO_USERS = [
    # username, name, unit (tier), department, roles, clearance, description
    ("xingzhen01", "陈刑侦", "分局", "刑侦", "officer", 2, "刑侦民警 (分局) — assigned to the burglary series and fraud cases"),
    ("paichusuo01", "李社区", "派出所", "治安", "officer", 1, "派出所社区民警 — own station only, low clearance"),
    ("kezhang01", "刘科长", "分局", "刑侦", "officer,approver", 3, "刑侦科长 (分局) — approves exports (双人审批)"),
    ("dadui01", "郑大队长", "分局", "刑侦", "officer,approver", 3, "刑侦大队长 (分局) — the second approver: decides the 科长's own exports"),
    ("ducha01", "王督察", "市局", "督察", "auditor", 3, "督察 — audit trail and misuse flags"),
    ("fazhi01", "郑法制", "分局", "法制", "officer", 2, "法制审核员 (分局) — reads the case procedure and its supervision flags (执法监督), no person files unless assigned"),
    ("admin", "系统管理员", "市局", "指挥中心", "admin", 1, "administrator"),
    ("fenxi01", "赵研判", "市局", "情报", "officer", 2, "情报研判分析员 (市局) — workbench analyses on assigned cases"),
    ("zhihui01", "孙指挥", "市局", "指挥中心", "officer", 1, "指挥中心调度员 (市局) — 110 dispatch, emergencies"),
    ("weijian01", "卫健委对接", "外部", "卫健委", "external", 1, "external department (卫健委) — service tickets, sharing contracts"),
    ("weijian02", "卫健委主任", "外部", "卫健委", "external,approver", 1, "卫健委 approver — signs the department's side of a sharing contract"),
    ("zhihuizhang01", "吴指挥长", "市局", "指挥中心", "officer,approver", 2, "指挥长 (市局) — approves the watches placed under the city's duty (布控审批)"),
    ("xunluo01", "周巡逻", "派出所", "巡特警", "officer", 1, "巡逻车民警 (派出所) — the station's first patrol car: the phone view /m"),
]
DUTY_TIERS = ("市局", "分局", "派出所")  # units that take 110 calls and command them: each holds a standing duty purpose
# the demo's dispatcher and the 指挥长 who approves the watches placed under the city's duty (布控审批), duty room and patrol phone
DUTY_USERS = {"市局": ["zhihui01", "zhihuizhang01"], "派出所": ["paichusuo01", "xunluo01"]}


def duty_purpose(unit_code: str) -> str:
    """A unit's standing 110 duty purpose (the purpose dispatch opens under): ``order:110-<unit code>``."""
    return f"order:110-{unit_code}"


def add_duty_purposes(settings, assigned: dict[str, list[str]]) -> None:
    """The standing duty purposes of every command centre, branch and station (one
    transaction: a city has dozens), and their users (``unit code → usernames``) — added
    to whoever is assigned already."""
    with models.engine(settings).begin() as conn:
        duty = conn.execute(sa.select(models.units.c.code, models.units.c.name)
                            .where(models.units.c.tier.in_(DUTY_TIERS))).all()  # fmt: skip
        refs = [duty_purpose(code) for code, _ in duty]
        if not refs:
            return
        conn.execute(sa.delete(models.purposes).where(models.purposes.c.ref.in_(refs)))
        conn.execute(sa.insert(models.purposes), [
            {"ref": duty_purpose(code), "kind": "order", "title": f"{name} 110接处警值班", "unit_code": code, "status": "open",
             "expires_at": None, "subjects": "", "topic": "dispatch"} for code, name in duty])  # fmt: skip
        have = set(conn.execute(sa.select(models.assignments.c.ref, models.assignments.c.username)
                                .where(models.assignments.c.ref.in_(refs))).tuples())  # fmt: skip
        fresh = [{"ref": duty_purpose(code), "username": u} for code, users in assigned.items() for u in users
                 if duty_purpose(code) in refs and (duty_purpose(code), u) not in have]  # fmt: skip
        if fresh:
            conn.execute(sa.insert(models.assignments), fresh)


def seed_demo(settings) -> list[tuple[str, str, str]]:
    """Create the demo organisation; returns (username, password, description) logins. The
    passwords are new at every seeding and kept nowhere in clear (only their Argon2 hashes):
    the caller prints them once."""
    units_csv = settings.city_dir / "sources" / "org" / "units.csv"
    add_unit(settings, "330000000000", "浙江省公安厅", "省厅")
    if units_csv.exists():
        with units_csv.open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                add_unit(settings, r["unit_code"], r["name"], r["tier"], r["parent_code"] or "330000000000")
    else:
        add_unit(settings, "330200000000", "宁波市公安局", "市局", "330000000000")
        add_unit(settings, "330212000000", "宁波市公安局鄞州区分局", "分局", "330200000000")
        add_unit(settings, "330212010000", "鄞州区第1派出所", "派出所", "330212000000")
    add_unit(settings, "EXT-WJW", "宁波市卫生健康委员会", "外部", None)
    with models.engine(settings).connect() as conn:
        by_tier = {t: conn.execute(sa.select(models.units.c.code).where(models.units.c.tier == t).order_by(models.units.c.code)).scalars().first()
                   for t in models.TIERS}  # fmt: skip
    station = by_tier["派出所"]
    with models.engine(settings).connect() as conn:
        branch = conn.execute(sa.select(models.units.c.parent_code).where(models.units.c.code == station)).scalar()
    by_tier["分局"] = branch or by_tier["分局"]
    logins = []
    for username, name, tier, dept, roles, clearance, what in DEMO_USERS:
        password = f"zj-{secrets.token_urlsafe(9)}"
        add_user(settings, username, name, by_tier[tier] if tier != "外部" else "EXT-WJW", dept, password, roles, clearance,
                 "external" if "external" in roles.split(",") else "officer")  # fmt: skip
        logins.append((username, password, what))
    (settings.state_dir / "demo_logins.txt").unlink(missing_ok=True)  # where older versions kept them in clear
    now = datetime.now(UTC)
    add_purpose(settings, DEMO_CASE, "鄞州入室盗窃系列案", by_tier["分局"], ["xingzhen01", "kezhang01", "fenxi01", "dadui01"],
                topic="burglary")  # fmt: skip
    add_purpose(settings, "case:A330200000000002", "冒充客服电信诈骗案", by_tier["分局"], ["xingzhen01"], topic="fraud")
    add_purpose(settings, "case:A330200000000003", "已结纠纷案", station, ["xingzhen01", "paichusuo01"], status="closed", topic="dispute")
    add_purpose(settings, STATION_CASE, "辖区治安案件", station, ["paichusuo01"], topic="public_order")
    add_purpose(settings, DEMO_TICKET, "户籍证明开具工单", station, ["paichusuo01"], topic="hukou_certificate")
    add_purpose(settings, "emergency:PH2026-01", "公共卫生应急(密接排查)", by_tier["市局"], ["xingzhen01", "zhihui01"],
                expires_at=now + timedelta(days=14))  # fmt: skip
    add_duty_purposes(settings, {by_tier[tier]: users for tier, users in DUTY_USERS.items()})
    return logins
