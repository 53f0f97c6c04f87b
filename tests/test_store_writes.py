"""Writes on both backends (SQLite file, PostgreSQL server): NUL in any text, webhook pushes applied
once across receivers and restarts, a push racing a poll, all-or-nothing sends and batches, one
revision per transaction."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from tests.test_store import message
from tui.ids import MessageRef
from tui.model import Event, EventSource, Message, MessageError, Provider, Status
from tui.polling.policy import PollPolicy
from tui.store import StoreError
from tui.webhooks.apply import StoreUnavailable, apply_push
from tui.webhooks.dedup import content_key, event_key

POLICY = PollPolicy()
NOW = 1_767_225_600.0
BOUND = 60.0


def _pushed(i: int, status: Status = Status.DELIVERED, word: str = "DELIVERED") -> Message:
    """What a webhook carries: the status, none of the recipient or body."""
    return Message(
        message(i).id,
        Provider.SENTDM,
        status,
        word,
        events=(
            Event(status, word, message(i).events[0].timestamp, "pushed", EventSource.WEBHOOK),
        ),
    )


# -- NUL ------------------------------------------------------------------------------------------
def test_nul_is_stored_as_a_replacement_character_everywhere(open_store) -> None:
    store = open_store()
    hostile = replace(
        message(1, Status.FAILED, "fail\x00ed"),
        to="+1555\x000001",
        body="a\x00b",
        error=MessageError("E\x001", "bad\x00 thing"),
        raw={"body\x00key": ["x\x00y", {"deep": "z\x00"}]},
        events=(Event(Status.FAILED, "fail\x00ed", message(1).events[0].timestamp, "d\x00esc"),),
    )
    store.track([MessageRef(hostile.id + "\x00", Provider.SENTDM)], campaign="c\x00")
    store.record_fetch(hostile, next_poll=None, fetched_at=1.0)
    store.record_send(Provider.SENTDM, "key\x00", [MessageRef(message(2).id)], "c\x00", now=2.0)
    stored = store.get(hostile.id)
    assert stored is not None
    m = stored.message
    assert (m.to, m.body, m.provider_status) == ("+1555\ufffd0001", "a\ufffdb", "fail\ufffded")
    assert (m.error.code, m.error.message) == ("E\ufffd1", "bad\ufffd thing")
    assert m.raw == {"body\ufffdkey": ["x\ufffdy", {"deep": "z\ufffd"}]}
    assert "d\ufffdesc" in {e.description for e in m.events}
    assert store.row(hostile.id + "\ufffd") is not None  # the tracked ID itself
    assert dict(store.campaigns()) == {"c\ufffd": 2}
    assert store.sends()[0][0] == "key\ufffd"
    assert store.count(store_filter("a\x00b")) == 1  # what one types is cleaned the same way
    assert "\x00" not in repr(list(store.iter_snapshots()))


def store_filter(text: str):
    from tui.store import ListFilter

    return ListFilter(text=text)


def test_a_webhook_carrying_nul_is_stored(open_store) -> None:
    store = open_store()
    push = replace(_pushed(3), body="pay\x00load", raw={"reason": "x\x00"})
    applied = apply_push(store, POLICY, push, NOW, event_key=event_key("sentdm", "ev\x00"))
    assert applied.new and not applied.duplicate
    assert store.get(push.id).message.body == "pay\ufffdload"


# -- webhook events applied once ------------------------------------------------------------------
def test_the_same_event_is_applied_once_across_receivers_and_restarts(open_store) -> None:
    first, second = open_store(), open_store()  # two receivers on one history
    push = _pushed(4, Status.SENT, "SENT")
    ev = event_key("sentdm", "evt-1")
    signed = content_key("sentdm", "msg_endpoint", "1767225600", b'{"message_id": "1"}')
    applied = apply_push(first, POLICY, push, NOW, event_key=ev, content_key=signed)
    assert applied.new and not applied.duplicate
    rev = first.row(push.id)
    again = apply_push(second, POLICY, push, NOW + 30, event_key=ev, content_key=signed)
    assert again.duplicate and again.status is Status.SENT
    assert first.row(push.id) == rev  # nothing was written by the duplicate
    # a captured signed request re-sent with another (unsigned) event ID header
    replayed = apply_push(
        second, POLICY, push, NOW + 60, event_key=event_key("sentdm", "forged"), content_key=signed
    )
    assert replayed.duplicate
    first.close()
    restarted = open_store()
    assert apply_push(restarted, POLICY, push, NOW + 90, event_key=ev).duplicate
    # a different event is applied, and the key of an event long gone may come again
    later = apply_push(
        restarted, POLICY, _pushed(4), NOW + 120, event_key=event_key("sentdm", "evt-2")
    )
    assert not later.duplicate and later.status is Status.DELIVERED
    assert restarted.seen_count(NOW + 120) == 4
    assert not apply_push(restarted, POLICY, push, NOW + 4 * 3600, event_key=ev).duplicate


def test_two_receivers_claiming_one_event_at_once_apply_it_once(open_store) -> None:
    stores = [open_store() for _ in range(4)]
    push = _pushed(5)
    key = event_key("sendo", "evt-race")
    start = threading.Barrier(len(stores))
    results: list = []

    def receive(store) -> None:
        start.wait()
        results.append(apply_push(store, POLICY, push, NOW, event_key=key))

    threads = [threading.Thread(target=receive, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.duplicate for r in results) == [False, True, True, True]


def test_a_push_whose_write_fails_is_not_remembered(open_store, backend) -> None:
    """The claim is part of the write: a 503 now, and the provider's retry is applied."""
    store = open_store()
    _refuse_inserts(store, backend, "messages")
    push = _pushed(6)
    key = event_key("sentdm", "evt-retry")
    with pytest.raises(StoreUnavailable):
        apply_push(store, POLICY, push, NOW, event_key=key)
    _allow_inserts(store, backend, "messages")
    applied = apply_push(store, POLICY, push, NOW + 60, event_key=key)
    assert applied.new and not applied.duplicate


