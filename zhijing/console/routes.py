"""Console pages (一个门户): shells that hold no data.

Every page is HTML + JS that asks the JSON API for data with the user's token and the
purpose they chose; the API is where policy, masking and audit apply. So the pages are
declared public, and the only way to personal data is the guarded API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from zhijing.access.guard import require

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

PAGES = {
    "/": ("index.html", "总览"),
    "/login": ("login.html", "登录"),
    "/catalog": ("catalog.html", "资源目录"),
    "/persons": ("persons.html", "一人一档"),
    "/review": ("review.html", "核查"),
    "/audit": ("audit.html", "审计监督"),
    "/search": ("search.html", "云搜索"),
    "/trajectory": ("trajectory.html", "轨迹"),
    "/companions": ("companions.html", "同行分析"),
    "/collision": ("collision.html", "碰撞分析"),
    "/compare": ("compare.html", "比对"),
    "/graph": ("graph.html", "关系研判"),
    "/cases": ("cases.html", "专案"),
    "/exports": ("exports.html", "导出审批"),
    "/risk": ("risk.html", "风险预警"),
}
DEEP_LINKS = {  # a screen opened on one subject: the shell only, the script reads the id from the path
    "/persons/{key}": ("persons.html", "一人一档", r"^PM[0-9A-Z]{4,40}$"),
    "/cases/{key}": ("cases.html", "专案", r"^case:[A-Za-z0-9_-]{1,60}$"),
}


def _page(template: str, title: str):
    def page(request: Request, _ctx=Depends(require("public:page", person_data=False))) -> HTMLResponse:
        return templates.TemplateResponse(request, template, {"title": title})

    return page


def _deep_link(template: str, title: str, pattern: str):
    """A shell opened on one subject; a key that cannot be one is a 422, not an empty page."""

    def page(request: Request, key: str = PathParam(..., pattern=pattern),
             _ctx=Depends(require("public:page", person_data=False))) -> HTMLResponse:  # fmt: skip
        return templates.TemplateResponse(request, template, {"title": title})

    return page


def register(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for path, (template, title) in PAGES.items():
        app.add_api_route(path, _page(template, title), methods=["GET"], response_class=HTMLResponse,
                          include_in_schema=False, name=f"console:{template}")
    for path, (template, title, pattern) in DEEP_LINKS.items():
        app.add_api_route(path, _deep_link(template, title, pattern), methods=["GET"], response_class=HTMLResponse,
                          include_in_schema=False, name=f"console:{path}")
