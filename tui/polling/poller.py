"""The poller: asks the store what is due, spends each account's budget on it, writes answers back.

One loop per configured account (plus one for IDs whose provider is not known yet), each with its
own credentials, budget and lease; a provider's first account also polls its messages of no
recorded account, asking the provider's accounts in turn (asking.py). Each loop is
a plain coroutine: the dashboard runs it in a Textual worker, benchmarks run it with asyncio. All
state lives in the store (`next_poll` per message), so a restart resumes where it stopped and a
final message is never asked again.

What to ask is decided when a request could start (`ScreenShare` in policy.py): the selected row,
then rows on screen within a bounded share of the budget, then messages never asked yet, then the
most overdue. One ask is one message's business: whatever goes wrong while fetching, decoding,
parsing or storing its answer is recorded as that message's failure (`record_failed_ask`: backed
off like a 5xx) and never stops, restarts or starves the polling of any other message. What fails
the loop itself (the store unreachable, a bug) restarts it after 1 s, 2 s, 4 s … (capped),
reported through `on_crash`. `loop_health` says how each loop does — running, restarting,
stalled, slow, stopped, with since when and why — for the status line and `sendwatch poll`'s log.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tui.config_accounts import Account
from tui.errors import SendwatchError, StoreError
from tui.model import Provider
from tui.polling.asking import Asking
from tui.polling.choosing import choose_due
from tui.polling.election import RETRY, Lease
from tui.polling.loops import Focus as Focus
from tui.polling.loops import LoopStats as LoopStats
from tui.polling.loops import Owner as Owner
from tui.polling.loops import PollUpdate as PollUpdate
from tui.polling.loops import describe as describe
from tui.polling.policy import LoopHealth, LoopVitals, PollPolicy, ScreenShare
from tui.providers.budget import HealthState
from tui.providers.lookup import Providers
from tui.store import Store

AUTH_PAUSE = 60.0  # a rejected key is retried this rarely, so a fixed key recovers by itself
IDLE_WAKE = 30.0  # longest sleep when nothing is due (wakes earlier on new work)
OBSERVE_EVERY = 1.0  # seconds between looks at each loop's condition (stalled, slow)


@dataclass
class Poller:
    store: Store
    providers: Providers
    policy: PollPolicy
    on_update: Callable[[PollUpdate], None] = lambda update: None
    on_error: Callable[[Provider | None, SendwatchError], None] = lambda provider, error: None
    #: an unexpected exception ended an account's loop; it is restarted after a backoff
    on_crash: Callable[[Owner, BaseException], None] = lambda owner, exc: None
    #: a loop's state changed (running / restarting / stalled / slow / stopped): once per change
    on_state: Callable[[Owner, LoopHealth], None] = lambda owner, health: None
    focus: Focus = field(default_factory=Focus)
    stats: dict[Owner, LoopStats] = field(default_factory=dict)
    loop_health: dict[Owner, LoopHealth] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    restart_backoff: float = 1.0
    restart_backoff_max: float = 60.0
    #: one lease per account when instances share a store (tui/polling/election.py `leases_for`);
    #: empty: this instance polls everything (tests, benchmarks, a single user)
    #: (keyed by `Owner`; a `Provider` key stands for that provider's first account)
    leases: dict[Any, Lease] = field(default_factory=dict)
    #: what the status line says of each lease: "polling here" / "polled by host:pid"
    lease_state: dict[Owner, str] = field(default_factory=dict)
    #: per provider, whether webhooks are covering its messages: "flowing" / "silent"
    push_state: dict[Provider, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._wakes: dict[Owner, asyncio.Event] = {}
        self._stop_event: asyncio.Event | None = None
        self._inflight: set[str] = set()
        self._finished: dict[str, int] = {}  # id -> sequence number of its last completed poll
        self._finish_seq = 0
        self._stopped = False
        self._shares: dict[Owner, ScreenShare] = {}
        self._task_errors: dict[Owner, BaseException] = {}
        self._push_checked: dict[Provider, float] = {}
        self._vitals: dict[Owner, LoopVitals] = {}
        self._told: dict[Owner, str] = {}  # the state `on_state` last heard of, per loop
        #: since when the store has failed every loop (None: it answers); `sendwatch poll` gives up
        self.store_down_since: float | None = None
        self._asking = Asking(
            self.store,
            self.providers,
            self.policy,
            clock=lambda: self.clock(),
            on_update=lambda update: self.on_update(update),
            on_error=lambda provider, error: self.on_error(provider, error),
            priority=lambda message_id: self.focus.priority(message_id),
        )

    # -- control from the UI --------------------------------------------------------------------
    def wake(self) -> None:
        for event in self._wakes.values():
            event.set()

    def stop(self) -> None:
        self._stopped = True
        if self._stop_event is not None:
            self._stop_event.set()
        self.wake()

    async def set_focus(self, selected: str | None, visible: Iterable[str]) -> None:
        """Record what is on screen; rows on screen that changed lately become due within `visible_interval`."""
        visible = frozenset(visible)
        self.focus = Focus(selected, visible)
        now = self.clock()
        await asyncio.to_thread(
            self.store.pull_forward,
            visible,
            self.policy.visible_interval,
            now,
            changed_since=now - self.policy.boost_fade,
        )
        if selected:
            await asyncio.to_thread(
                self.store.pull_forward, [selected], self.policy.selected_interval, now
            )
        self.wake()

    # -- supervision ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run every account's loop until `stop()`; never raises for provider trouble or a crash."""
        self._stop_event = asyncio.Event()
        if self._stopped:
            self._stop_event.set()
        owners: list[Owner] = [*self.providers.accounts, None]
        observer = asyncio.ensure_future(self._observe())
        try:
            await asyncio.gather(*(self._elected(owner) for owner in owners))
        finally:
            observer.cancel()
            await asyncio.gather(observer, return_exceptions=True)
            for lease in self.leases.values():
                await asyncio.to_thread(lease.release)

    async def _observe(self) -> None:
        """Every second: is a loop stalled or slow? `loop_health` follows."""
        while not self._stopped:
            for owner, health in list(self.loop_health.items()):
                vitals = self._vitals.get(owner)
                if vitals is not None:
                    health = self.loop_health[owner] = vitals.assess(health, self.clock())
                self._tell_state(owner, health)
            await self._pause(OBSERVE_EVERY)

    def _tell_state(self, owner: Owner, health: LoopHealth) -> None:
        """`on_state`, once per change of a loop's state."""
        if self._told.get(owner) == health.state:
            return
        self._told[owner] = health.state
        try:
            self.on_state(owner, health)
        except Exception:  # noqa: BLE001 - a failing logger must not stop the loops
            pass

    async def _elected(self, owner: Owner) -> None:
        """Poll this account only while this instance holds its lease; try again every few seconds."""
        lease = self._lease_of(owner)
        if lease is None:
            return await self._supervise(owner)
        while not self._stopped:
            if not await asyncio.to_thread(lease.try_acquire):
                self.lease_state[owner] = await asyncio.to_thread(lease.describe)
                await self._pause(RETRY)
                continue
            self.lease_state[owner] = "polling here"
            polling = asyncio.ensure_future(self._supervise(owner))
            while not polling.done():
                await asyncio.wait([polling], timeout=RETRY)
                if not polling.done() and not await asyncio.to_thread(lease.try_acquire):
                    polling.cancel()  # the lease is gone (e.g. the database session died): stop at once
                    await asyncio.gather(polling, return_exceptions=True)
            if self._stopped:
                break

    def _lease_of(self, owner: Owner) -> Lease | None:
        """The account's lease; a provider's first account also answers to leases keyed by its
        provider (as callers built them before accounts: `lease_for(settings, store, provider)`)."""
        lease = self.leases.get(owner)
        if lease is None and owner is not None and self._first(owner):
            lease = self.leases.get(owner.provider)
        return lease

    def _first(self, owner: Account) -> bool:
        """Is this its provider's first account (the one that also polls messages of no account)?"""
        client = self.providers.clients.get(owner.provider)
        return client is not None and client.account == owner

    async def _supervise(self, owner: Owner) -> None:
        """Restart a loop that raised, after 1 s, 2 s, 4 s … (reset once it ran a full cap cleanly)."""
        failures = 0
        self.loop_health[owner] = LoopHealth(since=self.clock())
        self._vitals[owner] = LoopVitals(started=self.clock())
        while not self._stopped:
            started = self.clock()
            try:
                await self._loop(owner)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever it was, the loop must come back
                now = self.clock()
                if isinstance(exc, StoreError) and self.store_down_since is None:
                    self.store_down_since = now
                if now - started >= self.restart_backoff_max:
                    failures = 0
                delay = min(self.restart_backoff_max, self.restart_backoff * 2**failures)
                failures += 1
                self._set_health(
                    owner, self.loop_health[owner].restarting(describe(exc), now, delay)
                )
                self._task_errors.pop(owner, None)  # other polls that failed in the same incident
                try:
                    self.on_crash(owner, exc)
                except Exception:  # noqa: BLE001 - a failing logger must not stop the restart
                    pass
                await self._pause(delay)
                self._set_health(owner, self.loop_health[owner].now("running", self.clock()))
        self._set_health(owner, self.loop_health[owner].now("stopped", self.clock()))

    def _set_health(self, owner: Owner, health: LoopHealth) -> None:
        self.loop_health[owner] = health
        self._tell_state(owner, health)

    async def _pause(self, seconds: float) -> None:
        """Sleep that only `stop()` cuts short (a UI wake must not skip a restart backoff)."""
        assert self._stop_event is not None
        try:
            await asyncio.wait_for(self._stop_event.wait(), timeout=seconds)
        except TimeoutError:
            pass

    # -- the loops ------------------------------------------------------------------------------
    async def _loop(self, owner: Owner) -> None:
        """Pick what to ask only when a request could start now, so the newest priorities win."""
        stats = self.stats.setdefault(owner, LoopStats())
        self._wakes.setdefault(owner, asyncio.Event())
        client = self.providers.accounts.get(owner) if owner else None
        concurrency = client.budget.concurrency if client else 2
        tasks: set[asyncio.Task[None]] = set()
        try:
            while not self._stopped:
                error = self._task_errors.pop(owner, None)
                if error is not None:
                    raise error
                if client is not None and client.budget.circuit_open:
                    await self._sleep(owner, client.budget.circuit_retry_in())
                    continue
                if client is not None and client.budget.health.state is HealthState.AUTH_REJECTED:
                    await self._sleep(owner, AUTH_PAUSE)
                    if self._stopped:
                        break
                free = concurrency - len(tasks)
                if free <= 0:
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED, timeout=1.0)
                    continue
                if owner is not None:
                    await self._check_push(owner.provider)
                if client is not None:
                    delay = client.budget.wait_time()
                    if delay > 0:
                        await self._sleep(owner, delay)
                        continue
                    free = min(free, max(1, int(client.budget.tokens)))
                batch = await self._choose(owner, free)
                self.store_down_since = None  # the store just answered
                self._vitals[owner].work(bool(batch or tasks), self.clock())
                if not batch:
                    next_due = await asyncio.to_thread(
                        functools.partial(
                            self.store.next_due,
                            owner.provider if owner else None,
                            unresolved=owner is None,
                            account=owner.name if owner else None,
                            unassigned=owner is not None and self._first(owner),
                        )
                    )
                    wait = (
                        IDLE_WAKE
                        if next_due is None
                        else max(0.05, min(IDLE_WAKE, next_due - self.clock()))
                    )
                    await self._sleep(owner, wait)
                    continue
                for message_id, screen in batch:
                    stats.screen += screen
                    self._inflight.add(message_id)
                    task = asyncio.ensure_future(
                        self._asking.poll_one(owner, message_id, stats, self._vitals[owner])
                    )
                    tasks.add(task)
                    task.add_done_callback(
                        functools.partial(self._done, owner, tasks, message_id=message_id)
                    )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _done(
        self,
        owner: Owner,
        tasks: set[asyncio.Task[None]],
        task: asyncio.Task[None],
        *,
        message_id: str,
    ) -> None:
        tasks.discard(task)
        self._inflight.discard(message_id)
        self._finish_seq += 1
        self._finished[message_id] = self._finish_seq
        if len(self._finished) > 10_000:
            self._finished.clear()  # only races within one query matter; the map never needs to grow
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self._task_errors.setdefault(owner, error)  # the loop raises it: supervised restart
            self._wake_one(owner)

    async def _choose(self, owner: Owner, count: int) -> list[tuple[str, bool]]:
        """Up to `count` due IDs, each with whether it is screen work (choosing.py).

        A poll that completes while the due queries run has already rescheduled its message
        (maybe to never), so its now-stale 'due' answer is ignored."""
        mark = self._finish_seq

        def free(message_id: str) -> bool:
            return message_id not in self._inflight and self._finished.get(message_id, 0) <= mark

        picker = self._shares.setdefault(owner, ScreenShare())
        return await choose_due(
            self.store,
            self.policy,
            self.focus,
            picker,
            owner,
            count,
            self.clock(),
            free,
            inflight=len(self._inflight),
            unassigned=owner is not None and self._first(owner),
        )

    async def _check_push(self, provider: Provider) -> None:
        """Every 30 s: have this provider's webhooks gone silent? Then polling takes over again."""
        now = self.clock()
        if now - self._push_checked.get(provider, -1e18) < 30.0:
            return
        self._push_checked[provider] = now
        covered_until = await asyncio.to_thread(self.store.last_push, provider)
        if covered_until is None:
            self.push_state.pop(provider, None)
            return
        last_event = covered_until - self.policy.webhook_recheck
        if now - last_event <= self.policy.webhook_silence:
            self.push_state[provider] = "flowing"
            return
        self.push_state[provider] = "silent"
        if await asyncio.to_thread(self.store.release_push, provider, now):
            for owner in list(self._wakes):
                if owner is not None and owner.provider is provider:
                    self._wake_one(owner)

    def _wake_one(self, owner: Owner) -> None:
        event = self._wakes.get(owner)
        if event is not None:
            event.set()

    async def _sleep(self, owner: Owner, seconds: float) -> None:
        """Wait up to `seconds`; a `wake()` since the last sleep (even while busy) ends it at once."""
        event = self._wakes.setdefault(owner, asyncio.Event())
        if self._stopped:
            return
        try:
            await asyncio.wait_for(event.wait(), timeout=seconds)
        except TimeoutError:
            pass
        event.clear()
