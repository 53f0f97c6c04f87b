"""The poller against the simulator: budget, 429s, final states, restart, circuit breaker, the
screen's share of the budget, first answers for everything, and supervised loops."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import replace

import pytest

from tui.config_accounts import Account
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.polling.poller import Poller, PollUpdate
from tui.providers.lookup import Providers
from tui.store import SQLiteStore

FAST = PollPolicy(
    min_interval=0.2,
    max_interval=0.5,
    selected_interval=0.1,
    visible_interval=0.2,
    delivered_recheck=0.3,
)


def live(world) -> None:
    world.epoch = time.time() - world.now()


async def run_until(
    settings, store, done, *, policy: PollPolicy = FAST, bound: float = 30.0, **options
) -> Poller:
    """Run a poller until `done(poller)` holds (checked every 20 ms, for up to `bound` seconds)."""
    providers = Providers(settings)
    poller = Poller(store, providers, policy, **options)
    task = asyncio.ensure_future(poller.run())
    try:
        deadline = time.monotonic() + bound
        while not done(poller):
            assert time.monotonic() < deadline, "the condition did not come true in time"
            assert not task.done(), task
            await asyncio.sleep(0.02)
    finally:
        poller.stop()
        await task
        await providers.aclose()
    return poller


def answered(store, messages) -> bool:
    return all((row := store.row(m.id)) is not None and row.last_polled for m in messages)


async def test_final_messages_are_asked_once(settings, world, sim) -> None:
    live(world)
    msgs = [
        world.add_message(
            Provider.SENTDM, [(0, "QUEUED"), (0.5, "FAILED")], error=("30003", "x"), created=-5
        )
        for _ in range(5)
    ]
    msgs += [
        world.add_message(Provider.SENDO, [(0, "CREATED"), (1, "READ")], created=-5)
        for _ in range(5)
    ]
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id, m.provider) for m in msgs])
    # final answers are never due again (next_poll NULL): once all are in, none can be re-asked
    await run_until(settings, store, lambda p: store.pending_count() == 0)
    assert store.status_counts() == {"failed": 5, "read": 5}
    asked = {
        m.id[:8]: [(r.status, round(r.at % 100, 3)) for r in sim.requests_for(m.id)] for m in msgs
    }
    assert all(len(v) == 1 for v in asked.values()), asked
    assert store.pending_count() == 0


async def test_pending_messages_settle_and_changes_are_observed(settings, world, sim) -> None:
    live(world)
    m = world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "PROCESSED"), (2, "SENT"), (3, "DELIVERED"), (4, "READ")],
        channel="whatsapp",
    )
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id, Provider.SENTDM)])
    for word in ("processed", "sent", "delivered", "read"):
        world.advance(1.0)
        await run_until(
            settings, store, lambda p, w=word: store.row(m.id).provider_status.lower() == w
        )
    stored = store.get(m.id)
    assert stored.message.status.value == "read" and stored.next_poll is None
    observed = [
        e.provider_status.upper() for e in stored.message.events if e.source.value == "observed"
    ]
    assert observed[-1] == "READ" and len(observed) >= 3


async def test_restart_resumes_and_never_refetches_final(settings, world, sim) -> None:
    live(world)
    done = world.add_message(
        Provider.SENTDM, [(0, "QUEUED"), (0.1, "FAILED")], error=("30003", "x"), created=-5
    )
    pending = world.add_message(Provider.SENTDM, [(0, "QUEUED"), (1, "SENT")], created=-5)
    path = settings.history_path()
    store = SQLiteStore(path)
    store.track([MessageRef(done.id, Provider.SENTDM), MessageRef(pending.id, Provider.SENTDM)])
    await run_until(settings, store, lambda p: answered(store, [done, pending]))
    store.close()
    asked_before = len(sim.requests_for(pending.id))
    reopened = SQLiteStore(path)  # a new process would start exactly like this
    await run_until(
        settings,
        reopened,
        lambda p: (
            len(sim.requests_for(pending.id)) > asked_before
            and reopened.row(pending.id).status == "sent"
        ),
    )
    assert reopened.row(done.id).next_poll is None  # final: never due, so never asked again
    assert len(sim.requests_for(done.id)) == 1
    assert len(sim.requests_for(pending.id)) > asked_before
    assert reopened.get(pending.id).message.status.value == "sent"


async def test_budget_is_used_and_only_the_first_429_teaches(settings, world, sim) -> None:
    """Configured far above the server's limit: the headers (or one 429) teach it; then no more 429s."""
    live(world)
    sim.set_rate_limit(Provider.SENTDM, per_minute=600, burst=5)  # 10 requests/second
    greedy = settings.with_provider(
        Provider.SENTDM, requests_per_minute=6000.0, burst=50, concurrency=8
    )
    msgs = [
        world.add_message(Provider.SENTDM, [(0, "QUEUED"), (3600, "SENT")], created=-1)
        for _ in range(60)
    ]
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id, Provider.SENTDM) for m in msgs])
    slow = replace(FAST, min_interval=60, max_interval=60)  # every message once: a backlog of 60
    started = time.monotonic()
    await run_until(greedy, store, lambda p: answered(store, msgs), policy=slow)
    elapsed = time.monotonic() - started
    assert sim.counts[(Provider.SENTDM, 429)] <= 1
    # 5 burst + 10/s, less the 3% margin: the 60 answers took at most 10% more than that allows
    assert elapsed <= (60 - 5) / (10 * 0.97) / 0.9 + 1.0, elapsed


