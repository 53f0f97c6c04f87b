"""The set-based batch apply (`apply_pushes`) against pushes applied one at a time, in order.

The reference is the per-push apply (claim the push's keys, read the message, merge, write) run
push after push in one transaction; the batch must give every push the same outcome and leave the
history exactly as the reference leaves it: rows, report facts, webhook coverage, timelines,
attempts. Real SQLite files and a real PostgreSQL server, real parsed webhook bodies.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.test_webhooks import sendo_body
from tui.model import Event, EventSource, Message, Provider, Status
from tui.polling.policy import PollPolicy
from tui.store import SQLiteStore, Store
from tui.webhooks.apply import Applied, Push, StoreUnavailable, _apply, apply_pushes
from tui.webhooks.dedup import content_key, event_key
from tui.webhooks.events import parse_sendo, parse_sentdm
from tui.webhooks.ingest import GATHER_TURNS, PushWrite, PushWriter, apply_together

NOW = datetime(2026, 1, 15, 11, 0, tzinfo=UTC).timestamp()
POLICY = PollPolicy()
ROW = (
    "id, provider, status, provider_status, to_addr, body, channel, error_code, error_message, "
    "created_at, updated_at, snapshot, raw, first_seen, last_polled, last_changed, next_poll, "
    "poll_errors, last_error, price, segments, region_code, stage_since, delivered_at, "
    "push_until, attempt"
)


@pytest.fixture
def two_stores(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Two empty histories on the parametrized backend: the reference's and the batch's."""
    stores: list[Store] = []

    def make() -> Store:
        if backend == "postgresql":
            from tui.store import PostgresStore

            store: Store = PostgresStore(request.getfixturevalue("pg_server").create_database())
        else:
            store = SQLiteStore(tmp_path / f"h{len(stores)}.sqlite3")
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


def one_at_a_time(store: Store, pushes: list[Push], now: float) -> list[Applied]:
    """The reference: each push claimed and applied alone, in arrival order, in one transaction."""
    with store.transaction(lock=[p.message.id for p in pushes]):
        outcomes = []
        for push in pushes:
            keys = [k for k in (push.event_key, push.content_key) if k]
            fresh = not keys or store.claim_events(keys, now=now)
            outcomes.append(_apply(store, POLICY, push, now, fresh))
        return outcomes


def sentdm(mid: str, status: str, minute: int, event_id: str | None = None) -> Push:
    envelope = {
        "field": "message",
        "event": f"message.{status.lower()}",
        "payload": {
            "message_id": mid,
            "message_status": status,
            "channel": "sms",
            "updated_at": f"2026-01-15T10:{minute:02d}:00Z",
        },
        "timestamp": f"2026-01-15T10:{minute:02d}:01Z",
    }
    body = json.dumps(envelope).encode()
    parsed = parse_sentdm(body, event_id, NOW)
    assert parsed.message is not None
    keys = event_key("sentdm", event_id) if event_id else None
    return Push(parsed.message, keys, content_key("sentdm", "ep", "1", body))


def sendo(mid: str, status: str) -> Push:
    body = sendo_body(mid, status)
    parsed = parse_sendo(body, NOW)
    assert parsed.message is not None and parsed.event_id is not None
    return Push(parsed.message, event_key("sendo", parsed.event_id), content_key("sendo", body))


def seed(store: Store, mids: list[str]) -> None:
    """Messages in several stored states: polled at QUEUED, DELIVERED, FAILED (with provider
    events), tracked but never answered, and one resent (a second attempt)."""
    polled = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    for mid, status in zip(mids, [Status.QUEUED, Status.DELIVERED, Status.FAILED], strict=False):
        events = (
            Event(Status.QUEUED, "QUEUED", polled, "queued", EventSource.PROVIDER),
            Event(
                status, status.value.upper(), polled.replace(minute=5), "now", EventSource.PROVIDER
            ),
        )
        msg = Message(
            id=mid,
            provider=Provider.SENTDM,
            status=status,
            provider_status=status.value.upper(),
            to="+15550002222",
            body="hello",
            created_at=polled,
            events=events,
        )
        store.record_fetch(msg, next_poll=NOW + 60, fetched_at=NOW - 600)
    from tui.ids import MessageRef

    store.track([MessageRef(mids[3], Provider.SENTDM)], now=NOW - 600)


