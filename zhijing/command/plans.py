"""应急预案: the contingency plan of a call's category and grade (plans.yaml, or the deployment's
own file ``home/dispatch/plans.yaml`` in the same shape)."""

from __future__ import annotations

from pathlib import Path

import yaml

PACKAGED = Path(__file__).with_name("plans.yaml")
GENERAL = "通用"


def load(settings=None) -> dict:
    """The plans: the deployment's file when it has one, else the packaged plans."""
    own = settings.home / "dispatch" / "plans.yaml" if settings is not None else None
    path = own if own is not None and own.exists() else PACKAGED
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def grade_of(priority: int | None) -> int:
    """Priority 1 (act now) is 一级 … 3 (routine) 三级; unknown is treated as 二级."""
    return priority if priority in (1, 2, 3) else 2


def plan_for(plans: dict, category: str | None, priority: int | None) -> dict:
    """The plan of ``category`` at the grade of ``priority``: id, title, grade, response, units,
    tier, notify, linkage, steps (a category without its own plan gets 通用's)."""
    grade = grade_of(priority)
    name = category if category in plans["categories"] else GENERAL
    cat = plans["categories"][name]
    level = {**plans["grades"][grade], **(cat.get("grades") or {}).get(grade, {})}
    return {
        "id": f"YA-{name}-{grade}", "category": name, "title": cat["title"], "grade": grade, "label": level["label"],
        "response": level["response"], "units": dict(level.get("units") or {}), "tier": level["tier"],
        "notify": list(level.get("notify") or []), "linkage": [str(x) for x in cat.get("linkage") or []],
        "steps": list(cat["steps"]),
    }  # fmt: skip


def plan(settings, plan_id: str | None) -> dict | None:
    """The plan an incident is linked to, in full, from its id (``YA-<category>-<grade>``)."""
    parts = (plan_id or "").split("-")
    if len(parts) != 3 or parts[0] != "YA" or not parts[2].isdigit():
        return None
    return plan_for(load(settings), parts[1], int(parts[2]))
