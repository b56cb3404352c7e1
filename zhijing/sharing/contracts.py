"""Sharing contracts (共享协议) as data: which outside department may receive which fields of
which datasets, for what purpose and on what legal basis, through which services, how many
calls a day, until when — and who signed on each side.

A contract is requested (by the department or an officer), then approved by the approver
it names on each side: one of the department's approvers and one of the police's. Nobody
approves their own request. Once both sides approved, the contract becomes a purpose
``contract:<id>`` (DESIGN §2.2) assigned to the department's accounts: every call names it,
and the guard refuses it once it has expired or was revoked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from zhijing.access import models
from zhijing.access.seed import add_purpose, set_purpose_status
from zhijing.errors import AccessDenied, Conflict, NotFound, ZhijingError
from zhijing.localtime import instant
from zhijing.sharing.memo import memo

metadata = sa.MetaData()

SERVICES = {"verify": "核查", "query": "查询", "batch": "比对", "subscribe": "订阅"}
EVENTS = {"death": "死亡登记", "move_out": "户口迁出", "vehicle_transfer": "机动车转移登记"}


@dataclass(frozen=True)
class Field:
    title: str
    element: str  # the data element: masks and grades it (catalog.ELEMENT_GRADES)
    grade: str


# What a contract can open about a person: the serving store's person facts, by name.
FIELDS = {
    "name": Field("姓名", "name", "internal"),
    "citizen_id": Field("公民身份号码", "citizen_id", "sensitive"),
    "sex": Field("性别", "sex", "internal"),
    "birth_date": Field("出生日期", "birth_date", "sensitive"),
    "phone": Field("联系电话", "phone", "sensitive"),
    "district": Field("住址区县", "address", "public"),
    "household": Field("户号", "code", "internal"),
    "vehicles": Field("名下机动车", "plate", "internal"),
    "living": Field("生存状态", "category", "public"),
}

contracts = sa.Table(
    "sh_contracts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("department", sa.String(32), nullable=False),  # the receiving department (acc_users.department)
    sa.Column("unit_code", sa.String(32), nullable=False),  # its unit (holds the purpose)
    sa.Column("purpose", sa.Text, nullable=False),  # 用途
    sa.Column("legal_basis", sa.Text, nullable=False),  # 法律依据
    sa.Column("datasets", sa.Text, nullable=False),  # JSON list of catalog datasets
    sa.Column("fields", sa.Text, nullable=False),  # JSON list of FIELDS keys
    sa.Column("services", sa.Text, nullable=False),  # JSON list of SERVICES keys
    sa.Column("events", sa.Text, nullable=False),  # JSON list of EVENTS keys (subscription)
    sa.Column("daily_quota", sa.Integer, nullable=False),  # persons asked about per day, all services
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("endpoint", sa.Text),  # where subscribed changes are pushed (None: pulled from the feed)
    sa.Column("requested_by", sa.String(64), nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("dept_approver", sa.String(64), nullable=False),  # named approver of the department
    sa.Column("police_approver", sa.String(64), nullable=False),  # named approver of the police
    sa.Column("dept_approved_at", sa.DateTime(timezone=True)),
    sa.Column("police_approved_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(16), nullable=False),  # pending | active | rejected | revoked
    sa.Column("reason", sa.Text),  # why rejected or revoked
    sa.Column("throttled_until", sa.DateTime(timezone=True)),  # enumeration seen: refused until then
)  # fmt: skip

JSON_COLUMNS = ("datasets", "fields", "services", "events")


def engine(settings) -> sa.Engine:
    return models.engine_with(settings, metadata)


def purpose_of(contract_id: int) -> str:
    return f"contract:{contract_id}"


@dataclass(frozen=True)
class Contract:
    id: int
    title: str
    department: str
    unit_code: str
    purpose: str
    legal_basis: str
    datasets: tuple[str, ...]
    fields: tuple[str, ...]
    services: tuple[str, ...]
    events: tuple[str, ...]
    daily_quota: int
    expires_at: datetime
    endpoint: str | None
    requested_by: str
    requested_at: datetime
    dept_approver: str
    police_approver: str
    dept_approved_at: datetime | None
    police_approved_at: datetime | None
    status: str
    reason: str | None
    throttled_until: datetime | None

    @property
    def ref(self) -> str:
        return purpose_of(self.id)

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or datetime.now(UTC))

    def state(self, now: datetime | None = None) -> str:
        """pending | active | expired | rejected | revoked."""
        return "expired" if self.status == "active" and self.expired(now) else self.status

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return {**{k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}, "ref": self.ref, "state": self.state()}


def from_row(r) -> Contract:
    d = dict(r._mapping)
    for k in JSON_COLUMNS:
        d[k] = tuple(json.loads(d[k]))
    for k in ("expires_at", "requested_at", "dept_approved_at", "police_approved_at", "throttled_until"):
        d[k] = instant(d[k]) if d[k] is not None else None
    return Contract(**d)


def _user(conn, username: str):
    return conn.execute(sa.select(models.users).where(models.users.c.username == username)).first()


def _check_terms(settings, datasets: list[str], fields: list[str], services: list[str], events: list[str],
                 daily_quota: int, expires_at: datetime) -> None:  # fmt: skip
    from zhijing.sources.spec import load_spec

    known = {d.name for d in load_spec(settings).datasets}
    bad = ([f"dataset {d}" for d in datasets if d not in known] + [f"field {f}" for f in fields if f not in FIELDS]
           + [f"service {s}" for s in services if s not in SERVICES] + [f"event {e}" for e in events if e not in EVENTS])  # fmt: skip
    if bad:
        raise ZhijingError("unknown " + ", ".join(bad[:5]))
    if not datasets or not services:
        raise ZhijingError("a contract names at least one dataset and one service")
    if ("query" in services or "batch" in services) and not fields:
        raise ZhijingError("query and batch comparison need the fields the contract opens")
    if "subscribe" in services and not events:
        raise ZhijingError("a subscription names the events it delivers")
    if not 1 <= daily_quota <= 10_000_000:
        raise ZhijingError("daily quota must be 1 .. 10,000,000")
    if expires_at.tzinfo is None:
        raise ZhijingError("expiry must name its zone")
    if expires_at <= datetime.now(UTC):
        raise ZhijingError("expiry must lie in the future")


def request(settings, requested_by: str, *, title: str, department: str, purpose: str, legal_basis: str,
            datasets: list[str], fields: list[str], services: list[str], events: list[str] | None = None,
            daily_quota: int, expires_at: datetime, dept_approver: str, police_approver: str,
            endpoint: str | None = None) -> Contract:  # fmt: skip
    """A new contract, pending both approvals. An outside account may request only for its own department."""
    events = list(events or [])
    _check_terms(settings, datasets, fields, services, events, daily_quota, expires_at)
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise ZhijingError("endpoint must be an http(s) URL")
    with engine(settings).begin() as conn:
        me, dept, police = _user(conn, requested_by), _user(conn, dept_approver), _user(conn, police_approver)
        if me is None:
            raise AccessDenied("unknown requester")
        if me.kind == "external" and me.department != department:
            raise AccessDenied("a department requests contracts for itself only")
        units = {r.unit_code for r in conn.execute(sa.select(models.users.c.unit_code).where(
            models.users.c.department == department, models.users.c.kind == "external"))}  # fmt: skip
        if len(units) != 1:
            raise ZhijingError("the department must be one outside department with accounts")
        if dept is None or dept.department != department or "approver" not in dept.roles.split(","):
            raise ZhijingError("the department's approver must be an approver of that department")
        if police is None or police.kind == "external" or "approver" not in police.roles.split(","):
            raise ZhijingError("the police approver must be a police officer with the approver role")
        if requested_by in (dept_approver, police_approver):
            raise ZhijingError("the requester cannot be one of the approvers")
        new = conn.execute(sa.insert(contracts).values(
            title=title, department=department, unit_code=units.pop(), purpose=purpose, legal_basis=legal_basis,
            datasets=json.dumps(datasets), fields=json.dumps(fields), services=json.dumps(services), events=json.dumps(events),
            daily_quota=daily_quota, expires_at=expires_at, endpoint=endpoint, requested_by=requested_by,
            requested_at=datetime.now(UTC), dept_approver=dept_approver, police_approver=police_approver,
            status="pending")).inserted_primary_key[0]  # fmt: skip
    return get(settings, new)


def get(settings, contract_id: int) -> Contract:
    memo(settings).forget(("contract", contract_id))
    return _read(settings, contract_id)


def current(settings, contract_id: int) -> Contract:
    """``get`` as remembered for up to a second (the services' path: one read a second, not one a call)."""
    return memo(settings).get(("contract", contract_id), lambda: _read(settings, contract_id))


def _read(settings, contract_id: int) -> Contract:
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(contracts).where(contracts.c.id == contract_id)).first()
    if r is None:
        raise NotFound("no such contract")
    return from_row(r)


