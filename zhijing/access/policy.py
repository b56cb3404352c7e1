"""The one policy engine (全警统一按需授权): Casbin over rich attributes, policies as data
(policy.conf + policy.csv, or rows in a deployment's own adapter). Views never decide."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import casbin

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Subject:
    username: str
    unit: str
    department: str
    clearance: int
    active: bool = True
    is_admin: bool = False
    is_auditor: bool = False
    is_external: bool = False
    is_approver: bool = False  # may give the second officer's approval (双人审批) of an export


@dataclass(frozen=True)
class Context:
    """Request attributes; ``in_jurisdiction`` and ``named`` describe one person record
    (``person:record``); ``assigned`` says the caller is assigned to the purpose (not only
    supervising it); ``granted`` that the caller's department holds a grant for the
    request's target (e.g. the dataset of a push)."""

    purpose_ok: bool = False
    purpose_kind: str = ""
    in_scope: bool = False
    in_jurisdiction: bool = False  # the person lies in the caller's unit's jurisdiction
    named: bool = False  # the purpose names the person
    assigned: bool = False
    granted: bool = False


@lru_cache(maxsize=1)
def enforcer() -> casbin.Enforcer:
    return casbin.Enforcer(str(HERE / "policy.conf"), str(HERE / "policy.csv"))


_deciding = threading.Lock()  # Casbin evaluates a rule with ast.parse, which CPython 3.11 breaks when two threads parse at once


@lru_cache(maxsize=65_536)
def allowed(sub: Subject, obj: str, act: str, ctx: Context) -> bool:
    """The decision for these attributes. Decisions depend only on the (frozen) attributes
    and the policy, so they are memoised; ``reload()`` clears them with the policy. One
    decision is computed at a time (a remembered one is read without waiting)."""
    with _deciding:
        return bool(enforcer().enforce(sub, obj, act, ctx))


def reload() -> None:
    """Re-read the policy (after an administrator changes it) and forget old decisions."""
    enforcer.cache_clear()
    allowed.cache_clear()
