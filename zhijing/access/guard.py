"""The access guard every route declares (DESIGN.md §2).

Stub until the access layer lands: a route touching person-level data depends on
``require(permission, person_data=True)``; the dependency refuses a request without a
stated purpose. The access layer replaces the internals (identity, policy, audit) and
keeps this interface.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Query


@dataclass(frozen=True)
class AccessContext:
    permission: str
    purpose: str | None


def require(permission: str, person_data: bool = True):
    """A FastAPI dependency declaring the permission (and purpose) a route needs."""

    def dependency(purpose: str | None = Query(default=None, description="案件/工单/指令编号")) -> AccessContext:
        if person_data and not purpose:
            raise HTTPException(status_code=403, detail="a purpose (case, ticket, order or emergency) is required")
        return AccessContext(permission=permission, purpose=purpose)

    dependency.__zhijing_permission__ = permission  # type: ignore[attr-defined]
    dependency.__zhijing_person_data__ = person_data  # type: ignore[attr-defined]
    return dependency
