"""What the caller may do under the purpose they state (``GET /api/me/capabilities``), decided
by the same policy the guard enforces — so the console shows only the links and buttons that
would answer (a station officer under a service ticket sees no 轨迹 / 同行 link that would
then be refused), and hides nothing the policy allows. The guard still decides every request."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from zhijing.access import purpose as purposes
from zhijing.access.guard import AccessContext, permitted, require
from zhijing.config import get_settings

router = APIRouter(prefix="/api/me", tags=["access"])
# what a screen asks → the permission of the API behind it, and whether that API takes a purpose
CAPABILITIES = {
    "person.read": ("person:read", True), "person.search": ("person:search", True), "person.export": ("person:export", True),
    "person.approve": ("person:approve", True), "person.judge": ("person:judge", True), "search": ("search:read", True),
    "trajectory": ("trajectory:read", True), "companions": ("companions:read", True), "collision": ("collision:combine", True),
    "compare": ("compare:combine", True), "graph": ("graph:read", True), "case.read": ("case:read", True),
    "case.write": ("case:write", True), "case.export": ("case:export", True), "watch.place": ("watch:place", True),
    "dispatch.write": ("dispatch:write", True), "case.list": ("case:list", False), "audit": ("audit:read", False),
    "oversight": ("oversight:read", False), "risk": ("risk:read", False),
}  # fmt: skip


@router.get("/capabilities")
def capabilities(ctx: AccessContext = Depends(require("catalog:read", person_data=False))) -> dict[str, Any]:
    """Each capability's decision under the stated purpose (``X-Purpose`` or ``?purpose=``);
    without a usable purpose every person-data capability is false and ``reason`` says why."""
    check = purposes.check(get_settings(), ctx.user.username, ctx.user.unit, ctx.purpose)
    usable = check.ok and check.in_scope
    may = {name: (usable and permitted(ctx.user, perm, check)) if person else permitted(ctx.user, perm, None)
           for name, (perm, person) in CAPABILITIES.items()}  # fmt: skip
    return {"purpose": ctx.purpose, "kind": check.kind if usable else "", "usable": usable,
            "reason": None if usable else check.reason, "may": may}
