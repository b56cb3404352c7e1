"""The FastAPI application: every served capability, each router behind the access layer.

Routers live beside the package that owns the capability (``zhijing.<pkg>.routes``) and
are listed here in data-flow order. A router module that does not exist yet is skipped.
"""

from __future__ import annotations

import importlib

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from zhijing import __version__
from zhijing.access.boundary import IdentifierMask
from zhijing.access.guard import audit_before_response
from zhijing.api import hardening
from zhijing.config import get_settings
from zhijing.errors import AccessDenied, Conflict, NotFound, NotReady, ZhijingError

ROUTER_MODULES = (
    "zhijing.governance.routes",  # catalog, quality, quarantine
    "zhijing.entities.routes",  # person file, masters, judgements, explain
    "zhijing.entities.export_routes",  # exports of person files and case reports, 双人审批
    "zhijing.derived.routes",  # aggregate GIS views
    "zhijing.cases.routes",  # case workspace (专案) and its report
    "zhijing.cases.procedure.routes",  # case procedure (办案程序): 受案 … 移送审查起诉, approvals, documents, 执法监督
    "zhijing.cases.property_routes",  # seized property (涉案财物): intake, custody chain, return / disposal approval
    "zhijing.derived.workbench.routes",  # search, trajectory, companions, collision, comparison
    "zhijing.derived.graph.routes",  # relationship graph (关系研判)
    "zhijing.derived.risk.routes",  # risk platform: warnings, models, hot cells, contact tracing
    "zhijing.command.routes",  # command and dispatch (一体化指挥): incidents, units, assignments, the live stream
    "zhijing.command.watch_routes",  # watchlists (智能布控): place, approve, revoke, hits, one-click intercept
    "zhijing.sharing.routes",  # sharing contracts (共享协议): request, approve on each side, usage
    "zhijing.sharing.service_routes",  # verification, query, batch comparison, subscription under a contract
    "zhijing.force.routes",  # force (警队建设): duty rosters, on duty, training
    "zhijing.api.workload",  # workload per officer and dispatch units on duty (reads force, cases and command)
    "zhijing.public.routes",  # public services for citizens (为民服务, /gov) and the stations' desk
    "zhijing.access.routes",  # login, tokens, audit, oversight
    "zhijing.console.routes",  # server-rendered console pages
    "zhijing.api.docs",  # API documentation, offline and behind login
)


# Answers any route may give besides its own (documented once, for every operation).
COMMON_RESPONSES = {
    400: {"description": "malformed request (e.g. an unsupported login grant)"},
    401: {"description": "login required or token invalid"},
    403: {"description": "refused by the access layer: purpose, policy or need to know (audited)"},
    404: {"description": "no such resource"},
    409: {"description": "conflict: another request changed it first (a unit already taken, an incident already closed)"},
    413: {"description": "request body too large"},
    422: {"description": "invalid parameters"},
    429: {"description": "too many requests"},
    503: {"description": "not ready yet (e.g. no serving store before the first resolve)"},
}


EXPECTED_STATUS = ((AccessDenied, 403), (NotReady, 503), (Conflict, 409), (NotFound, 404))  # any other ZhijingError: 422


def _expected_failure(request: Request, exc: Exception) -> JSONResponse:
    """An expected failure that reached the app: one line, no traceback, the right status."""
    status = next((s for cls, s in EXPECTED_STATUS if isinstance(exc, cls)), 422)
    return JSONResponse({"detail": str(exc)}, status_code=status)


def create_app() -> FastAPI:
    app = FastAPI(title="智警 zhijing", version=__version__, responses=COMMON_RESPONSES, docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    app.add_exception_handler(ZhijingError, _expected_failure)
    app.add_middleware(IdentifierMask)  # innermost: no identifier leaves above the caller's clearance
    hardening.install(app, get_settings())  # body cap, security headers, private files
    for name in ROUTER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(app)
    audit_before_response(all_routes(app))  # the audit event is durable before the response leaves
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