def state(store: Store, mids: list[str]) -> dict[str, Any]:
    """Everything the history holds of these messages, but revisions and insertion numbers."""
    marks = ",".join("?" * len(mids))
    rows = store._read(f"SELECT {ROW} FROM messages WHERE id IN ({marks}) ORDER BY id", mids)
    events = store._read(
        "SELECT message_id, source, status, provider_status, ts, description, reason_code, reason, "
        f"attempt FROM events WHERE message_id IN ({marks}) ORDER BY message_id, ts, source, "
        "provider_status",
        mids,
    )
    attempts = store._read(
        f"SELECT * FROM attempts WHERE message_id IN ({marks}) ORDER BY message_id, attempt", mids
    )
    seen = store._read("SELECT key, expires FROM webhook_seen ORDER BY key")
    clean = [
        tuple(json.loads(v) if i in (11, 12) and v else v for i, v in enumerate(r)) for r in rows
    ]
    return {"rows": clean, "events": events, "attempts": attempts, "seen": seen}


def compare(make: Callable[[], Store], mids: list[str], pushes: list[Push]) -> list[Applied]:
    """Apply `pushes` both ways on two seeded histories: the same outcomes, the same history."""
    reference, batched = make(), make()
    for store in (reference, batched):
        seed(store, mids)
    expected = one_at_a_time(reference, pushes, NOW)
    got = apply_pushes(batched, POLICY, pushes, NOW)
    assert got == expected
    assert state(batched, mids) == state(reference, mids)
    return got


def test_a_mixed_batch_has_the_outcomes_and_history_of_pushes_applied_one_by_one(
    two_stores: Callable[[], Store],
) -> None:
    mids = [str(uuid.uuid4()) for _ in range(7)]
    queued, delivered, failed, tracked, fresh, twice, sendo_id = mids
    pushes = [
        sentdm(queued, "SENT", 10, "e1"),  # forward from a poll's QUEUED
        sentdm(delivered, "SENT", 3, "e2"),  # older than DELIVERED: its event only
        sentdm(failed, "FAILED", 6, "e3"),  # the same status again
        sentdm(tracked, "DELIVERED", 9, "e4"),  # tracked, never answered: stored from the push
        sentdm(fresh, "QUEUED", 1, "e5"),  # unknown to the store
        sentdm(twice, "SENT", 2, "e6"),  # two pushes of one message in the batch
        sentdm(twice, "DELIVERED", 4, "e7"),
        sentdm(twice, "SENT", 2, "e6"),  # a retry inside the batch: a duplicate
        sentdm(delivered, "QUEUED", 30, "e8"),  # a re-queue after DELIVERED: a new attempt
        sendo(sendo_id, "QUEUED"),
        sendo(sendo_id, "DELIVERED"),
    ]
    got = compare(two_stores, mids, pushes)
    assert [o.duplicate for o in got].count(True) == 1 and got[7].duplicate
    assert got[3].new and got[4].new and got[1].stale


def test_a_duplicate_inside_one_batch_is_applied_once(two_stores: Callable[[], Store]) -> None:
    mid = str(uuid.uuid4())
    push = sentdm(mid, "DELIVERED", 5, "evt_same")
    got = compare(two_stores, [mid, *[str(uuid.uuid4()) for _ in range(4)]], [push, push, push])
    assert [o.duplicate for o in got] == [False, True, True]
    assert got[1].status is Status.DELIVERED  # a duplicate reports what the store holds now


def test_a_replay_under_another_event_id_in_the_same_batch_is_a_duplicate(
    two_stores: Callable[[], Store],
) -> None:
    mid = str(uuid.uuid4())
    first = sentdm(mid, "SENT", 5, "evt_a")
    replay = Push(first.message, event_key("sentdm", "evt_b"), first.content_key)
    got = compare(two_stores, [mid, *[str(uuid.uuid4()) for _ in range(4)]], [first, replay])
    assert [o.duplicate for o in got] == [False, True]


def test_random_batches_match_one_by_one(two_stores: Callable[[], Store]) -> None:
    rng = random.Random(17)
    mids = [str(uuid.uuid4()) for _ in range(8)]
    statuses = ["QUEUED", "SENT", "DELIVERED", "FAILED", "QUEUED"]
    pushes = []
    for n in range(40):
        mid = rng.choice(mids)
        if rng.random() < 0.2 and pushes:
            pushes.append(rng.choice(pushes))  # a provider's retry
        else:
            pushes.append(sentdm(mid, rng.choice(statuses), rng.randint(1, 40), f"r{n}"))
    compare(two_stores, mids, pushes)