# -- a push racing a poll -------------------------------------------------------------------------
def test_a_push_racing_a_poll_keeps_recipient_and_body(open_store) -> None:
    """The webhook reads the message, a poll answer (with recipient and body) lands, then the
    webhook writes: its merge must not be made from the stale read."""
    receiver, poller = open_store(), open_store()
    full = message(7, Status.SENT, "sent")
    receiver.track([MessageRef(full.id, Provider.SENTDM)])
    read_done, poll_done = threading.Event(), threading.Event()
    real_read = receiver.priors  # what the push reads of the stored messages it merges into

    def read_then_let_the_poll_in(message_ids):
        stored = real_read(message_ids)
        read_done.set()
        poll_done.wait(1.0)  # the poll lands here unless the push holds the message (it must)
        return stored

    receiver.priors = read_then_let_the_poll_in
    pushing = threading.Thread(target=apply_push, args=(receiver, POLICY, _pushed(7), NOW))
    pushing.start()
    assert read_done.wait(BOUND)
    poll = threading.Thread(
        target=lambda: (poller.record_fetch(full, next_poll=None, fetched_at=NOW), poll_done.set())
    )
    poll.start()
    pushing.join(BOUND)
    poll.join(BOUND)
    assert not pushing.is_alive() and not poll.is_alive()
    final = poller.get(full.id).message
    assert final.status is Status.DELIVERED  # never backwards
    assert (final.to, final.body) == (full.to, full.body)


