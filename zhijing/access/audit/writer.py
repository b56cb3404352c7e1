"""Group commit: one writer thread turns the appends of many concurrent requests into few
durable transactions.

A request hands its event to the writer and waits on a future; the writer takes every event
queued while the previous transaction was committing and writes them in one transaction, so
the cost of a durable commit (an fsync) is shared by all of them. A request is answered only
after its own event is durable; if the transaction fails, every request in it gets the error
(fail closed). Order in the chain is the order the writer took them: a total order, no gaps.

The thread starts on the first append and leaves after ``idle`` seconds without work, so
idle logs (tests, CLI runs) hold no thread; after a fork the child starts its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any


class GroupCommitWriter:
    def __init__(self, write_batch: Callable[[list[Any]], list[int]], max_batch: int = 2048, idle: float = 2.0,
                 linger: float = 0.001):  # fmt: skip
        self._write_batch, self._max, self._idle, self._linger = write_batch, max_batch, idle, linger
        self._last = 0  # the size of the last batch: above 1, callers are concurrent and worth waiting for
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, item: Any) -> Future:
        """Queue ``item``; the future resolves to its seq once it is durable (or to the write's error)."""
        fut: Future = Future()
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's thread and queue are not ours
                self._queue, self._thread, self._pid = queue.SimpleQueue(), None, os.getpid()
            self._queue.put((item, fut))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
        return fut

    def write(self, item: Any) -> int:
        """Append and block until durable."""
        return self.submit(item).result()

    async def write_async(self, item: Any) -> int:
        """Append and wait until durable without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(item))

    def _take(self) -> list[tuple[Any, Future]] | None:
        """The next batch: wait for one item, then everything queued behind it (up to max)."""
        try:
            first = self._queue.get(timeout=self._idle)
        except queue.Empty:
            with self._lock:  # submit() holds the lock while it queues: nothing can slip in between
                if self._queue.empty():
                    self._thread = None
                    return None
            first = self._queue.get()
        batch, until = [first], time.monotonic() + (self._linger if self._last > 1 else 0.0)
        while len(batch) < self._max:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                wait = until - time.monotonic()
                if wait <= 0:
                    break
                try:  # callers just answered are still coming back: a moment's wait joins them up
                    batch.append(self._queue.get(timeout=wait))
                except queue.Empty:
                    break
        self._last = len(batch)
        return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            try:  # a waiter that gave up (a cancelled request) still has its event written
                result: Any = self._write_batch([item for item, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - every waiter gets the failure: fail closed
                result = exc
            for i, (_, fut) in enumerate(batch):
                with contextlib.suppress(InvalidStateError):  # cancelled meanwhile
                    if isinstance(result, BaseException):
                        fut.set_exception(result)
                    else:
                        fut.set_result(result[i])
