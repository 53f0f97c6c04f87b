"""The Monitor (tui/services/monitor.py) without any screen: real simulator over HTTP, real SQLite
files, a second store instance standing in for another process. What a dashboard, `poll` and
`wait` build on: one sink of typed events, start/stop, leases released, health changes told."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from tests.test_app import quick
from tests.test_poller import live
from tui.config import Secret
from tui.errors import AuthError, InvalidIdError
from tui.ids import MessageRef
from tui.model import Provider, Status
from tui.providers.budget import HealthState
from tui.services.monitor import Monitor
from tui.services.monitor_events import (
    AnswerStored,
    HealthChanged,
    PollFailed,
    ReceiverUnavailable,
    StoreChanged,
)
from tui.store import ListFilter, SQLiteStore


class Sink:
    """Collects what the monitor reports, and from which thread."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self.threads: set[str] = set()

    def __call__(self, event: object) -> None:
        self.events.append(event)
        self.threads.add(threading.current_thread().name)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


async def until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def store(settings):
    opened = SQLiteStore(settings.history_path())
    yield opened
    opened.close()


async def test_polls_reports_answers_and_releases_its_leases(settings, world, store) -> None:
    live(world)
    m = world.add_message(Provider.SENDO, [(0, "created"), (0.5, "queued"), (1, "delivered")])
    store.track([MessageRef(m.id, Provider.SENDO)])
    sink = Sink()
    monitor = Monitor(quick(settings), store, on_event=sink)
    assert not monitor.ready and monitor.health(Provider.SENDO).state is HealthState.UNKNOWN
    await monitor.start(since=store.current_rev())
    polling = asyncio.ensure_future(monitor.poll())
    try:
        world.advance(2)
        await until(lambda: any(e.current is Status.DELIVERED for e in sink.of(AnswerStored)))
        assert monitor.provider_state(Provider.SENDO).lease == "polling here"
    finally:
        await monitor.stop()
    await asyncio.wait_for(polling, 10)
    # the account is free again: another instance on the same history polls it at once
    other = Monitor(quick(settings), store, on_event=Sink())
    await other.start()
    polling = asyncio.ensure_future(other.poll())
    try:
        await until(lambda: other.provider_state(Provider.SENDO).lease == "polling here")
    finally:
        await other.stop()
        await asyncio.wait_for(polling, 10)


async def test_another_instances_writes_arrive_from_the_watchers_thread(settings, store) -> None:
    sink = Sink()
    monitor = Monitor(settings, store, on_event=sink, polling=False)
    await monitor.start(since=store.current_rev())
    try:
        other = SQLiteStore(settings.history_path())  # a second process, as far as SQLite knows
        other.track([MessageRef("8ba7b830-9dad-11d1-80b4-00c04fd430c8", Provider.SENTDM)])
        other.close()
        await until(lambda: sink.of(StoreChanged))
        assert sink.of(StoreChanged)[0].changes.ids == ["8ba7b830-9dad-11d1-80b4-00c04fd430c8"]
        assert "sendwatch-changes" in sink.threads  # the sink is called off the loop: no blocking
    finally:
        await monitor.stop()


async def test_health_changes_and_what_needs_the_user(settings, world, sim, store) -> None:
    live(world)
    m = world.add_message(Provider.SENTDM, [(0, "queued"), (1, "sent")])
    store.track([MessageRef(m.id, Provider.SENTDM)])
    sim.set_fault(Provider.SENTDM, "down")
    sink = Sink()
    monitor = Monitor(quick(settings), store, on_event=sink)
    await monitor.start()
    polling = asyncio.ensure_future(monitor.poll())
    try:
        await until(lambda: (monitor.check(), sink.of(HealthChanged))[1])
        down = sink.of(HealthChanged)[-1]
        assert down.health.state is HealthState.OFFLINE and not down.recovered
        sim.set_fault(Provider.SENTDM, None)
        await until(lambda: (monitor.check(), any(e.recovered for e in sink.of(HealthChanged)))[1])
        assert all(not e.needs_user for e in sink.of(PollFailed) if e.provider is Provider.SENDO)
    finally:
        await monitor.stop()
        await asyncio.wait_for(polling, 10)
    # a rejected key is the user's business: always worth telling
    bad = quick(settings).with_provider(Provider.SENDO, api_key=Secret("wrong-sendo-key-0000"))
    n = world.add_message(Provider.SENDO, [(0, "created")])
    store.track([MessageRef(n.id, Provider.SENDO)])
    sink = Sink()
    monitor = Monitor(bad, store, on_event=sink)
    await monitor.start()
    polling = asyncio.ensure_future(monitor.poll())
    try:
        await until(lambda: any(isinstance(e.error, AuthError) for e in sink.of(PollFailed)))
        assert all(e.needs_user for e in sink.of(PollFailed) if isinstance(e.error, AuthError))
    finally:
        await monitor.stop()
        await asyncio.wait_for(polling, 10)


async def test_a_push_is_reported_like_an_answer_and_a_taken_port_is_said(settings, store):
    from tui.store import FetchOutcome
    from tui.webhooks import WebhookCredentials, WebhookReceiver
    from tui.webhooks.apply import Applied

    sink = Sink()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        credentials = WebhookCredentials.from_values(None, "sendo-token-1234")
        monitor = Monitor(settings, store, on_event=sink, polling=False)
        monitor.receiver = WebhookReceiver(store, credentials, port=port, on_applied=monitor.pushed)
        await monitor.start()
        try:
            assert "cannot listen on http://127.0.0.1:" in sink.of(ReceiverUnavailable)[0].reason
            outcome = FetchOutcome(True, Status.SENT, Status.DELIVERED)
            monitor.pushed(Applied("m-1", Provider.SENDO, False, False, Status.DELIVERED, outcome))
            pushed = sink.of(AnswerStored)[-1]
            assert pushed.pushed and pushed.previous is Status.SENT and pushed.newly_delivered
        finally:
            await monitor.stop()


async def test_campaign_listing_sends_and_lookups_go_through_it(settings, world, store) -> None:
    ids = {
        world.add_message(
            Provider.SENDO, [(0, "CREATED"), (1, "DELIVERED")], campaign="LAUNCH07", created=-5
        ).id
        for _ in range(3)
    }
    sink = Sink()
    monitor = Monitor(settings, store, on_event=sink, polling=False)
    with pytest.raises(Exception, match="not started"):
        await monitor.keep_listing("LAUNCH07", None)
    await monitor.start()
    try:
        tracked = await monitor.track_campaign("LAUNCH07")
        assert tracked.found.seen == 3 and tracked.name == "sendo:LAUNCH07"
        assert "3 messages found, tracked as 'sendo:LAUNCH07'" in tracked.summary()
        assert {r.id for r in store.page(ListFilter(campaign=tracked.name), 0, 10)} == ids
        with pytest.raises(InvalidIdError):
            await monitor.keep_listing("x;drop", None)
        found = await monitor.lookup_service().lookup(MessageRef(next(iter(ids))), timeout=10)
        assert found.message.status is Status.DELIVERED
    finally:
        await monitor.stop()
    await monitor.stop()  # twice is fine
