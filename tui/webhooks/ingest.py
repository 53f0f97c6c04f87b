"""One writer for the receiver: pushes queue up while a batch is being written, then go together.

Every request used to take a thread of its own for its write (`asyncio.to_thread(apply_push)`),
so under a burst several threads contended for the GIL and for the store's one write lock, and the
event loop waited on both. Here a single task hands the store whatever has queued since the last
batch, in one thread hop, and each request is answered once its own write is done: a 2xx still
means stored. The batch is applied by an `ApplyBatch` function: `apply_together` (the default)
writes it in one store transaction (`apply_pushes`: one commit, one change notice), and falls back
to `apply_each` (one transaction per push) only when that fails, so one push the store refuses
costs the others nothing. Either way each push's dedup keys are claimed inside its write, so a
retry or a replay is known to every receiver on the history, across restarts (dedup.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tui.model import Message
from tui.polling.policy import PollPolicy
from tui.store import Store
from tui.webhooks.apply import Applied, Push, apply_push, apply_pushes

#: Most pushes written per thread hop (a burst is written in a few hops, each answered promptly).
MAX_BATCH = 64
#: Turns of the event loop a lane lets pass before taking its batch, so requests already read and
#: being verified join it: with 8 clients, batches grew from about 3 pushes to more, and the
#: receiver's CPU per event fell about 15 % on SQLite (bench_ingest); no clock, so no latency floor.
GATHER_TURNS = 4


@dataclass(frozen=True)
class PushWrite:
    """One authentic, parsed push to store; `now` is when it was received (wall clock).

    `event_key`/`content_key` are its dedup keys (`dedup.event_key`/`dedup.content_key`)."""

    message: Message
    now: float
    event_key: str | None = None
    content_key: str | None = None


_Item = tuple[PushWrite, "asyncio.Future[Applied]"]

#: Writes a batch in a worker thread: one outcome per write, in order; an exception is that
#: write's failure (`StoreUnavailable` becomes a 503 for its request), never the batch's.
ApplyBatch = Callable[[Sequence[PushWrite]], list["Applied | Exception"]]


def apply_each(store: Store, policy: PollPolicy) -> ApplyBatch:
    """`apply_push` for each write, in arrival order, each in its own transaction."""

    def apply(writes: Sequence[PushWrite]) -> list[Applied | Exception]:
        outcomes: list[Applied | Exception] = []
        for write in writes:
            try:
                outcomes.append(
                    apply_push(
                        store,
                        policy,
                        write.message,
                        write.now,
                        event_key=write.event_key,
                        content_key=write.content_key,
                    )
                )
            except Exception as exc:  # noqa: BLE001 - one write's failure is that request's answer
                outcomes.append(exc)
        return outcomes

    return apply


def apply_together(store: Store, policy: PollPolicy) -> ApplyBatch:
    """The whole batch in one transaction; if the store refuses it, each write on its own (nothing
    of the failed transaction was kept, so each is applied, or refused, exactly once)."""
    one_by_one = apply_each(store, policy)

    def apply(writes: Sequence[PushWrite]) -> list[Applied | Exception]:
        if len(writes) > 1:
            # One `now` for the batch: the latest arrival (claims expire from it; a few ms apart).
            now = max(w.now for w in writes)
            pushes = [Push(w.message, w.event_key, w.content_key) for w in writes]
            try:
                return list(apply_pushes(store, policy, pushes, now))
            except Exception:  # noqa: BLE001 - retried one by one below, each failure its own answer
                pass
        return one_by_one(writes)

    return apply


class PushWriter:
    """The writer task(s). `await write(push)` returns that push's `Applied` or raises its error.

    `lanes` batches may be written at once (each in its own thread); one suits SQLite, whose
    writes take one lock anyway. `gather_turns`: see `GATHER_TURNS`."""

    def __init__(
        self,
        apply_batch: ApplyBatch,
        max_batch: int = MAX_BATCH,
        lanes: int = 1,
        gather_turns: int = GATHER_TURNS,
    ) -> None:
        self.apply_batch, self.max_batch, self.lanes = apply_batch, max_batch, lanes
        self.gather_turns = gather_turns
        self._queue: asyncio.Queue[_Item | None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.batches = 0  # batches written (with `writes`, the mean batch size)
        self.writes = 0

    @property
    def queued(self) -> int:
        """Writes waiting for a batch (not those being written)."""
        return 0 if self._queue is None else self._queue.qsize()

    async def write(self, push: PushWrite) -> Applied:
        loop = asyncio.get_running_loop()
        queue = self._queue
        if queue is None:
            queue = self._queue = asyncio.Queue()
            self._tasks = [
                loop.create_task(self._lane(queue), name="sendwatch-webhook-writer")
                for _ in range(self.lanes)
            ]
        future: asyncio.Future[Applied] = loop.create_future()
        queue.put_nowait((push, future))
        return await future

    async def _lane(self, queue: asyncio.Queue[_Item | None]) -> None:
        while True:
            first = await queue.get()
            if first is None:
                return
            batch, last = [first], False
            await self._gather(queue)
            while len(batch) < self.max_batch and not queue.empty():
                item = queue.get_nowait()
                if item is None:  # closing: what came before is in this batch
                    last = True
                    break
                batch.append(item)
            await self._write(batch)
            if last:
                return

    async def _gather(self, queue: asyncio.Queue[_Item | None]) -> None:
        """Let the requests the loop already holds (read, being verified) reach the queue before
        a batch is taken: a few turns of the loop, no clock, so a lone push waits microseconds."""
        for _ in range(self.gather_turns):
            if queue.qsize() + 1 >= self.max_batch:
                return
            await asyncio.sleep(0)

    async def _write(self, batch: list[_Item]) -> None:
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
        """Finish what is queued (each waiting request gets its answer), then end the tasks; a
        store that hangs longer than `timeout` is abandoned (its requests get no answer)."""
        queue, tasks = self._queue, self._tasks
        self._queue, self._tasks = None, []
        if queue is None:
            return
        for _ in tasks:
            queue.put_nowait(None)
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()  # the thread finishes its batch on its own