async def test_a_failing_provider_is_left_alone(settings, world, sim) -> None:
    live(world)
    sim.set_fault(Provider.SENDO, "down")
    msgs = [world.add_message(Provider.SENDO, created=-1) for _ in range(30)]
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id, Provider.SENDO) for m in msgs])
    tight = replace(
        settings, network=replace(settings.network, breaker_threshold=3, breaker_cooldown=60.0)
    )
    await run_until(tight, store, lambda p: p.providers.clients[Provider.SENDO].budget.circuit_open)
    asked = sum(n for (p, _), n in sim.counts.items() if p is Provider.SENDO)
    # the threshold, plus what was already in flight when it opened (Sendo's concurrency)
    assert 3 <= asked <= 3 + tight.sendo.concurrency


async def test_ids_without_a_provider_are_resolved(settings, world, sim) -> None:
    live(world)
    m = world.add_message(Provider.SENDO, [(0, "CREATED"), (1, "SENT")], created=-5)
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id)])
    await run_until(settings, store, lambda p: store.provider_of(m.id) is Provider.SENDO)
    first = len(sim.requests_for(m.id))
    await run_until(settings, store, lambda p: len(sim.requests_for(m.id)) > first)
    later = sim.requests_for(m.id)[first:]
    assert later and all(r.provider is Provider.SENDO for r in later)  # only its owner is asked now


