"""Replay the lake's 110 calls as if they were ringing now: the model's ``incident`` events in
time order, their gaps compressed by ``speed`` (60: an hour a minute), published on ``cad.calls``;
a consumer triages each and hands it to a sink (core's ``store.create_incident``). The model's
``pass`` events (checkpoint plate reads) go out on ``cad.reads`` for the watchlists.

The broker is the in-process queue by default and NATS JetStream when ``settings.stream`` is
``nats`` (stream ``CAD`` over ``cad.>``, durable pull consumers). Each message carries its
event's id as the message id, so JetStream drops a re-published duplicate; the consumer keeps
the ids it has seen too (a duplicate outside JetStream's window, or from the in-process queue)
and orders each fetched batch by the call's own time (a publisher that sent out of order).
A message that is not a call (bad JSON) is still triaged, flagged ``bad_message``: never lost.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from zhijing.command.intake import Intake
from zhijing.model import read
from zhijing.sources.connectors.stream import MemoryBroker, NatsBroker

CALLS, READS = "cad.calls", "cad.reads"
STREAM, SUBJECTS = "CAD", ("cad.>",)


def _iso(ts) -> str | None:
    if ts is None:
        return None
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).isoformat()


def calls_from_model(settings, limit: int | None = None) -> list[dict]:
    """The model's incident events, oldest first, as calls: id (dataset:record), time,
    narrative, address, lon, lat, phone, the category the source gave (``reported``) and the
    handling unit (``unit``)."""
    src = read.source(settings, "incident")
    if not src:
        return []
    with duckdb.connect() as con:
        cur = con.execute(f"""SELECT dataset, record_id, ts, narrative, address, lon, lat, phone, category, unit
            FROM {src} ORDER BY ts NULLS LAST, dataset, record_id {f'LIMIT {int(limit)}' if limit else ''}""")  # fmt: skip
        rows = cur.fetchall()
    return [{"id": f"{d}:{r}", "dataset": d, "record": r, "time": _iso(ts), "narrative": n, "address": a, "lon": x,
             "lat": y, "phone": p, "reported": c, "unit": u} for d, r, ts, n, a, x, y, p, c, u in rows]  # fmt: skip


def reads_from_model(settings, limit: int | None = None) -> list[dict]:
    """The model's pass events (plate reads at a checkpoint), oldest first, each the model row as
    the lake holds it (type, dataset, record_id, ts as ISO with offset, place_*, lon, lat, vehicle,
    …) plus ``id`` (dataset:record_id) and ``time`` (= ts): what the watchlists match."""
    src = read.source(settings, "pass")
    if not src:
        return []
    with duckdb.connect() as con:
        cur = con.execute(f"SELECT * FROM {src} ORDER BY ts NULLS LAST, dataset, record_id {f'LIMIT {int(limit)}' if limit else ''}")
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
    out = []
    for values in rows:
        row = {c: (_iso(v) if isinstance(v, datetime) else v) for c, v in zip(cols, values, strict=True) if not c.startswith("_")}
        out.append({**row, "id": f"{row['dataset']}:{row['record_id']}", "time": row.get("ts")})
    return out


def offsets(times: list[str | None], speed: float, max_gap_s: float) -> list[float]:
    """Wall seconds after the start at which each event goes out: the gap to the previous one
    divided by ``speed``, never more than ``max_gap_s`` (a quiet night is not a quiet minute)."""
    out, at, prev = [], 0.0, None
    for t in times:
        now = datetime.fromisoformat(t) if t else prev
        if prev is not None and now is not None:
            at += min(max(0.0, (now - prev).total_seconds()) / max(speed, 1e-9), max_gap_s)
        prev = now or prev
        out.append(at)
    return out


async def publish(broker, subject: str, events: list[dict], speed: float = 60.0, max_gap_s: float = 5.0) -> int:
    """Send ``events`` on ``subject`` at their compressed times (message id = event id)."""
    start = time.monotonic()
    for event, at in zip(events, offsets([e.get("time") for e in events], speed, max_gap_s), strict=True):
        wait = start + at - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        await broker.publish(subject, json.dumps(event, ensure_ascii=False, default=str).encode(), msg_id=event.get("id"))
    return len(events)


@dataclass
class Tally:
    published: int = 0
    received: int = 0
    duplicates: int = 0
    triaged: int = 0
    flagged: int = 0
    stored: int = 0
    reads: int = 0
    failed: list[str] = field(default_factory=list)


def _call_of(data: bytes) -> dict:
    """The call a message carries; a message that is not one is kept as its text, flagged."""
    try:
        call = json.loads(data)
        if isinstance(call, dict):
            return call
    except (ValueError, UnicodeDecodeError):
        pass
    return {"narrative": data.decode("utf-8", errors="replace")[:4000], "bad_message": True}


async def ensure_consumer(broker, durable: str, subject: str = CALLS) -> None:
    """On JetStream, a durable consumer that does not exist yet starts at the messages published
    from now on: a new durable would otherwise read the stream's whole history (earlier runs'
    calls). An existing one resumes where it stopped. The in-process queue needs nothing."""
    js = getattr(broker, "js", None)
    if js is None:
        return
    from nats.js.api import ConsumerConfig, DeliverPolicy
    from nats.js.errors import NotFoundError

    try:
        await js.consumer_info(broker.stream, durable)
    except NotFoundError:
        await js.add_consumer(broker.stream, ConsumerConfig(durable_name=durable, deliver_policy=DeliverPolicy.NEW,
                                                            filter_subject=subject))  # fmt: skip


async def consume(broker, intake: Intake, sink: Callable[[dict], object], tally: Tally, done: asyncio.Event,
                  durable: str = "zhijing-cad-intake", batch: int = 100, timeout: float = 0.2) -> None:  # fmt: skip
    """Triage calls from ``cad.calls`` into ``sink`` until ``done`` is set and the subject is drained."""
    await ensure_consumer(broker, durable)
    seen: set[str] = set()
    while True:
        msgs = await broker.fetch(CALLS, durable, batch, timeout)
        if not msgs:
            if done.is_set():
                return
            await asyncio.sleep(0.05)
            continue
        pending = [(m, _call_of(m.data)) for m in msgs]
        pending.sort(key=lambda mc: str(mc[1].get("time") or ""))  # a publisher's disorder, within a batch
        for m, call in pending:
            tally.received += 1
            key = call.get("id")
            if key is not None and key in seen:
                tally.duplicates += 1
            else:
                if key is not None:
                    seen.add(key)
                _handle(intake, sink, call, tally)
            result = m.ack()
            if asyncio.iscoroutine(result):
                await result


def _handle(intake: Intake, sink: Callable[[dict], object], call: dict, tally: Tally) -> None:
    received = datetime.now(UTC).isoformat()  # the call rings now; its recorded time stays as occurred_at
    source = {k: call.get(k) for k in ("narrative", "address", "lon", "lat", "phone")}
    triaged = intake.triage(source | {"received_at": received})
    triaged.update(occurred_at=call.get("time"), source_id=call.get("id"), reported_category=call.get("reported"))
    if call.get("bad_message"):
        triaged["flag"] = ",".join(filter(None, ["bad_message", triaged.get("flag")]))
    tally.triaged += 1
    tally.flagged += bool(triaged.get("flag"))
    try:
        sink(triaged)
        tally.stored += 1
    except Exception as exc:  # noqa: BLE001 — one bad call must not stop the replay; counted, named
        tally.failed.append(f"{call.get('id')}: {type(exc).__name__}")


def store_sink(settings) -> Callable[[dict], object]:
    """Each triaged call becomes an incident in core's store (source ``replay``; merged there
    with an open incident about the same event)."""
    from zhijing.command import store

    return lambda triaged: store.create_incident(settings, triaged, "replay", "replay")


async def open_broker(settings, broker=None):
    """(broker, owned): the given one, NATS JetStream when configured, else an in-process queue."""
    if broker is not None:
        return broker, False
    if settings.stream == "nats":
        return await NatsBroker(settings.nats.url, STREAM, SUBJECTS).connect(), True
    return MemoryBroker(), True


async def replay_async(settings, sink: Callable[[dict], object], speed: float = 60.0, limit: int | None = None,
                       reads: bool = True, max_gap_s: float = 5.0, broker=None, intake: Intake | None = None,
                       calls: list[dict] | None = None, durable: str = "zhijing-cad-intake") -> Tally:  # fmt: skip
    """Publish the lake's calls (or ``calls``) and its plate reads, and triage the calls as they arrive."""
    intake = intake or Intake(settings)
    intake.triage({"narrative": ""})  # load the models before the clock starts
    events = calls_from_model(settings, limit) if calls is None else calls
    b, owned = await open_broker(settings, broker)
    tally, done = Tally(), asyncio.Event()
    try:
        await ensure_consumer(b, durable)  # before the first call goes out
        consumer = asyncio.create_task(consume(b, intake, sink, tally, done, durable))
        jobs = [publish(b, CALLS, events, speed, max_gap_s)]
        if reads:
            jobs.append(publish(b, READS, reads_from_model(settings, limit), speed, max_gap_s))
        sent = await asyncio.gather(*jobs)
        tally.published, tally.reads = sent[0], sum(sent[1:])
        done.set()
        await consumer
    finally:
        if owned:
            await b.close()
    return tally


def replay(settings, sink: Callable[[dict], object], **kw) -> Tally:
    """``replay_async`` from synchronous code (the command line)."""
    return asyncio.run(replay_async(settings, sink, **kw))


def on_lake(settings, trained, limit: int = 5000) -> dict | None:
    """How intake reads the lake's own incidents: share whose category each reader gives as the
    source did, and share located to the station of the handling unit (its first 8 digits)."""
    from zhijing.command import locate

    calls = calls_from_model(settings, limit)
    if not calls:
        return None
    texts = [c["narrative"] or "" for c in calls]
    out = {"calls": len(calls)}
    for reader in (trained.baseline, trained.model):
        cats, _, _ = reader.predict(texts)
        out[reader.name] = sum(a == c["reported"] for a, c in zip(cats, calls, strict=True)) / len(calls)
    gaz = locate.load(settings)
    with_unit = [c for c in calls if c.get("unit")]
    out["station"] = locate.hit_rate(gaz, with_unit, [str(c["unit"])[:8] for c in with_unit]) if with_unit else float("nan")
    return out
