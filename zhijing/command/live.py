"""The live bus: one poller per app (on ``app.state``) reads ``cad_events`` after the last
sequence number it saw and hands each event to the subscribers (connected screens) whose
jurisdiction it lies in. The table is the bus, so every web worker process sees every
change, whichever process made it; a screen that reconnects names the last event it had
(``Last-Event-ID``) and is sent what it missed from the table first."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from zhijing.command import store
from zhijing.config import Settings
from zhijing.localtime import shown

POLL_S = 0.25  # how often the poller looks for new events (the screens' delivery goal is ≤ 1 s)
HEARTBEAT_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
QUEUE = 2000  # events a slow screen may fall behind by before it is dropped (it reconnects and resumes)
BACKLOG = 2000  # events a reconnecting screen is sent from the table at most
RETRY_MS = 3000
GAP_S = 2.0  # how long a missing sequence number is waited for (a commit still under way)


def visible(event: dict, prefix: str | None) -> bool:
    """An event lies in a jurisdiction when its incident's station or its unit (ids begin
    with the station code) does; None: the city, which sees all."""
    if prefix is None:
        return True
    return any((event.get(k) or "").startswith(prefix) for k in ("station", "unit"))


@dataclass(eq=False)
class Subscriber:
    prefix: str | None
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE))
    dropped: bool = False

    def offer(self, event: dict, text: str) -> None:
        if self.dropped or not visible(event, self.prefix):
            return
        try:
            self.queue.put_nowait((event["seq"], text))
        except asyncio.QueueFull:  # too slow: end its stream; it resumes from the table by Last-Event-ID
            self.dropped = True
            self.queue.get_nowait()
            self.queue.put_nowait(None)


class Bus:
    """One app's poller and its subscribers, on one event loop."""

    def __init__(self, settings: Settings, loop: asyncio.AbstractEventLoop):
        self.settings, self.loop = settings, loop
        self.subscribers: set[Subscriber] = set()
        self.task: asyncio.Task | None = None
        self.low: int | None = None  # every event up to here has been handed out (or given up on)
        self.above: set[int] = set()  # events above ``low`` already handed out
        self.gap_since: float | None = None  # when the gap just above ``low`` was first seen

    def subscribe(self, prefix: str | None) -> Subscriber:
        sub = Subscriber(prefix)
        self.subscribers.add(sub)
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._poll())
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def _poll(self) -> None:
        if self.low is None:
            self.low = await asyncio.to_thread(store.last_seq, self.settings)
        while self.subscribers:
            rows = await asyncio.to_thread(store.events_since, self.settings, self.low, None, 500)
            for event in rows:
                if event["seq"] not in self.above:
                    self.above.add(event["seq"])
                    text = frame(event)  # once per event, whatever the number of screens
                    for sub in list(self.subscribers):
                        sub.offer(event, text)
            self._advance(time.monotonic())
            if len(rows) < 500:
                await asyncio.sleep(POLL_S)

    def _advance(self, now: float) -> None:
        """Move ``low`` over the events handed out. A number missing below one handed out is
        a transaction still committing (PostgreSQL hands out sequence numbers before commit)
        or one rolled back: it is waited for ``GAP_S``, then given up on."""
        while self.above:
            if self.low + 1 in self.above:
                self.low += 1
                self.above.discard(self.low)
                self.gap_since = None
            elif self.gap_since is None:
                self.gap_since = now
                return
            elif now - self.gap_since >= GAP_S:
                self.low += 1
                self.gap_since = None
            else:
                return


def bus_for(app, settings: Settings) -> Bus:
    """The app's bus on the running event loop (a test client runs each request on a loop of its own)."""
    loop = asyncio.get_running_loop()
    bus = getattr(app.state, "command_bus", None)
    if bus is None or bus.loop is not loop or bus.settings.home != settings.home:
        bus = app.state.command_bus = Bus(settings, loop)
    return bus


def frame(event: dict) -> str:
    """One server-sent event: ``id`` the sequence number, ``event`` the kind, ``data`` the event as JSON."""
    data = {**event, "at": shown(event.get("at"))}
    return f"id: {event['seq']}\nevent: {event['kind']}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


async def stream(bus: Bus, prefix: str | None, after: int | None, alive: Callable[[], bool]) -> AsyncIterator[str]:
    """The text of one screen's stream: what it missed after ``after`` (from the table),
    then live events, a heartbeat comment when idle; it ends when ``alive()`` turns false
    (the session ended or the token expired: the screen reconnects with a fresh one)."""
    sub = bus.subscribe(prefix)
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        sent: set[int] = set()  # what the backlog sent (the live queue may hold it too)
        if after is not None:
            for event in await asyncio.to_thread(store.events_since, bus.settings, after, prefix, BACKLOG):
                yield frame(event)
                sent.add(event["seq"])
        while True:
            try:
                item = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
            except TimeoutError:
                if not await asyncio.to_thread(alive):
                    return
                yield ": ping\n\n"
                continue
            if item is None:  # dropped for falling behind
                return
            seq, text = item
            if seq not in sent and (after is None or seq > after):
                yield text
    finally:
        bus.unsubscribe(sub)
