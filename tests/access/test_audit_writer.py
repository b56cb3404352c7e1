"""Group commit: many threads append at once, every event lands exactly once in one total
order, a caller returns only with its event written, and a failed write fails every caller."""

from __future__ import annotations

import asyncio
import threading

import pytest
import sqlalchemy as sa

from zhijing.access.audit.store import AuditEvent, AuditLog, append, append_async, log_for
from zhijing.config import Settings


def _ev(tag: str) -> AuditEvent:
    return AuditEvent(actor="u", operation="consult", outcome="allowed", purpose="case:A1", records=[tag])


def _hammer(log: AuditLog, threads: int, each: int, call) -> dict[str, int]:
    """``threads`` threads appending ``each`` events; the seq each caller was given, by record."""
    got: dict[str, int] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        start.wait()
        try:
            for i in range(each):
                tag = f"T{t}-{i}"
                got[tag] = call(_ev(tag))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert not errors, errors[:3]
    return got


def test_32_threads_every_event_exactly_once_in_one_verified_chain(tmp_path, monkeypatch):
    s = Settings(home=tmp_path)
    log = log_for(s)
    batches: list[int] = []
    write = log.append_many
    monkeypatch.setattr(log._writer, "_write_batch", lambda evs: batches.append(len(evs)) or write(evs))
    got = _hammer(log, 32, 40, lambda ev: append(ev, s))
    events = log.all_events()
    assert len(events) == len(got) == 32 * 40
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))  # a total order, no gaps
    assert {e["records"][0]: e["seq"] for e in events} == got  # each caller got its own event's seq
    assert sum(batches) == len(events) and len(batches) < len(events)  # events shared transactions
    log.seal()
    assert log.verify().ok


def test_a_failed_write_fails_every_caller_in_it_and_the_writer_goes_on(tmp_path, monkeypatch):
    log = AuditLog(f"sqlite:///{tmp_path}/audit.db", tmp_path)
    write = log.append_many
    broken = threading.Event()
    broken.set()

    def flaky(evs):
        if broken.is_set():
            raise sa.exc.OperationalError("insert", {}, Exception("disk I/O error"))
        return write(evs)

    monkeypatch.setattr(log._writer, "_write_batch", flaky)
    with pytest.raises(sa.exc.OperationalError):
        log.append(_ev("lost"))
    with pytest.raises(sa.exc.OperationalError):
        asyncio.run(log.append_async(_ev("lost-async")))
    broken.clear()
    assert log.append(_ev("kept")) == 1
    assert [e["records"] for e in log.all_events()] == [["kept"]]


def test_the_awaitable_append_from_many_coroutines(tmp_path):
    s = Settings(home=tmp_path)

    async def main() -> list[int]:
        return await asyncio.gather(*(append_async(_ev(f"A{i}"), s) for i in range(50)))

    seqs = asyncio.run(main())
    assert sorted(seqs) == list(range(1, 51))
    assert {e["records"][0]: e["seq"] for e in log_for(s).all_events()} == {f"A{i}": q for i, q in enumerate(seqs)}


def test_the_awaitable_append_leaves_the_event_loop_free_while_it_waits(tmp_path, monkeypatch):
    """The write is held until a coroutine on the same loop opens the gate: that can only
    happen if the append waiting for durability does not block the loop."""
    log = AuditLog(f"sqlite:///{tmp_path}/audit.db", tmp_path)
    gate, write, opened = threading.Event(), log.append_many, []

    def held(evs):
        opened.append(gate.wait(10))
        return write(evs)

    monkeypatch.setattr(log._writer, "_write_batch", held)

    async def main() -> int:
        task = asyncio.create_task(log.append_async(_ev("waits")))
        await asyncio.sleep(0)  # the task submits its event and waits
        gate.set()  # the loop is free: this runs while the event is not yet durable
        return await task

    assert asyncio.run(main()) == 1 and opened == [True]


def test_the_writer_thread_leaves_when_idle_and_comes_back(tmp_path):
    log = AuditLog(f"sqlite:///{tmp_path}/audit.db", tmp_path)
    log._writer._idle = 0.05
    assert log.append(_ev("a")) == 1
    thread = log._writer._thread
    if thread is not None:
        thread.join(5)
    assert log._writer._thread is None
    assert log.append(_ev("b")) == 2


@pytest.mark.postgres
def test_group_commit_on_postgresql(tmp_path, audit_pg):

    from zhijing.access.audit.trust import Trust

    url, eng = audit_pg
    try:
        log = AuditLog(url, tmp_path, trust=Trust.under(tmp_path))
        got = _hammer(log, 32, 20, log.append)
        events = log.all_events()
        assert [e["seq"] for e in events] == list(range(1, 32 * 20 + 1))
        assert {e["records"][0]: e["seq"] for e in events} == got
        log.seal()
        assert log.verify().ok
    finally:
        with eng.begin() as c:
            c.execute(sa.text("drop table if exists audit_events, audit_heads, audit_meta, audit_commit"))


def test_a_request_whose_audit_event_cannot_be_written_fails(api, monkeypatch):
    """Fail closed through the API: the guard's event is written before the response leaves,
    so a failed write is a 500 with no data, never a 200 whose use went unrecorded."""
    from fastapi.testclient import TestClient

    from zhijing.config import get_settings

    headers = api.headers("ducha01")
    client = TestClient(api.client.app, raise_server_exceptions=False)
    assert client.get("/api/audit/events", params={"limit": 1}, headers=headers).status_code == 200
    log = log_for(get_settings())

    def broken(evs):
        raise sa.exc.OperationalError("insert", {}, Exception("disk I/O error"))

    monkeypatch.setattr(log._writer, "_write_batch", broken)
    r = client.get("/api/audit/events", params={"limit": 1}, headers=headers)
    assert r.status_code == 500 and "events" not in r.text
