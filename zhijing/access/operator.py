"""The data center's operator account (数据中心运维账号): who runs the platform's own jobs
from the shell — reconciliation read-backs for the departments that sent the data — in a
fresh deployment with no organisation loaded and no console login.

The account is an ordinary user, so every use goes through the same policy and audit as
any officer's: it has no password (it cannot log into the console or the API), belongs
to the data center's unit (no place-based jurisdiction) and holds clearance 2. An
administrator may deactivate it like any account; it is created only when absent, never
re-activated behind their back.

It states its purpose as free text. Free text is not a purpose, so it becomes one: a
reconciliation ticket of the data center for that one dataset, assigned to the operator,
expiring within the hour, its opening audited — the record an oversight officer reviews.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from zhijing.access import models, seed
from zhijing.access.audit import AuditEvent, append
from zhijing.access.purpose import KINDS

UNIT = "DATACENTER"
UNIT_NAME = "大数据中心"
USERNAME = "operator"
TICKET_MINUTES = 60


def ensure(settings) -> str:
    """The operator's username, creating the unit and the account when absent."""
    with models.engine(settings).begin() as conn:
        if conn.execute(sa.select(models.units.c.code).where(models.units.c.code == UNIT)).first() is None:
            conn.execute(sa.insert(models.units).values(code=UNIT, name=UNIT_NAME, tier="市局", parent_code=None))
        if conn.execute(sa.select(models.users.c.username).where(models.users.c.username == USERNAME)).first() is None:
            conn.execute(sa.insert(models.users).values(
                username=USERNAME, name="数据中心运维账号", unit_code=UNIT, department="数据中心", roles="operator",
                clearance=2, password_hash=None, kind="officer", household_id=None, active=True))  # fmt: skip
    return USERNAME


def is_reference(stated: str) -> bool:
    """``case:…``, ``ticket:…``, ``order:…``, ``emergency:…`` name a purpose; anything else is text."""
    kind, sep, _ = stated.partition(":")
    return bool(sep) and kind in KINDS


def reconciliation_ticket(settings, username: str, text: str, dataset: str) -> str:
    """Open (and audit) a reconciliation ticket for ``dataset`` stating ``text``; returns its ref.
    Only the operator account turns free text into a purpose."""
    if username != USERNAME:
        return text  # an officer names an existing purpose; the purpose check refuses text
    now = datetime.now(UTC)
    ref = f"ticket:DC-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    seed.add_purpose(settings, ref, f"数据对账 {dataset}: {text[:200]}", UNIT, [username],
                     expires_at=now + timedelta(minutes=TICKET_MINUTES))  # fmt: skip
    append(AuditEvent(actor=username, unit=UNIT, operation="alter", outcome="allowed", purpose=ref,
                      records=[f"dataset:{dataset}"], query=f"open reconciliation ticket: {text[:200]}", client="cli"),
           settings)  # fmt: skip
    return ref
