"""The serving boundary's last mask (DESIGN.md §2.4): whatever a route put in its answer —
ids, uids, group keys, highlights, evidence, report pages, file names — no citizen ID,
account or phone number leaves unmasked to a caller whose clearance does not reach them.

Routes mask the fields they know by grade; a record key in a uid, a group id or a pinned
evidence row has no grade of its own, and one forgotten field is a leak. So the guard notes
the caller's clearance in the request's state, and an answer to a caller below the
identifiers' grade is read whole and masked by ``masking.mask_identifiers``: JSON value by
value (keys too), text (HTML, CSV) as text, and the file name a download carries; a live
stream (server-sent events) chunk by chunk as it is sent, each chunk holding whole events.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zhijing.access.masking import IDENTIFIER_BYTES, IDENTIFIER_GRADE, mask_identifiers
from zhijing.access.models import CLEARANCE

STATE_KEY = "clearance"  # set by the guard on the request's state once the caller is known
MASKED_HEADERS = (b"content-disposition",)
STREAMED = b"text/event-stream"  # server-sent events: sent chunk by chunk, each chunk whole events


def note_clearance(request, clearance: int) -> None:
    """Tell the boundary whose answer this is (the guard calls it for every known caller)."""
    request.state.clearance = clearance


def masked_body(body: bytes, content_type: str, clearance: int) -> bytes:
    if not IDENTIFIER_BYTES.search(body):
        return body
    if "json" in content_type:
        data = mask_identifiers(json.loads(body), clearance)
        return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    if content_type.startswith("text/"):
        return mask_identifiers(body.decode("utf-8"), clearance).encode("utf-8")
    return body  # binary (a PDF report): only callers whose clearance reaches the identifiers get one


class IdentifierMask:
    """ASGI middleware: masks identifiers in every answer to a caller below their grade."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start: Message | None = None
        parts: list[bytes] = []
        streaming = False

        async def masked(message: Message) -> None:
            nonlocal start, streaming
            clearance = (scope.get("state") or {}).get(STATE_KEY)
            if clearance is None or clearance >= CLEARANCE[IDENTIFIER_GRADE]:  # known before the answer starts
                return await send(message)
            if message["type"] == "http.response.start":
                streaming = dict(message.get("headers", [])).get(b"content-type", b"").startswith(STREAMED)
                if streaming:  # a live stream never ends: each chunk is whole events, masked as it goes
                    return await send(message)
                start = message
                return
            if message["type"] != "http.response.body":
                return await send(message)
            if streaming:
                body = message.get("body", b"")
                if IDENTIFIER_BYTES.search(body):
                    body = mask_identifiers(body.decode("utf-8"), clearance).encode("utf-8")
                return await send({**message, "body": body})
            parts.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = dict(start["headers"])
            body = masked_body(b"".join(parts), headers.get(b"content-type", b"").decode("latin-1"), clearance)
            out = []
            for k, v in start["headers"]:
                if k.lower() == b"content-length":
                    v = str(len(body)).encode()
                elif k.lower() in MASKED_HEADERS:
                    v = mask_identifiers(v.decode("latin-1"), clearance).encode("latin-1")
                out.append((k, v))
            await send({**start, "headers": out})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, masked)