async def test_every_final_word_is_asked_once_and_delivered_follows_the_channel(
    settings, world, sim
) -> None:
    """Finality follows the providers: failed in all four words, cancelled, received, read; delivered
    is final for SMS (both providers) and rechecked only where a read can still follow."""
    live(world)
    once = [
        world.add_message(Provider.SENTDM, [(0, "QUEUED"), (0.1, word)], created=-5)
        for word in ("FAILED", "BLOCKED", "FILTERED", "CANCELLED", "RECEIVED", "DELIVERED", "READ")
    ]
    once += [
        world.add_message(Provider.SENDO, [(0, "CREATED"), (0.1, word)], created=-5)
        for word in ("FAILED", "EXPIRED", "DELIVERED", "READ")
    ]
    again = [
        world.add_message(
            Provider.SENTDM, [(0, "QUEUED"), (0.1, "DELIVERED")], channel="whatsapp", created=-5
        ),
        world.add_message(
            Provider.SENDO, [(0, "CREATED"), (0.1, "DELIVERED")], channel="mms", created=-5
        ),
    ]
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id, m.provider) for m in once + again])
    answers = {m.id: 0 for m in once + again}
    rechecked = asyncio.Event()

    def on_update(update: PollUpdate) -> None:
        answers[update.message_id] += 1
        if all(answers[m.id] >= 3 for m in again):  # delivered_recheck is 0.3 s here
            rechecked.set()

    providers = Providers(settings)
    poller = Poller(store, providers, FAST, on_update=on_update)
    task = asyncio.ensure_future(poller.run())
    try:
        await asyncio.wait_for(rechecked.wait(), timeout=5)
    finally:
        poller.stop()
        await task
        await providers.aclose()
    asked = {m.steps[-1][1] + "/" + m.provider.value: len(sim.requests_for(m.id)) for m in once}
    assert all(n == 1 for n in asked.values()), asked


async def test_every_message_gets_a_first_answer_while_the_screen_wants_more_than_the_budget(
    settings, world, sim
) -> None:
    """Issue 8: 20 pending rows on screen every 0.2 s ask for 100 req/s against a 30 req/s budget.
    Before, the screen always won and the 40 other messages were never asked; now the screen gets a
    bounded share, never-asked messages come first among the rest, and all 60 get an answer within
    about N / rate. (Sendo, whose 1 s window the budget follows exactly; the issue's trial starved
    Sendo messages.)"""
    live(world)
    rate = 30.0
    sim.set_sendo_window(int(rate), 1.0)
    limited = settings.with_provider(
        Provider.SENDO, requests_per_minute=rate * 60, burst=5, concurrency=4
    )
    msgs = [world.add_message(Provider.SENDO, [(0, "QUEUED")], created=-1) for _ in range(60)]
    visible = [m.id for m in msgs[:20]]
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id, Provider.SENDO) for m in msgs])
    first_answer: dict[str, float] = {}
    everyone = asyncio.Event()

    def on_update(update: PollUpdate) -> None:
        first_answer.setdefault(update.message_id, time.monotonic())
        if len(first_answer) == len(msgs):
            everyone.set()

    providers = Providers(limited)
    poller = Poller(store, providers, FAST, on_update=on_update)
    await poller.set_focus(visible[0], visible)
    started = time.monotonic()
    task = asyncio.ensure_future(poller.run())
    bound = len(msgs) / (
        rate * 0.97 * (1 - FAST.first_pass_screen_share)
    )  # the budget's learned rate
    try:
        await asyncio.wait_for(everyone.wait(), timeout=3 * bound + 2)
        steady = (
            poller.stats[Account(Provider.SENDO)].requests + 10
        )  # a little of the steady state too
        while poller.stats[Account(Provider.SENDO)].requests < steady:
            await asyncio.sleep(0.02)
    except TimeoutError:
        pass
    finally:
        poller.stop()
        await task
        await providers.aclose()
    never = [m.id[:8] for m in msgs if m.id not in first_answer]
    assert not never, f"{len(never)} messages never asked"
    slowest = max(first_answer.values()) - started
    assert slowest <= 1.5 * bound + 0.5, (slowest, bound)
    stats = poller.stats[Account(Provider.SENDO)]
    assert stats.screen >= 5  # the screen was still served
    assert stats.screen <= 0.5 * stats.requests + 2  # ... within its share
    assert sim.counts[(Provider.SENDO, 429)] <= 1


async def test_pull_forward_boosts_only_rows_that_changed_lately(settings) -> None:
    store = SQLiteStore(settings.history_path())
    old, new = (
        MessageRef("a" * 8 + "-0000-4000-8000-000000000001", Provider.SENTDM),
        MessageRef("b" * 8 + "-0000-4000-8000-000000000002", Provider.SENTDM),
    )
    store.track([old], now=1000.0)
    store.track([new], now=1100.0)
    with store._tx() as db:
        db.execute("UPDATE messages SET next_poll = 5000, last_polled = 1100")
    store.pull_forward([old.id, new.id], 4.0, 1110.0, changed_since=1110.0 - 60)
    assert store.row(old.id).next_poll == 5000  # unchanged for 110 s: its boost has faded
    assert store.row(new.id).next_poll == 1110.0


