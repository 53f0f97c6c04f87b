"""Issue #15: one poison answer never stalls an account, a trickling provider never blinds it, a
huge body never takes the memory. Real HTTP against `tests/hostile.py`, real SQLite files (and a
real PostgreSQL server for the NUL a PostgreSQL column refuses)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.hostile import POISON, HostileProvider, hostile_settings
from tui.config_accounts import Account
from tui.errors import BadResponseError
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.polling.poller import Poller, PollUpdate
from tui.providers.budget import HealthState
from tui.providers.lookup import Providers
from tui.store import SQLiteStore

POLICY = PollPolicy(min_interval=5.0, max_interval=60.0)
GOOD = 30
PROMPTLY = 20.0  # seconds: 31 requests within a 50-request burst take well under one


@pytest.fixture
def fake():
    provider = HostileProvider(trickle_every=0.2).start()
    yield provider
    provider.stop()


def ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


async def poll_until(
    poller: Poller, providers: Providers, done: asyncio.Event, bound: float
) -> float:
    """Run the poller until `done` is set (or `bound` seconds pass); return the time it took."""
    started = time.monotonic()
    task = asyncio.ensure_future(poller.run())
    try:
        await asyncio.wait_for(done.wait(), timeout=bound)
    except TimeoutError:
        pass
    finally:
        poller.stop()
        await task
        await providers.aclose()
    return time.monotonic() - started


def poison_run(fake: HostileProvider, store, settings, provider: Provider, mode: str):
    """30 good messages and one poison one of `mode`, all due now, on one provider."""
    good = ids(GOOD)
    poison = str(uuid.uuid4())
    fake.modes[poison] = mode
    if mode == "wrong_id":
        fake.wrong_id_for = good[-1]  # the nastiest case: an answer about a message we track
    refs = [MessageRef(i, provider) for i in [poison, *good]]  # the poison first in line
    store.track(refs, now=time.time() - 10)
    answered: set[str] = set()
    everyone = asyncio.Event()

    def on_update(update: PollUpdate) -> None:
        answered.add(update.message_id)
        if answered >= set(good):
            everyone.set()

    providers = Providers(settings)
    poller = Poller(store, providers, POLICY, on_update=on_update, restart_backoff=5.0)
    return good, poison, answered, everyone, poller, providers


@pytest.mark.parametrize("provider", list(Provider))
@pytest.mark.parametrize("mode", POISON)
async def test_one_poison_answer_among_thirty_good_ones(fake, tmp_path, provider, mode) -> None:
    """Every good message is answered promptly, the loop never restarts, the poison message is
    recorded as failed with a backoff (never stored, never asked in a tight loop)."""
    settings = hostile_settings(fake, tmp_path)
    store = SQLiteStore(settings.history_path())
    good, poison, answered, everyone, poller, providers = poison_run(
        fake, store, settings, provider, mode
    )
    took = await poll_until(poller, providers, everyone, bound=PROMPTLY)
    assert answered >= set(good), f"{len(set(good) - answered)} good messages unanswered"
    assert took < PROMPTLY
    health = poller.loop_health[Account(provider)]
    assert health.restarts == 0 and health.last_error == "", health
    row = store.row(poison)
    if mode in ("overflow_time", "nul"):  # readable after all: stored like any answer
        assert row.status == "delivered" and row.poll_errors == 0
        stored = store.get(poison).message
        # text is kept whole but for NUL, which both backends store as U+FFFD
        assert stored.created_at is None if mode == "overflow_time" else "\ufffd" in stored.body
    else:
        assert row.status != "delivered" and row.last_polled is None
        assert row.poll_errors == 1 and row.next_poll > time.time() + 5  # backed off like a 5xx
        assert len(fake.requests_for(poison)) == 1  # asked once in this run, not in a loop
    store.close()


async def test_an_answer_about_another_message_stores_nothing_for_either(fake, tmp_path) -> None:
    settings = hostile_settings(fake, tmp_path)
    store = SQLiteStore(settings.history_path())
    asked, other = str(uuid.uuid4()), str(uuid.uuid4())
    fake.modes[asked], fake.wrong_id_for = "wrong_id", other
    store.track([MessageRef(asked, Provider.SENTDM)], now=time.time() - 10)
    failed = asyncio.Event()
    providers = Providers(settings)
    poller = Poller(store, providers, POLICY, on_error=lambda p, exc: failed.set())
    await poll_until(poller, providers, failed, bound=PROMPTLY)
    assert store.row(other) is None  # not filed under the ID nobody asked for
    row = store.row(asked)
    assert row.last_polled is None and row.poll_errors == 1 and "answer is about" in row.last_error
    assert row.next_poll >= time.time() + 5  # not due again at once
    assert len(fake.requests_for(asked)) == 1


async def test_a_nul_that_postgresql_cannot_hold_is_stored_as_a_replacement(
    fake, tmp_path, pg_server
):
    """PostgreSQL text cannot hold NUL: the store writes U+FFFD in its place, so that answer is
    stored like any other, every other answer too, and the loop never restarts."""
    from tui.store.postgres import PostgresStore

    settings = hostile_settings(fake, tmp_path)
    store = PostgresStore(pg_server.create_database())
    try:
        good, poison, answered, everyone, poller, providers = poison_run(
            fake, store, settings, Provider.SENDO, "nul"
        )
        await poll_until(poller, providers, everyone, bound=PROMPTLY)
        assert answered >= set(good)
        assert poller.loop_health[Account(Provider.SENDO)].restarts == 0
        row = store.row(poison)
        assert row.poll_errors == 0 and row.status == "delivered"
        assert "\ufffd" in store.get(poison).message.body
        assert all(store.row(g).status == "delivered" for g in good)
    finally:
        store.close()


async def test_a_trickling_answer_trips_the_deadline_and_shows_as_slow(fake, tmp_path) -> None:
    """One byte every 0.2 s never trips the read timeout; the request deadline does. The good
    messages behind it (the budget's probe goes first) are answered at once, and both the
    provider's health and its poll loop say `slow`, with the reason."""
    settings = hostile_settings(fake, tmp_path, request_deadline=1.5)
    store = SQLiteStore(settings.history_path())
    slow = str(uuid.uuid4())
    good = ids(10)
    fake.modes[slow] = "trickle"
    store.track([MessageRef(i, Provider.SENDO) for i in [slow, *good]], now=time.time() - 10)
    answered: set[str] = set()
    states: list[str] = []
    shown = asyncio.Event()
    providers = Providers(settings)

    def on_update(update: PollUpdate) -> None:
        answered.add(update.message_id)

    def on_state(owner, health) -> None:
        states.append(f"{owner.provider.value if owner else None}:{health.state}")
        if owner == Account(Provider.SENDO) and health.state == "slow":
            shown.set()

    poller = Poller(store, providers, POLICY, on_update=on_update, on_state=on_state)
    started = time.monotonic()
    task = asyncio.ensure_future(poller.run())
    try:
        await asyncio.wait_for(shown.wait(), timeout=30)
        health = providers.health(Provider.SENDO)
        loop = poller.loop_health[Account(Provider.SENDO)]
    finally:
        poller.stop()
        await task
        await providers.aclose()
    assert answered >= set(good)
    assert health.state is HealthState.SLOW and "deadline" in health.detail
    assert loop.state == "slow" and "timed out" in loop.reason and loop.restarts == 0
    assert store.row(slow).poll_errors == 1 and "deadline" in store.row(slow).last_error
    assert time.monotonic() - started < 30
    assert states.count("sendo:slow") == 1  # told once, not on every look


def peak_rss_since_reset() -> int:
    """Peak resident memory (bytes) since `reset_peak_rss()`."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> int:
    """Reset the kernel's peak-RSS mark for this process; return the resident memory now."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.parametrize("mode", ["huge", "huge_chunked"])
async def test_a_600_mb_answer_is_refused_with_memory_staying_low(fake, tmp_path, mode) -> None:
    settings = hostile_settings(fake, tmp_path)
    message = str(uuid.uuid4())
    fake.modes[message] = mode
    providers = Providers(settings)
    before = reset_peak_rss()
    try:
        with pytest.raises(BadResponseError, match="large|more than"):
            await providers.client(Provider.SENTDM).fetch(message, retries=0)
    finally:
        await providers.aclose()
    growth = peak_rss_since_reset() - before
    assert growth < 50 * 1024 * 1024, f"peak RSS grew by {growth / 1e6:.0f} MB"


async def test_a_trickling_first_request_does_not_hold_up_the_others(fake, tmp_path) -> None:
    """The budget's first request goes alone so its headers teach the limits; when its body
    trickles, the requests behind it go as soon as those headers are in, not at the deadline."""
    settings = hostile_settings(fake, tmp_path)  # the default 30 s request deadline
    store = SQLiteStore(settings.history_path())
    probe, good = str(uuid.uuid4()), ids(10)
    fake.modes[probe] = "trickle"
    # the probe first (the store inserts one call's IDs in ID order)
    store.track([MessageRef(probe, Provider.SENTDM)], now=time.time() - 10)
    store.track([MessageRef(i, Provider.SENTDM) for i in good], now=time.time() - 10)
    answered: set[str] = set()
    everyone = asyncio.Event()

    def on_update(update: PollUpdate) -> None:
        answered.add(update.message_id)
        if answered >= set(good):
            everyone.set()

    providers = Providers(settings)
    poller = Poller(store, providers, POLICY, on_update=on_update)
    took = await poll_until(poller, providers, everyone, bound=25.0)
    assert answered >= set(good) and took < 10.0, took
    assert fake.asked[0].message_id == probe  # it really was the first request


async def test_a_listed_answer_with_a_nul_is_stored_on_postgresql(
    fake, tmp_path, pg_server
) -> None:
    """A Sendo campaign listing with a NUL in one message: the pass completes and every message of
    the page is stored (the NUL as U+FFFD); it used to fail whole, every time."""
    from tui.polling.discovery import CampaignDiscovery
    from tui.store.postgres import PostgresStore

    good = ids(5)
    bad = str(uuid.uuid4())
    fake.modes.update({good[0]: "good", good[1]: "good", bad: "nul"})
    fake.modes.update({g: "good" for g in good[2:]})
    settings = hostile_settings(fake, tmp_path)
    store = PostgresStore(pg_server.create_database())
    providers = Providers(settings)
    try:
        discovery = CampaignDiscovery(
            providers.client(Provider.SENDO), store, POLICY, "SPRNG001", page_size=100
        )
        found = await discovery.run_once()
        assert found.seen == 6 and found.new == 6
        assert all(store.row(g).status == "delivered" for g in good)
        row = store.row(bad)
        assert row.poll_errors == 0 and "\ufffd" in store.get(bad).message.body
    finally:
        await providers.aclose()
        store.close()
