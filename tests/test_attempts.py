"""Delivery attempts in the history, on both backends: a resend re-queues the same ID (issue #16).

Answers come from the simulator over real HTTP; the store is a real SQLite file or PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tui.model import Event, EventSource, Message, Provider, Status
from tui.polling.policy import PollPolicy
from tui.providers import actions
from tui.providers.sentdm import SentDmClient
from tui.services.report import build_report
from tui.store import ListFilter
from tui.webhooks.apply import apply_push

POLICY = PollPolicy()
NOW = 1_800_000_000.0


@pytest.fixture
async def client(settings):
    c = SentDmClient(settings.sentdm, settings.network)
    yield c
    await c.aclose()


def blocked(world):
    return world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (0.4, "BLOCKED")],
        error=("BUSINESS_003", "Insufficient balance"),
        created=-10,
    )


def delivered(world):
    return world.add_message(
        Provider.SENTDM, [(0, "QUEUED"), (1, "SENT"), (2, "DELIVERED")], created=-10
    )


async def test_a_resend_we_made_starts_attempt_two_and_spend_counts_both(
    open_store, client, world
) -> None:
    store = open_store()
    m = delivered(world)
    store.record_fetch(await client.fetch(m.id), next_poll=None, fetched_at=NOW)
    first_price = store.get(m.id).message.price
    assert first_price and store.get(m.id).message.attempt == 1 and store.attempts(m.id) == []
    world.plan_resend(m.id, "FAILED")
    answer = await actions.resend(client, m.id)
    store.record_resend(answer, 1, next_poll=NOW + 1, fetched_at=NOW + 1)
    stored = store.get(m.id)
    assert stored.message.status is Status.QUEUED and stored.message.attempt == 2
    assert stored.next_poll == NOW + 1  # polling resumed
    assert [a.attempt for a in store.attempts(m.id)] == [1, 2]
    assert store.attempts(m.id)[0].status == "delivered"
    world.advance(30)
    store.record_fetch(await client.fetch(m.id), next_poll=None, fetched_at=NOW + 2)
    stored = store.get(m.id)
    assert stored.message.status is Status.FAILED and stored.message.attempt == 2
    words = [
        (e.attempt, e.provider_status.upper())
        for e in stored.message.events
        if e.source is EventSource.PROVIDER
    ]
    assert words[:3] == [(1, "QUEUED"), (1, "SENT"), (1, "DELIVERED")]
    assert (2, "QUEUED") in words and words[-1] == (2, "FAILED")
    rows = store.attempts(m.id)
    assert rows[1].status == "failed" and rows[1].price == stored.message.price
    assert store.spend(ListFilter()) == pytest.approx(first_price + stored.message.price)
    assert store.row(m.id).status == "failed"
    # the report counts both attempts' prices
    report = build_report(store, ListFilter(), NOW + 3)
    assert report["spend"]["total"] == pytest.approx(first_price + stored.message.price)


async def test_a_late_answer_about_the_old_attempt_changes_nothing(
    open_store, client, world
) -> None:
    store = open_store()
    m = delivered(world)
    old = await client.fetch(m.id)
    store.record_fetch(old, next_poll=None, fetched_at=NOW)
    world.plan_resend(m.id, "DELIVERED")
    store.record_resend(await actions.resend(client, m.id), 1, next_poll=NOW, fetched_at=NOW + 1)
    outcome = store.record_fetch(old, next_poll=None, fetched_at=NOW + 2)  # crossed on the wire
    assert outcome.current is Status.QUEUED
    assert store.get(m.id).message.status is Status.QUEUED


async def test_a_resend_made_elsewhere_is_seen_in_the_providers_events(
    open_store, client, world
) -> None:
    store = open_store()
    m = blocked(world)
    store.record_fetch(await client.fetch(m.id), next_poll=None, fetched_at=NOW)
    world.plan_resend(m.id, "DELIVERED")
    await actions.resend(client, m.id)  # another tool: the store is not told
    world.advance(1)
    outcome = store.record_fetch(await client.fetch(m.id), next_poll=NOW + 5, fetched_at=NOW + 1)
    assert outcome.previous is Status.FAILED and outcome.current is Status.QUEUED
    stored = store.get(m.id)
    assert stored.message.attempt == 2 and stored.next_poll == NOW + 5
    assert [a.attempt for a in store.attempts(m.id)] == [1, 2]


def _push(msg_id: str, word: str, status: Status, at) -> Message:
    return Message(
        msg_id,
        Provider.SENTDM,
        status,
        word,
        updated_at=at,
        events=(Event(status, word, at, "message." + word.lower(), EventSource.WEBHOOK),),
    )


async def test_a_webhook_re_queue_after_the_end_starts_an_attempt_an_older_one_does_not(
    open_store, client, world
) -> None:
    store = open_store()
    world.epoch = NOW - world.now()  # the provider's clock reads our NOW: the resend is recent
    m = delivered(world)
    msg = await client.fetch(m.id)
    store.record_fetch(msg, next_poll=None, fetched_at=NOW)
    end = max(e.timestamp for e in msg.events)
    late = apply_push(
        store, POLICY, _push(m.id, "QUEUED", Status.QUEUED, end - timedelta(seconds=1)), NOW
    )
    assert late.stale and store.get(m.id).message.status is Status.DELIVERED
    assert store.get(m.id).message.attempt == 1
    again = apply_push(
        store, POLICY, _push(m.id, "QUEUED", Status.QUEUED, end + timedelta(seconds=5)), NOW + 1
    )
    assert not again.stale and again.status is Status.QUEUED
    stored = store.get(m.id)
    assert stored.message.attempt == 2 and stored.next_poll is not None
    pushed = [e for e in stored.message.events if e.source is EventSource.WEBHOOK]
    assert [(e.attempt, e.timestamp) for e in pushed][-1] == (2, end + timedelta(seconds=5))
    # within the new attempt, a late SENT never moves it backwards from DELIVERED
    apply_push(
        store,
        POLICY,
        _push(m.id, "DELIVERED", Status.DELIVERED, end + timedelta(seconds=9)),
        NOW + 2,
    )
    apply_push(store, POLICY, _push(m.id, "SENT", Status.SENT, end + timedelta(seconds=7)), NOW + 3)
    assert store.get(m.id).message.status is Status.DELIVERED


async def test_sendo_never_starts_an_attempt(open_store) -> None:
    from tests.test_store import message

    store = open_store()
    base = message(1)
    sendo = Message(base.id, Provider.SENDO, Status.DELIVERED, "DELIVERED", events=base.events)
    store.record_fetch(sendo, next_poll=None, fetched_at=NOW)
    later = base.events[0].timestamp + timedelta(hours=1)
    push = Message(
        base.id,
        Provider.SENDO,
        Status.QUEUED,
        "QUEUED",
        events=(Event(Status.QUEUED, "QUEUED", later, "", EventSource.WEBHOOK),),
    )
    applied = apply_push(store, POLICY, push, NOW)
    assert applied.stale and store.get(base.id).message.attempt == 1


async def test_a_resent_message_created_long_ago_keeps_being_polled(
    open_store, client, world
) -> None:
    """A message sent a month ago and resent now: the policy ages it from its current attempt's
    start (the provider's re-queue), so it is polled until final, not given up as a month old."""
    import time

    from tui.polling.record import record_lookup

    store = open_store()
    world.epoch = time.time() - world.now()  # the provider's clock reads now
    m = world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "SENT"), (2, "DELIVERED")],
        created=world.now() - 30 * 86400,
    )
    now = time.time()
    assert record_lookup(store, POLICY, await client.fetch(m.id), now).next_poll is None
    world.plan_resend(m.id, "DELIVERED")
    store.record_resend(await actions.resend(client, m.id), 1, next_poll=now, fetched_at=now)
    again = record_lookup(store, POLICY, await client.fetch(m.id), now + 1)  # still QUEUED
    assert again.current is Status.QUEUED and again.next_poll is not None
    world.advance(60)
    final = record_lookup(store, POLICY, await client.fetch(m.id), now + 2)
    assert final.current is Status.DELIVERED and final.next_poll is None