def test_a_refused_push_costs_the_rest_of_its_batch_nothing(tmp_path: Path) -> None:
    """One push the store refuses (a real SQLite trigger aborting its insert) fails the batch's
    transaction; each push is then applied alone: the others once, the refused one not at all."""
    path = tmp_path / "h.sqlite3"
    store = SQLiteStore(path)
    try:
        apply = apply_together(store, POLICY)
        ids = [str(uuid.uuid4()) for _ in range(3)]
        writes = [
            PushWrite(p.message, NOW, p.event_key, p.content_key)
            for p in (sentdm(ids[0], "SENT", 1, "a"), sentdm(ids[1], "SENT", 1, "b"))
        ]
        writes += [writes[0]]  # and a retry of the first, inside the same batch
        writes.insert(1, PushWrite(sentdm(ids[2], "SENT", 1, "c").message, NOW, "k-c", None))
        store._read("SELECT 1")
        import sqlite3

        with sqlite3.connect(path) as db:
            db.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON messages "
                f"WHEN NEW.id = '{ids[2]}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        db.close()
        outcomes = apply(writes)
        assert isinstance(outcomes[1], StoreUnavailable)
        assert isinstance(outcomes[0], Applied) and outcomes[0].new and not outcomes[0].duplicate
        assert isinstance(outcomes[2], Applied) and outcomes[2].new
        assert isinstance(outcomes[3], Applied) and outcomes[3].duplicate
        assert store.get(ids[2]) is None and store.seen_count(NOW) == 4  # a, its content, b, its
        for mid in ids[:2]:
            stored = store.get(mid)
            assert stored is not None
            pushed = [e for e in stored.message.events if e.source is EventSource.WEBHOOK]
            assert len(pushed) == 1  # applied once
    finally:
        store.close()


def test_re_queues_old_and_new_in_one_batch(two_stores: Callable[[], Store]) -> None:
    """A re-queue older than the finished attempt only joins the timeline; a newer one starts
    attempt 2 (a resend made elsewhere): decided from each attempt's end, read for the batch."""
    mids = [str(uuid.uuid4()) for _ in range(5)]
    _, delivered, failed, _, _ = mids
    pushes = [sentdm(delivered, "QUEUED", 2, "old"), sentdm(failed, "QUEUED", 30, "new")]
    got = compare(two_stores, mids, pushes)
    assert got[0].stale and got[0].status is Status.DELIVERED
    assert not got[1].stale and got[1].status is Status.QUEUED


async def test_pushes_the_loop_already_holds_join_the_batch(tmp_path: Path) -> None:
    """A push that reaches the writer one turn of the loop after another (its request was still
    being verified) goes in the same batch, not in a batch of its own."""
    store = SQLiteStore(tmp_path / "h.sqlite3")
    sizes: list[int] = []
    apply = apply_together(store, POLICY)

    def recording(writes: Sequence[PushWrite]) -> list[Applied | Exception]:
        sizes.append(len(writes))
        return apply(writes)

    async def late(push: Push, turns: int) -> Applied:
        for _ in range(turns):
            await asyncio.sleep(0)  # the request's own awaits before its write
        return await writer.write(PushWrite(push.message, NOW, push.event_key, push.content_key))

    for gather, expected in ((GATHER_TURNS, [5]), (0, [1, 4])):
        writer = PushWriter(recording, gather_turns=gather)
        sizes.clear()
        pushes = [sentdm(str(uuid.uuid4()), "SENT", 1, f"g{gather}-{n}") for n in range(5)]
        try:
            done = await asyncio.gather(
                *(late(p, 0 if n == 0 else 1) for n, p in enumerate(pushes))
            )
        finally:
            await writer.aclose()
        assert all(a.new for a in done)
        assert sizes == expected
    store.close()


def test_a_batch_of_duplicates_writes_nothing(tmp_path: Path) -> None:
    """Every push known already: no revision is taken, so no other instance is woken for nothing."""
    store = SQLiteStore(tmp_path / "h.sqlite3")
    try:
        pushes = [sentdm(str(uuid.uuid4()), "SENT", 1, f"d{n}") for n in range(3)]
        apply_pushes(store, POLICY, pushes, NOW)
        rev = store.current_rev()
        again = apply_pushes(store, POLICY, pushes, NOW)
        assert all(a.duplicate for a in again) and store.current_rev() == rev
        assert apply_pushes(store, POLICY, [], NOW) == [] and store.current_rev() == rev
    finally:
        store.close()