# -- all or nothing -------------------------------------------------------------------------------
def _refuse_inserts(store, backend: str, table: str) -> None:
    with store._tx() as tx:
        if backend == "sqlite":
            tx.execute(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            tx.execute(
                "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql "
                "AS $$BEGIN RAISE EXCEPTION 'refused'; END$$"
            )
            tx.execute(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )


def _allow_inserts(store, backend: str, table: str) -> None:
    with store._tx() as tx:
        tx.execute(
            f"DROP TRIGGER refuse_{table}"
            if backend == "sqlite"
            else f"DROP TRIGGER refuse_{table} ON {table}"
        )


def test_record_send_stores_the_messages_and_the_key_or_nothing(open_store, backend) -> None:
    store = open_store()
    _refuse_inserts(store, backend, "sends")
    refs = [MessageRef(message(i).id, Provider.SENTDM) for i in range(3)]
    with pytest.raises(StoreError, match="refused"):
        store.record_send(Provider.SENTDM, "idem-1", refs, "launch", now=5.0)
    assert store.count() == 0 and store.campaigns() == [] and store.sends() == []
    _allow_inserts(store, backend, "sends")
    assert store.record_send(Provider.SENTDM, "idem-1", refs, "launch", now=5.0) == 3
    assert store.count() == 3 and store.sends()[0][0] == "idem-1"


def test_one_revision_per_transaction(open_store) -> None:
    store = open_store()
    before = store.current_rev()
    refs = [MessageRef(message(i).id, Provider.SENTDM) for i in range(2000)]
    assert store.track(refs, campaign="big") == 2000
    revs = {r[0] for r in store._read("SELECT DISTINCT rev FROM messages")}
    assert len(revs) == 1 and min(revs) > before
    outcomes = store.record_fetches(
        [(message(i, Status.SENT, "sent"), 100.0, 2.0) for i in range(50)]
    )
    assert all(o.changed for o in outcomes)
    fetched = store._read("SELECT DISTINCT rev FROM messages WHERE last_polled IS NOT NULL")
    assert len(fetched) == 1 and fetched[0][0] not in revs
    changes = store.changes_since(max(revs))
    assert set(changes.ids) == {message(i).id for i in range(50)}


def test_a_batch_of_answers_is_all_or_nothing(open_store, backend) -> None:
    store = open_store()
    store.track([MessageRef(message(i).id, Provider.SENTDM) for i in range(3)])
    _refuse_inserts(store, backend, "events")
    with pytest.raises(StoreError, match="refused"):
        store.record_fetches([(message(i, Status.SENT, "sent"), None, 2.0) for i in range(3)])
    assert store.status_counts() == {"waiting": 3}


def test_overlapping_imports_at_once_both_succeed(open_store) -> None:
    """Two instances importing the same IDs (in opposite orders) at the same moment."""
    stores = [open_store(), open_store()]
    refs = [MessageRef(message(i).id, Provider.SENTDM) for i in range(3000)]
    start = threading.Barrier(2)
    added: list[int] = []
    errors: list[BaseException] = []

    def run(store, batch) -> None:
        try:
            start.wait()
            added.append(store.track(batch, campaign="same"))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(stores[0], refs)),
        threading.Thread(target=run, args=(stores[1], refs[::-1])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sum(added) == 3000 and stores[0].count() == 3000


@pytest.mark.parametrize("backend", ["postgresql"])
def test_an_import_waiting_on_another_never_deadlocks_with_it(open_store) -> None:
    """First imports A and, while still open, B; the second imports B and A: without imports
    waiting for each other, each would wait for a row the other inserted."""
    from tests.test_team import wait_until

    first, second, probe = open_store(), open_store(), open_store()
    a, b = (MessageRef(message(i).id, Provider.SENTDM) for i in (1, 2))
    first_has_a = threading.Event()
    errors: list[BaseException] = []

    def waiting() -> int:
        return probe._count("SELECT count(*) FROM pg_locks WHERE NOT granted")

    def import_a_then_b() -> None:
        try:
            with first.transaction():
                first.track([a])
                first_has_a.set()
                wait_until(lambda: waiting() > 0, "the second import never waited")
                first.track([b])
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    def import_b_and_a() -> None:
        try:
            assert first_has_a.wait(BOUND)
            second.track([b, a])
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=import_a_then_b), threading.Thread(target=import_b_and_a)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(BOUND)
    assert not errors and probe.count() == 2


def test_track_keeps_the_order_given(open_store) -> None:
    """The list shows the newest first: an import's IDs keep their order, whatever they are."""
    from tui.store import ListFilter

    store = open_store()
    ids = [message(i).id for i in (5, 1, 9, 3)]
    refs = [MessageRef(i) for i in ids] + [MessageRef(ids[1], Provider.SENDO)]  # owner named later
    assert store.track(refs) == 4
    assert [r.id for r in store.page(ListFilter(), 0, 10)] == ids[::-1]
    assert store.provider_of(ids[1]) is Provider.SENDO
