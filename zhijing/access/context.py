"""What oversight rules need to know about purposes and people, from the platform's data."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from zhijing.access import models


def subjects_of(settings) -> Callable[[str], set[str]]:
    with models.engine(settings).connect() as conn:
        table = {r.ref: {s for s in (r.subjects or "").split(",") if s} for r in conn.execute(sa.select(models.purposes))}
    return lambda ref: table.get(ref, set())


def home_of(settings) -> Callable[[str], str | None]:
    with models.engine(settings).connect() as conn:
        table = {r.username: r.household_id for r in conn.execute(sa.select(models.users.c.username, models.users.c.household_id))}
    return table.get


def roles_of(settings) -> Callable[[str], set[str]]:
    with models.engine(settings).connect() as conn:
        table = {r.username: set((r.roles or "").split(",")) for r in conn.execute(sa.select(models.users.c.username, models.users.c.roles))}
    return lambda username: table.get(username, set())


def assigned_of(settings) -> Callable[[str], set[str]]:
    """Purpose -> the users assigned to it (others read it only by supervising its unit)."""
    table: dict[str, set[str]] = {}
    with models.engine(settings).connect() as conn:
        for r in conn.execute(sa.select(models.assignments)):
            table.setdefault(r.ref, set()).add(r.username)
    return lambda ref: table.get(ref, set())


def topic_of(settings) -> Callable[[str], str | None]:
    """Purpose -> what it is about (a case's matter, a ticket's service)."""
    with models.engine(settings).connect() as conn:
        table = {r.ref: r.topic for r in conn.execute(sa.select(models.purposes.c.ref, models.purposes.c.topic))}
    return table.get
