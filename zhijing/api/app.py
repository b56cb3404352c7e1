"""The FastAPI application: every served capability, each router behind the access layer.

Routers live beside the package that owns the capability (``zhijing.<pkg>.routes``) and
are listed here in data-flow order. A router module that does not exist yet is skipped.
"""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from zhijing import __version__

ROUTER_MODULES = (
    "zhijing.governance.routes",  # catalog, quality, quarantine
    "zhijing.entities.routes",  # person file, masters, judgements, explain
    "zhijing.derived.routes",  # aggregate GIS views
    "zhijing.derived.risk.routes",  # risk platform: warnings, models, hot cells, contact tracing
    "zhijing.access.routes",  # login, tokens, audit, oversight
    "zhijing.console.routes",  # server-rendered console pages
)


def create_app() -> FastAPI:
    app = FastAPI(title="智警 zhijing", version=__version__)
    for name in ROUTER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(app)
    return app


def all_routes(app: FastAPI) -> list:
    """Every route object of ``app``, descending into included routers (FastAPI keeps
    included routers as wrappers), so policy checks can enumerate them."""
    out, stack = [], list(app.routes)
    while stack:
        r = stack.pop(0)
        inner = getattr(r, "original_router", None)
        if inner is not None:
            stack[:0] = list(inner.routes)
        else:
            out.append(r)
    return out
