"""Grants: which targets a department may act on under one permission — data, not ``if``s.

The first use is push scopes (DESIGN.md §2.3): ``(卫健委, ingest:push, vaccination)`` lets
the health commission's accounts push that one dataset and nothing else. A route names the
path parameter that holds its target (``require("ingest:push", target="dataset")``); the
guard looks the grant up and hands the policy one attribute, ``r.ctx.granted``.
"""

from __future__ import annotations

import sqlalchemy as sa

from zhijing.access import models

ANY = "*"  # a grant on every target of the permission

grants = sa.Table(
    "acc_grants", models.metadata,
    sa.Column("department", sa.String(32), primary_key=True),
    sa.Column("permission", sa.String(64), primary_key=True),
    sa.Column("target", sa.String(128), primary_key=True),
)  # fmt: skip


def engine(settings) -> sa.Engine:
    return models.engine_with(settings, grants)


def grant(settings, department: str, permission: str, target: str) -> None:
    with engine(settings).begin() as conn:
        revoke_in(conn, department, permission, target)
        conn.execute(sa.insert(grants).values(department=department, permission=permission, target=target))


def revoke(settings, department: str, permission: str, target: str) -> None:
    with engine(settings).begin() as conn:
        revoke_in(conn, department, permission, target)


def revoke_in(conn, department: str, permission: str, target: str) -> None:
    conn.execute(sa.delete(grants).where(grants.c.department == department, grants.c.permission == permission,
                                         grants.c.target == target))  # fmt: skip


def holds(settings, department: str, permission: str, target: str) -> bool:
    """Does ``department`` hold ``permission`` on ``target`` (or on every target)?"""
    if not target:
        return False
    with engine(settings).connect() as conn:
        row = conn.execute(sa.select(grants.c.target).where(
            grants.c.department == department, grants.c.permission == permission,
            grants.c.target.in_([target, ANY])).limit(1)).first()  # fmt: skip
    return row is not None


def listed(settings, permission: str | None = None) -> list[dict]:
    q = sa.select(grants).order_by(grants.c.department, grants.c.permission, grants.c.target)
    if permission:
        q = q.where(grants.c.permission == permission)
    with engine(settings).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
