"""Request and response hardening for every route (OWASP ASVS V12, V14): request bodies
capped, security headers on every response, nothing of the API kept in a cache.

Both are plain ASGI middleware, so they also cover errors, static files and 404s.
"""

from __future__ import annotations

import json
import os

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The console loads only its own scripts (no inline script: each page names its entry in a
# data attribute); styles may be inline because ECharts and Swagger UI style their own DOM.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")  # fmt: skip
HEADERS = {
    b"content-security-policy": CSP.encode(),
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"cross-origin-opener-policy": b"same-origin",
}
NO_STORE = ("/api/", "/openapi.json")  # every API answer is one officer's view of data: never cached
# ... except the map's versioned layer files: static city geometry, no person in it, never
# changing under its address; their route says ``private`` (the officer's browser, no proxy)
CACHEABLE = ("/api/geo/v/",)


class BodyLimit:
    """Answer 413 to a request body over the limit: at once when its Content-Length says so;
    a body sent without one (chunked) is read up to the limit before the app sees it (the
    server holds a request to its declared length)."""

    def __init__(self, app: ASGIApp, max_bytes: int, push_bytes: int, batch_bytes: int | None = None):
        self.app, self.max_bytes, self.push_bytes = app, max_bytes, push_bytes
        self.batch_bytes = batch_bytes or max_bytes  # a sharing batch comparison's upload (up to 10^6 rows)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        limit = (self.push_bytes if path.startswith("/api/ingest/push/") else
                 self.batch_bytes if path == "/api/sharing/batch" else self.max_bytes)  # fmt: skip
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return await _reject(send, 400, "bad Content-Length")
            if int(length) > limit:
                return await _reject(send, 413, f"request body larger than {limit} bytes")
            return await self.app(scope, receive, send)
        if b"transfer-encoding" not in headers:
            return await self.app(scope, receive, send)
        parts, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > limit:
                return await _reject(send, 413, f"request body larger than {limit} bytes")
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(parts), "more_body": False}

        await self.app(scope, replay, send)


async def _reject(send: Send, status: int, detail: str) -> None:
    """An error answered before the app (``SecurityHeaders``, outermost, adds its headers)."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Security headers on every response; ``Cache-Control: no-store`` on the API's (a
    ``CACHEABLE`` route may set its own instead)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = dict(HEADERS)
        own = scope["path"].startswith(CACHEABLE)  # keeps a Cache-Control its route set
        if scope["path"].startswith(NO_STORE):
            extra[b"cache-control"] = b"no-store"
        if scope.get("scheme") == "https":
            extra[b"strict-transport-security"] = b"max-age=31536000"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                added = {k: v for k, v in extra.items() if not (own and k == b"cache-control" and any(h.lower() == k for h, _ in headers))}
                kept = [(k, v) for k, v in headers if k.lower() not in added]
                message["headers"] = kept + list(added.items())
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI, settings) -> None:
    """Private files from here on (umask), the body cap, the headers."""
    os.umask(settings.security.umask)
    sec = settings.security
    app.add_middleware(BodyLimit, max_bytes=sec.max_body_bytes, push_bytes=sec.max_push_body_bytes,
                       batch_bytes=settings.sharing.batch_max_bytes)  # fmt: skip
    app.add_middleware(SecurityHeaders)  # added last: outermost, so it also covers BodyLimit's answers