async def _crashing_run(settings, world, store, fail: str, times: int):
    """Run the poller with one store method raising `times` times; return what was reported."""
    original = getattr(store, fail)
    left = [times]

    def flaky(*args, **kwargs):
        if left[0] > 0 and (fail != "due" or kwargs.get("provider") is Provider.SENTDM):
            left[0] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return original(*args, **kwargs)

    setattr(store, fail, flaky)
    crashes: list[tuple[Provider | None, BaseException, float]] = []
    answered = asyncio.Event()
    providers = Providers(settings)
    poller = Poller(
        store,
        providers,
        FAST,
        restart_backoff=0.05,
        restart_backoff_max=1.0,
        on_update=lambda u: answered.set() if left[0] == 0 else None,
    )
    poller.on_crash = lambda provider, exc: crashes.append(
        (provider, exc, poller.loop_health[provider].retry_at - poller.clock())
    )
    task = asyncio.ensure_future(poller.run())
    try:
        await asyncio.wait_for(answered.wait(), timeout=5)
    finally:
        poller.stop()
        await task
        await providers.aclose()
    return poller, crashes


async def test_a_loop_that_raises_is_restarted_with_backoff_and_reported(
    settings, world, sim
) -> None:
    live(world)
    m = world.add_message(Provider.SENTDM, [(0, "QUEUED")], created=-1)
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id, Provider.SENTDM)])
    poller, crashes = await _crashing_run(settings, world, store, "due", times=3)
    assert [(p, type(e)) for p, e, _ in crashes] == [
        (Account(Provider.SENTDM), sqlite3.OperationalError)
    ] * 3
    waits = [w for _, _, w in crashes]
    assert waits == pytest.approx([0.05, 0.1, 0.2], abs=0.02)  # 1 s, 2 s, 4 s … scaled down
    health = poller.loop_health[Account(Provider.SENTDM)]
    assert health.restarts == 3 and "OperationalError: disk I/O error" in health.last_error
    assert (
        health.state == "stopped" and health.retry_at is None
    )  # after stop(); "running" while it ran
    assert poller.loop_health[Account(Provider.SENDO)].restarts == 0
    assert store.row(m.id).last_polled is not None  # it came back and did its work


async def test_an_answer_that_cannot_be_stored_is_that_messages_failure(
    settings, world, sim
) -> None:
    """Issue #15: storing one answer fails (here a disk error on that write): the message is
    recorded as failed with a backoff, the loop does not restart, other messages are stored."""
    live(world)
    m = world.add_message(Provider.SENDO, [(0, "QUEUED")], created=-1)
    others = [world.add_message(Provider.SENDO, [(0, "DELIVERED")], created=-1) for _ in range(5)]
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(x.id, Provider.SENDO) for x in [m, *others]])
    original = store.record_fetch

    def refuse_one(msg, **kw):
        if msg.id == m.id:
            raise sqlite3.OperationalError("disk I/O error")
        return original(msg, **kw)

    store.record_fetch = refuse_one
    poller = await run_until(
        settings,
        store,
        lambda p: answered(store, others) and store.row(m.id).poll_errors >= 1,
        policy=replace(FAST, min_interval=30, max_interval=60),
    )
    assert poller.loop_health[Account(Provider.SENDO)].restarts == 0
    row = store.row(m.id)
    assert row.poll_errors == 1 and "could not be stored" in row.last_error
    assert "OperationalError: disk I/O error" in row.last_error
    assert row.next_poll > time.time() + 30  # backed off like a 5xx, not asked again at once
