"""Sensor streams (checkpoint plate reads, door access): one consumer interface over two
brokers — an in-process queue (embedded default) and NATS JetStream (production).

The consumer lands each fetched batch as raw Parquet, publishes it to the raw zone, and
only then acknowledges it: a broker that goes away mid-stream costs at most the batch in
flight, and a rerun resumes from the durable consumer's position. Replaying a JSONL file
sets a message id per line, so JetStream drops re-published lines within its window;
anything that still arrives twice is an exact duplicate for governance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from zhijing.errors import ZhijingError
from zhijing.sources.connectors.base import Landed, cap_sql, quote_ident, sql_str
from zhijing.sources.connectors.files import json_error_sql, json_fields_sql


@dataclass
class Message:
    seq: int
    data: bytes
    ack: Callable[[], object]


class Broker(Protocol):
    async def publish(self, subject: str, payload: bytes, msg_id: str | None = None) -> None: ...
    async def fetch(self, subject: str, durable: str, batch: int, timeout: float) -> list[Message]: ...
    async def close(self) -> None: ...


class MemoryBroker:
    """In-process queue with durable consumer positions (acknowledged prefix per consumer)."""

    def __init__(self) -> None:
        self.log: dict[str, list[bytes]] = {}
        self.acked: dict[tuple[str, str], int] = {}
        self.seen_ids: set[str] = set()

    async def publish(self, subject: str, payload: bytes, msg_id: str | None = None) -> None:
        if msg_id is not None:
            if msg_id in self.seen_ids:
                return
            self.seen_ids.add(msg_id)
        self.log.setdefault(subject, []).append(payload)

    async def fetch(self, subject: str, durable: str, batch: int, timeout: float) -> list[Message]:
        start = self.acked.get((subject, durable), 0)
        items = self.log.get(subject, [])[start : start + batch]
        out = []
        for i, data in enumerate(items):
            seq = start + i + 1
            out.append(Message(seq, data, lambda s=seq: self._ack(subject, durable, s)))
        return out

    def _ack(self, subject: str, durable: str, seq: int) -> None:
        key = (subject, durable)
        self.acked[key] = max(self.acked.get(key, 0), seq)

    async def close(self) -> None:
        return None


class NatsBroker:
    """NATS JetStream: one stream (``Settings.nats.stream``) over ``sensors.>`` subjects,
    durable pull consumers."""

    def __init__(self, url: str, stream: str = "SENSORS", subjects: tuple[str, ...] = ("sensors.>",)) -> None:
        self.url, self.stream, self.subjects = url, stream, list(subjects)
        self.nc = None
        self.js = None
        self.subs: dict[tuple[str, str], object] = {}

    async def connect(self) -> NatsBroker:
        import nats

        try:
            self.nc = await nats.connect(self.url, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False)
        except Exception as exc:
            raise ZhijingError(f"stream broker unreachable at {self.url} ({type(exc).__name__})") from exc
        self.js = self.nc.jetstream()
        try:
            await self.js.stream_info(self.stream)
        except Exception:
            try:
                await self.js.add_stream(name=self.stream, subjects=self.subjects)
            except Exception:  # another stream already carries these subjects: use it
                self.stream = await self.js.find_stream_name_by_subject(self.subjects[0])
        return self

    async def publish(self, subject: str, payload: bytes, msg_id: str | None = None) -> None:
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        try:
            await self.js.publish(subject, payload, headers=headers)
        except Exception as exc:
            raise ZhijingError(f"stream broker went away while publishing to {subject} ({type(exc).__name__})") from exc

    async def fetch(self, subject: str, durable: str, batch: int, timeout: float) -> list[Message]:
        import nats.errors
        from nats.js.errors import FetchTimeoutError

        try:
            sub = self.subs.get((subject, durable))
            if sub is None:
                sub = await self.js.pull_subscribe(subject, durable=durable, stream=self.stream)
                self.subs[(subject, durable)] = sub
            msgs = await sub.fetch(batch, timeout=timeout)
        except (TimeoutError, FetchTimeoutError, nats.errors.TimeoutError):
            return []
        except Exception as exc:
            raise ZhijingError(f"stream broker went away while consuming {subject} ({type(exc).__name__})") from exc
        return [Message(m.metadata.sequence.stream, m.data, m.ack) for m in msgs]

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()


async def replay_jsonl(broker: Broker, path: Path, subject: str, sha256: str, cap: int, chunk: int = 2000) -> int:
    """Publish each line of ``path`` as one message (lines over ``cap`` bytes are cut to a
    prefix that governance will quarantine as unparsable)."""
    sent = 0
    pending = []
    with open(path, "rb") as fh:
        line_no = 0
        while True:
            line = fh.readline(cap + 1)
            if not line:
                break
            line_no += 1
            if len(line) > cap and not line.endswith(b"\n"):
                while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass
                line = line[:4096] + b"...[line too long]"
            payload = line.rstrip(b"\r\n")
            if not payload.strip():
                continue
            pending.append(broker.publish(subject, payload, msg_id=f"{sha256[:16]}:{line_no}"))
            if len(pending) >= chunk:
                await asyncio.gather(*pending)
                sent += len(pending)
                pending = []
    await asyncio.gather(*pending)
    return sent + len(pending)


def land_messages(msgs: list[Message], origin: str, dataset: str, fields: list[str], out: Path) -> Landed:
    """A fetched batch as raw rows: ``_source_line`` is the broker sequence number."""
    table = pa.table(
        {"line": pa.array([m.seq for m in msgs], pa.int64()),
         "text": pa.array([m.data.decode("utf-8", errors="replace") for m in msgs], pa.string())}
    )  # fmt: skip
    cols = ", ".join(quote_ident(f) for f in fields)
    with duckdb.connect() as con:
        con.register("_msgs", table)
        con.execute(
            f"COPY (SELECT {cols}, {sql_str(origin)} AS _source_file, line AS _source_line, "
            f"NULL::VARCHAR AS _source_hash, _err AS _error, CASE WHEN _err IS NOT NULL THEN {cap_sql('text')} END AS _raw "
            f"FROM (SELECT *, {json_fields_sql(fields)}, {json_error_sql(fields=fields)} AS _err FROM _msgs)) "
            f"TO {sql_str(str(out))} (FORMAT parquet)"
        )
        errors = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(out))}) WHERE _error IS NOT NULL").fetchone()[0]
    first, last = msgs[0].seq, msgs[-1].seq
    return Landed(dataset, f"{origin}#{first}-{last}", f"{origin}#{first}-{last}", [out], len(msgs), errors)


async def consume(
    broker: Broker,
    subject: str,
    durable: str,
    dataset: str,
    fields: list[str],
    work_dir: Path,
    on_batch: Callable[[Landed], None],
    batch: int = 50_000,
    timeout: float = 1.0,
) -> int:
    """Fetch until the subject is drained; ``on_batch`` must make each batch durable
    (publish it) before it is acknowledged."""
    total = 0
    while True:
        msgs = await broker.fetch(subject, durable, batch, timeout)
        if not msgs:
            return total
        out = work_dir / f"stream-{msgs[0].seq}-{msgs[-1].seq}.parquet"
        on_batch(land_messages(msgs, f"stream:{subject}", dataset, fields, out))
        for m in msgs:
            result = m.ack()
            if asyncio.iscoroutine(result):
                await result
        total += len(msgs)
