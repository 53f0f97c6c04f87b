"""One writer for the receiver: pushes queue up while a batch is being written, then go together.

Every request used to take a thread of its own for its write (`asyncio.to_thread(apply_push)`),
so under a burst several threads contended for the GIL and for the store's one write lock, and the
event loop waited on both. Here a single task hands the store whatever has queued since the last
batch, in one thread hop, and each request is answered once its own write is done: a 2xx still
means stored. The batch is applied by an `ApplyBatch` function; today's, `apply_each`, applies the
pushes one by one with `apply_push`. A store that can write a whole batch in one transaction slots
in there without touching the receiver.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tui.model import Message
from tui.polling.policy import PollPolicy
from tui.store import Store
from tui.webhooks.apply import Applied, apply_push

#: Most pushes written per thread hop (a burst is written in a few hops, each answered promptly).
MAX_BATCH = 64


@dataclass(frozen=True)
class PushWrite:
    """One authentic, parsed push to store; `now` is when it was received (wall clock)."""

    message: Message
    now: float


#: Writes a batch in a worker thread: one outcome per write, in order; an exception is that
#: write's failure (`StoreUnavailable` becomes a 503 for its request), never the batch's.
ApplyBatch = Callable[[Sequence[PushWrite]], list["Applied | Exception"]]


def apply_each(store: Store, policy: PollPolicy) -> ApplyBatch:
    """Today's batch: `apply_push` for each write, in arrival order, each in its own transaction."""

    def apply(writes: Sequence[PushWrite]) -> list[Applied | Exception]:
        outcomes: list[Applied | Exception] = []
        for write in writes:
            try:
                outcomes.append(apply_push(store, policy, write.message, write.now))
            except Exception as exc:  # noqa: BLE001 - one write's failure is that request's answer
                outcomes.append(exc)
        return outcomes

    return apply


class PushWriter:
    """The single writer task. `await write(...)` returns that push's `Applied` or raises its error."""

    def __init__(self, apply_batch: ApplyBatch, max_batch: int = MAX_BATCH) -> None:
        self.apply_batch, self.max_batch = apply_batch, max_batch
        self._queue: deque[tuple[PushWrite, asyncio.Future[Applied]]] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches = 0  # batches written (with `writes`, the mean batch size)
        self.writes = 0

    async def write(self, push: PushWrite) -> Applied:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wake, self._closing = asyncio.Event(), False
            self._task = loop.create_task(self._run(), name="sendwatch-webhook-writer")
        future: asyncio.Future[Applied] = loop.create_future()
        self._queue.append((push, future))
        assert self._wake is not None
        self._wake.set()
        return await future

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = [
                    self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))
                ]
                await self._write(batch)
            if self._closing:
                return

    async def _write(self, batch: list[tuple[PushWrite, asyncio.Future[Applied]]]) -> None:
        writes = [push for push, _ in batch]
        try:
            outcomes = await asyncio.to_thread(self.apply_batch, writes)
            if len(outcomes) != len(writes):
                raise RuntimeError("the batch writer returned a wrong number of outcomes")
        except Exception as exc:  # noqa: BLE001 - the whole batch failed: each request is told
            outcomes = [exc] * len(writes)
        self.batches += 1
        self.writes += len(writes)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # its request went away; the write happened all the same
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def aclose(self, timeout: float = 10.0) -> None:
        """Finish what is queued (each waiting request gets its answer), then end the task; a
        store that hangs longer than `timeout` is abandoned (its requests get no answer)."""
        task, self._task = self._task, None
        if task is None or self._wake is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(task, timeout)
        except TimeoutError:
            pass  # wait_for cancelled the task; the thread finishes its batch on its own