def listed(settings, department: str | None = None) -> list[Contract]:
    q = sa.select(contracts).order_by(contracts.c.id.desc())
    if department is not None:
        q = q.where(contracts.c.department == department)
    with engine(settings).connect() as conn:
        return [from_row(r) for r in conn.execute(q)]


def approve(settings, contract_id: int, approver: str) -> Contract:
    """The named approver of one side approves; the second approval activates the contract
    (its purpose opens for the department's accounts)."""
    c = get(settings, contract_id)
    if c.status != "pending":
        raise Conflict(f"the contract is {c.state()}, not pending")
    if approver == c.requested_by:
        raise AccessDenied("the requester cannot approve their own request")
    column = {c.dept_approver: "dept_approved_at", c.police_approver: "police_approved_at"}.get(approver)
    if column is None:
        raise AccessDenied("only the approvers the contract names may approve it")
    if getattr(c, column) is not None:
        raise Conflict("this side has approved already")
    with engine(settings).begin() as conn:
        conn.execute(sa.update(contracts).where(contracts.c.id == contract_id).values(**{column: datetime.now(UTC)}))
    c = get(settings, contract_id)
    if c.dept_approved_at and c.police_approved_at:
        with engine(settings).begin() as conn:
            conn.execute(sa.update(contracts).where(contracts.c.id == contract_id).values(status="active"))
            accounts = [r.username for r in conn.execute(sa.select(models.users.c.username).where(
                models.users.c.department == c.department, models.users.c.kind == "external"))]  # fmt: skip
        add_purpose(settings, c.ref, f"共享协议：{c.title}", c.unit_code, accounts, expires_at=c.expires_at, topic="sharing")
    return get(settings, contract_id)


