"""The API's own documentation, served offline and only to logged-in users.

FastAPI's ``/docs`` loads Swagger UI from a CDN (nothing shows on a police network) and is
public. Here the page is a shell like every console page, with Swagger UI vendored under
``/static/vendor/swagger-ui`` (``make setup``); the description it shows, ``/openapi.json``,
needs a login, and the page sends the console's token for it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from zhijing.access.guard import require

router = APIRouter()
VENDOR = "/static/vendor/swagger-ui"
PAGE = f"""<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>API 文档 · 智警</title>
  <link rel="stylesheet" href="{VENDOR}/swagger-ui.css">
  <script src="{VENDOR}/swagger-ui-bundle.js"></script>
  <script src="/static/session.js"></script>
  <script src="/static/docs.js" defer></script>
</head>
<body><div id="swagger-ui"></div></body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(_ctx=Depends(require("public:page", person_data=False))) -> HTMLResponse:
    """The shell (no data): it asks for ``/openapi.json`` with the user's token."""
    return HTMLResponse(PAGE)


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _ctx=Depends(require("catalog:read", person_data=False))) -> JSONResponse:
    return JSONResponse(request.app.openapi())


def register(app: FastAPI) -> None:
    app.include_router(router)
