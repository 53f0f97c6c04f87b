"""The poller: asks the store what is due, spends each provider's budget on it, writes answers back.

One loop per configured provider (plus one for IDs whose provider is not known yet). Each loop is
a plain coroutine: the dashboard runs it in a Textual worker, benchmarks run it with asyncio. All
state lives in the store (`next_poll` per message), so a restart resumes where it stopped and a
final message is never asked again. The selected message and the rows on screen are pulled forward.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tui.errors import (
    AuthError,
    CircuitOpenError,
    NotFoundError,
    RateLimitedError,
    SendwatchError,
)
from tui.ids import MessageRef
from tui.model import Message, Provider, Status
from tui.polling.policy import PollPolicy, Priority
from tui.providers.budget import HealthState
from tui.providers.lookup import Providers
from tui.polling.record import record_lookup
from tui.store.history import HistoryStore

AUTH_PAUSE = 60.0  # a rejected key is retried this rarely, so a fixed key recovers by itself
IDLE_WAKE = 30.0  # longest sleep when nothing is due (wakes earlier on new work)


@dataclass(frozen=True)
class PollUpdate:
    """Sent to the UI after an answer was stored."""

    message_id: str
    provider: Provider
    previous: Status | None
    current: Status
    changed: bool
    at: float


@dataclass
class LoopStats:
    requests: int = 0
    answers: int = 0
    errors: int = 0
    last_answer: float | None = None
    last_error: str = ""


@dataclass
class Focus:
    """What the user is looking at: polled more often than the rest."""

    selected: str | None = None
    visible: frozenset[str] = frozenset()

    def priority(self, message_id: str) -> Priority:
        if message_id == self.selected:
            return Priority.SELECTED
        return Priority.VISIBLE if message_id in self.visible else Priority.NORMAL


@dataclass
class Poller:
    store: HistoryStore
    providers: Providers
    policy: PollPolicy
    on_update: Callable[[PollUpdate], None] = lambda update: None
    on_error: Callable[[Provider | None, SendwatchError], None] = lambda provider, error: None
    focus: Focus = field(default_factory=Focus)
    stats: dict[Provider | None, LoopStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self._inflight: set[str] = set()
        self._finished: dict[str, int] = {}  # id -> sequence number of its last completed poll
        self._finish_seq = 0
        self._stopped = False

    # -- control from the UI --------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    async def set_focus(self, selected: str | None, visible: Iterable[str]) -> None:
        """Record what is on screen; rows on screen become due within `visible_interval`."""
        visible = frozenset(visible)
        self.focus = Focus(selected, visible)
        now = time.time()
        await asyncio.to_thread(self.store.pull_forward, visible, self.policy.visible_interval, now)
        if selected:
            await asyncio.to_thread(self.store.pull_forward, [selected], self.policy.selected_interval, now)
        self.wake()

    # -- the loops ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run every provider's loop until `stop()`; never raises for provider trouble."""
        loops = [self._loop(p) for p in self.providers.clients]
        loops.append(self._loop(None))
        await asyncio.gather(*loops)

    async def _loop(self, provider: Provider | None) -> None:
        """Pick what to ask only when a request could start now, so the newest priorities win."""
        stats = self.stats.setdefault(provider, LoopStats())
        client = self.providers.clients.get(provider) if provider else None
        concurrency = client.budget.concurrency if client else 2
        tasks: set[asyncio.Task[None]] = set()
        while not self._stopped:
            if client is not None and client.budget.circuit_open:
                await self._sleep(client.budget.circuit_retry_in())
                continue
            if client is not None and client.budget.health.state is HealthState.AUTH_REJECTED:
                await self._sleep(AUTH_PAUSE)
                if self._stopped:
                    break
            free = concurrency - len(tasks)
            if free <= 0:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED, timeout=1.0)
                continue
            if client is not None:
                delay = client.budget.wait_time()
                if delay > 0:
                    await self._sleep(delay)
                    continue
                free = min(free, max(1, int(client.budget.tokens)))
            batch = await self._choose(provider, free)
            if not batch:
                next_due = await asyncio.to_thread(self.store.next_due, provider, unresolved=provider is None)
                await self._sleep(IDLE_WAKE if next_due is None else max(0.05, min(IDLE_WAKE, next_due - time.time())))
                continue
            for message_id in batch:
                self._inflight.add(message_id)
                task = asyncio.ensure_future(self._poll_one(provider, message_id, stats))
                tasks.add(task)
                task.add_done_callback(lambda t, mid=message_id: (tasks.discard(t), self._done(mid)))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _done(self, message_id: str) -> None:
        self._inflight.discard(message_id)
        self._finish_seq += 1
        self._finished[message_id] = self._finish_seq
        if len(self._finished) > 10_000:
            self._finished.clear()  # only races within one query matter; the map never needs to grow

    async def _choose(self, provider: Provider | None, count: int) -> list[str]:
        """Up to `count` due IDs: the rows on screen first, then the most overdue.

        The due queries run in a thread; a poll that completes meanwhile has already rescheduled
        its message (maybe to never), so its now-stale 'due' answer is ignored."""
        now = time.time()
        mark = self._finish_seq
        batch: list[str] = []
        focused = [*([self.focus.selected] if self.focus.selected else []), *self.focus.visible]
        for among in ([focused] if focused else []) + [None]:
            if len(batch) >= count:
                break
            due = await asyncio.to_thread(self.store.due, now, len(self._inflight) + count * 2, provider,
                                          unresolved=provider is None, among=among)
            fresh = [d[0] for d in due if d[0] not in self._inflight and d[0] not in batch
                     and self._finished.get(d[0], 0) <= mark]
            batch += fresh[: count - len(batch)]
        return batch

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    async def _poll_one(self, provider: Provider | None, message_id: str, stats: LoopStats) -> None:
        stats.requests += 1
        now = time.time()
        try:
            if provider is None:
                msg = await self.providers.fetch(MessageRef(message_id), retries=0)
            else:
                msg = await self.providers.client(provider).fetch(message_id, retries=0)
        except CircuitOpenError:
            return  # the loop waits for the breaker; the message stays due
        except AuthError as exc:
            stats.errors += 1
            stats.last_error = str(exc)
            self.on_error(provider, exc)
            return  # not the message's fault: leave its schedule alone
        except SendwatchError as exc:
            stats.errors += 1
            stats.last_error = str(exc)
            errors = await asyncio.to_thread(self._failure, message_id, exc, now)
            if not isinstance(exc, (RateLimitedError, NotFoundError)) or errors == 1:
                self.on_error(provider, exc)
            return
        stats.answers += 1
        stats.last_answer = time.time()
        await self._store_answer(msg, provider is None)

    def _failure(self, message_id: str, exc: SendwatchError, now: float) -> int:
        row = self.store.row(message_id)
        errors = (row.poll_errors if row else 0) + 1
        next_poll = now + exc.retry_after if isinstance(exc, RateLimitedError) else self.policy.after_error(errors, now)
        self.store.record_failure(message_id, str(exc), next_poll=next_poll)
        return errors

    async def _store_answer(self, msg: Message, resolved_now: bool) -> None:
        at = time.time()
        outcome = await asyncio.to_thread(record_lookup, self.store, self.policy, msg, at, self.focus.priority(msg.id))
        self.on_update(PollUpdate(msg.id, msg.provider, outcome.previous, outcome.current, outcome.changed or resolved_now, at))