def close(settings, contract_id: int, by: str, status: str, reason: str) -> Contract:
    """Reject a pending contract (an approver it names) or revoke an active one (any police approver)."""
    c = get(settings, contract_id)
    if status == "rejected" and (c.status != "pending" or by not in (c.dept_approver, c.police_approver)):
        raise AccessDenied("only a named approver rejects a pending contract")
    if status == "revoked" and c.status != "active":
        raise Conflict(f"the contract is {c.state()}, not active")
    with engine(settings).begin() as conn:
        conn.execute(sa.update(contracts).where(contracts.c.id == contract_id).values(status=status, reason=reason))
    if status == "revoked":
        set_purpose_status(settings, c.ref, "closed")
    return get(settings, contract_id)


def throttle(settings, contract_id: int, until: datetime) -> None:
    with engine(settings).begin() as conn:
        conn.execute(sa.update(contracts).where(contracts.c.id == contract_id).values(throttled_until=until))
    memo(settings).forget(("contract", contract_id))


def by_dataset(settings) -> dict[str, list[dict]]:
    """Dataset → the contracts (active or pending) that expose it: what the catalog lists beside it."""
    out: dict[str, list[dict]] = {}
    for c in listed(settings):
        if c.state() in ("active", "pending"):
            for d in c.datasets:
                out.setdefault(d, []).append({"id": c.id, "title": c.title, "department": c.department, "state": c.state(),
                                              "services": list(c.services), "fields": list(c.fields)})  # fmt: skip
    return out
