"""The history on both backends (SQLite file, PostgreSQL server): restart, dedup, observed transitions,
concurrency, retention, paging; and the SQLite file's own cases (corruption, old and newer schemas)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tui.ids import MessageRef
from tui.model import Event, EventSource, Message, Provider, Status
from tui.store import ListFilter, SQLiteStore, Store, StoreError
from tui.store.schema import SCHEMA_VERSION

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def message(
    i: int = 0,
    status: Status = Status.QUEUED,
    raw: str = "queued",
    *,
    body: str | None = None,
    **kw,
) -> Message:
    events = [Event(Status.QUEUED, "queued", T0, "Message queued")]
    if status is not Status.QUEUED:
        events.append(Event(status, raw, T0 + timedelta(seconds=5), f"now {raw}"))
    return Message(
        id=f"00000000-0000-4000-8000-{i:012d}",
        provider=Provider.SENTDM,
        status=status,
        provider_status=raw,
        to=f"+1555000{i:04d}",
        body=f"hello {i}" if body is None else body,
        events=tuple(events),
        **kw,
    )


def test_survives_restart(open_store) -> None:
    store = open_store()
    store.track([MessageRef(message().id, Provider.SENTDM)], campaign="c1")
    store.record_fetch(message(), next_poll=100.0, fetched_at=50.0)
    store.close()
    again = open_store()
    stored = again.get(message().id)
    assert stored is not None and stored.message.body == "hello 0" and stored.next_poll == 100.0
    assert stored.campaigns == ["c1"] and again.count() == 1


def test_events_deduplicated_and_transitions_observed(open_store) -> None:
    store = open_store()
    first = store.record_fetch(message(), next_poll=1.0, fetched_at=10.0)
    again = store.record_fetch(message(), next_poll=1.0, fetched_at=20.0)
    assert first.changed and not again.changed  # same data: the row need not be redrawn
    moved = store.record_fetch(
        message(status=Status.DELIVERED, raw="delivered"), next_poll=None, fetched_at=30.0
    )
    assert moved.changed and moved.previous is Status.QUEUED and moved.current is Status.DELIVERED
    events = store.get(message().id).message.events
    provider_events = [e for e in events if e.source is EventSource.PROVIDER]
    observed = [e for e in events if e.source is EventSource.OBSERVED]
    assert [e.provider_status for e in provider_events] == ["queued", "delivered"]
    assert [e.timestamp.timestamp() for e in observed] == [10.0, 30.0]
    assert "queued to delivered" in observed[-1].description


def test_concurrent_writers_do_not_interleave(open_store) -> None:
    store = open_store()
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for i in range(offset, offset + 50):
                store.track([MessageRef(message(i).id, Provider.SENTDM)])
                store.record_fetch(message(i), next_poll=float(i), fetched_at=1.0)
                store.record_fetch(
                    message(i, Status.SENT, "sent"), next_poll=float(i), fetched_at=2.0
                )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k * 50,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 300 and store.status_counts() == {"sent": 300}
    # each message has exactly: 2 provider events + first-seen + one observed transition
    total = store._read("SELECT count(*) FROM events")[0][0]
    assert total == 300 * 4


def test_corrupted_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = SQLiteStore(path)
    assert store.warnings and "moved to" in store.warnings[0]
    assert store.count() == 0
    asides = list(tmp_path.glob("h.sqlite3.corrupt-*"))
    assert asides and asides[0].read_bytes().startswith(b"this is not a database")


def test_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    """A file a newer sendwatch wrote is not damaged: it is refused in one line, never moved."""
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE kept (x)")
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(StoreError) as info:
        SQLiteStore(path)
    assert "newer sendwatch" in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)
    assert not list(tmp_path.glob("h.sqlite3.corrupt-*"))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 99
    assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("kept",)]
    db.close()


def test_garbage_snapshot_row_is_not_fatal(open_store) -> None:
    store = open_store()
    store.record_fetch(message(), next_poll=None, fetched_at=1.0)
    with store._tx() as db:
        db.execute("UPDATE messages SET snapshot = '{not json'")
    assert store.get(message().id) is None
    assert store.page(ListFilter(), 0, 10)[0].id == message().id
    assert len(list(store.iter_snapshots())) == 1


def test_filter_page_position(open_store) -> None:
    store = open_store()
    store.track([MessageRef(message(i).id, Provider.SENTDM) for i in range(30)])
    for i in range(30):
        st = (Status.FAILED, "failed") if i % 3 == 0 else (Status.DELIVERED, "delivered")
        store.record_fetch(message(i, *st), next_poll=None, fetched_at=1.0)
    assert store.count(ListFilter(statuses=frozenset({"failed"}))) == 10
    assert store.count(ListFilter(text="hello 1")) == 11  # hello 1, 10..19
    assert store.count(ListFilter(text="%")) == 0  # LIKE wildcards are literal
    page = store.page(ListFilter(), 0, 5)
    assert [r.id for r in page] == [message(i).id for i in (29, 28, 27, 26, 25)]
    assert store.position(message(27).id, ListFilter()) == 2
    assert store.position(message(27).id, ListFilter(statuses=frozenset({"failed"}))) == 0
    assert store.position(message(28).id, ListFilter(statuses=frozenset({"failed"}))) is None


def test_retention(open_store) -> None:
    store = open_store()
    store.track([MessageRef(message(i).id, Provider.SENTDM) for i in range(10)], now=0.0)
    for i in range(10):
        store.record_fetch(
            message(i, Status.DELIVERED, "delivered"),
            next_poll=None if i < 5 else 9e9,
            fetched_at=0.0 if i < 5 else 90 * 86400.0,
        )
    removed = store.prune(retention_days=30, max_messages=4, now=100 * 86400.0)
    assert removed == 6 and store.count() == 4
    assert (
        store._read("SELECT count(*) FROM events WHERE message_id = ?", (message(0).id,))[0][0] == 0
    )


def test_due_and_next_due(open_store) -> None:
    store = open_store()
    store.track([MessageRef(message(1).id, Provider.SENTDM), MessageRef(message(2).id)], now=10.0)
    assert [d[0] for d in store.due(11.0, 10, Provider.SENTDM)] == [message(1).id]
    assert [d[0] for d in store.due(11.0, 10, unresolved=True)] == [message(2).id]
    store.record_fetch(replace(message(1)), next_poll=50.0, fetched_at=11.0)
    assert store.next_due(Provider.SENTDM) == 50.0 and store.due(11.0, 10, Provider.SENTDM) == []


def test_indexed_search_matches_the_plain_scan(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.sqlite3")
    assert store.fts
    bodies = ['Hello "Ada"', "50% off_today", "Grüße aus Köln", "code 30007 here", "plain"]
    store.track([MessageRef(message(i).id, Provider.SENTDM) for i in range(len(bodies))])
    for i, body in enumerate(bodies):
        store.record_fetch(replace(message(i), body=body), next_poll=None, fetched_at=1.0)
    store.record_fetch(
        replace(message(4, Status.FAILED, "failed"), body="plain", error=None),
        next_poll=None,
        fetched_at=2.0,
    )
    store.forget(message(3).id)
    for text in [
        "ada",
        "ADA",
        '"Ada"',
        "50%",
        "off_t",
        "Köln",
        "30007",
        "fail",
        "queued",
        "+1555",
        "zzz",
        "a",
    ]:
        flt = ListFilter(text=text)
        indexed = {r.id for r in store.page(flt, 0, 100)}
        store.fts = False
        scanned = {r.id for r in store.page(flt, 0, 100)}
        store.fts = True
        assert indexed == scanned, text
        assert store.count(flt) == len(indexed)


def test_version_1_history_gains_the_index(tmp_path: Path) -> None:
    from tui.store.schema import _v1

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    _v1(db)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO messages(id, status, body, first_seen) VALUES ('00000000-0000-4000-8000-000000000001', 'sent', 'legacy body', 1)"
    )
    db.commit()
    db.close()
    store = SQLiteStore(path)
    assert store.fts and not store.warnings
    assert store.count(ListFilter(text="legacy")) == 1


def test_every_query_runs_on_both_backends(open_store) -> None:
    """Each public method of the store, with each of its variants, on SQLite and on PostgreSQL."""
    store = open_store()
    refs = [MessageRef(message(i).id, Provider.SENTDM) for i in range(6)] + [
        MessageRef("00000000-0000-4000-8000-00000000aaaa")
    ]
    assert store.track(refs, campaign="c1", now=1.0) == 7
    for i in range(6):
        status = [
            (Status.QUEUED, "queued"),
            (Status.FAILED, "BLOCKED"),
            (Status.DELIVERED, "delivered"),
        ][i % 3]
        store.record_fetch(
            replace(message(i, *status), error=None if i % 3 != 1 else None),
            next_poll=50.0 + i,
            fetched_at=2.0,
        )
    store.record_failure(message(0).id, "boom", next_poll=60.0)
    store.add_events(
        message(0).id,
        [
            Event(
                Status.SENT, "sent", T0 + timedelta(seconds=9), "sent", reason_code="X", reason="y"
            )
        ],
    )
    store.record_send(
        Provider.SENTDM, "key-1", [MessageRef(message(7).id, Provider.SENTDM)], "c2", now=3.0
    )
    store.cover_by_push(message(0).id, 900.0)
    assert (
        store.last_push(Provider.SENTDM) == 900.0 and store.release_push(Provider.SENTDM, 10.0) == 1
    )
    store.pull_forward([message(0).id, message(3).id], 4.0, 5.0)
    store.pull_forward([message(0).id], 4.0, 5.0, changed_since=0.0)
    assert store.make_all_due(6.0) >= 1
    for flt in (
        ListFilter(),
        ListFilter(text="hello"),
        ListFilter(text="he"),
        ListFilter(statuses=frozenset({"failed"})),
        ListFilter(statuses=frozenset({"blocked", "queued"})),
        ListFilter(provider="sentdm", campaign="c1", error_code="x"),
    ):
        count = store.count(flt)
        assert store.count_upto(flt, 3) == min(count, 3)
        for sort in ("newest", "changed"):
            page = store.page(flt, 0, 3, sort)
            if page:
                store.page_after(flt, page[-1], 3, sort)
                assert store.position(page[0].id, flt, sort) == 0
        store.status_counts(flt), store.failure_kinds(flt)
        store.backlog(100.0, flt), store.oldest_due(100.0, flt)
        list(store.iter_snapshots(flt, batch=2))
    assert (
        store.row(message(1).id).status == "failed"
        and store.provider_of(message(1).id) is Provider.SENTDM
    )
    assert store.get(message(0).id) is not None and store.get("nope") is None
    assert (
        store.first_seen() == 1.0
        and dict(store.campaigns())["c1"] == 7
        and store.campaign_started("c1") == 1.0
    )
    assert store.sends()[0][0] == "key-1"
    changes = store.changes_since(0)
    assert changes.ids and changes.rev <= store.current_rev()
    assert store.changes_since(changes.rev).ids == []  # nothing written since: nothing to re-read
    for kw in (
        {"provider": Provider.SENTDM},
        {"unresolved": True},
        {"provider": Provider.SENTDM, "among": [message(0).id]},
        {"provider": Provider.SENTDM, "never_asked": True},
        {"provider": Provider.SENTDM, "never_asked": False},
    ):
        store.due(1000.0, 10, **kw)
    store.next_due(Provider.SENTDM), store.next_due(unresolved=True), store.pending_count()
    store.forget(message(5).id)
    assert store.prune(retention_days=0.0001, max_messages=2, now=1e9) >= 1
    store.clear()
    assert store.count() == 0


def test_two_instances_migrating_an_old_file_at_once(tmp_path: Path) -> None:
    """Opening a v2 history from several threads at once migrates it once; nothing is moved aside."""
    from tui.store.schema import _v1, _v2

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    _v1(db)
    _v2(db)
    db.execute("PRAGMA user_version = 2")
    db.execute(
        "INSERT INTO messages(id, status, body, first_seen) VALUES ('00000000-0000-4000-8000-000000000001', 'sent', 'kept', 1)"
    )
    db.commit()
    db.close()
    stores: list[Store] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            stores.append(SQLiteStore(path))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(stores) == 4
    assert not any(s.warnings for s in stores) and not list(tmp_path.glob("old.sqlite3.corrupt-*"))
    assert (
        stores[0].count(ListFilter(text="kept")) == 1 and stores[0].schema_version == SCHEMA_VERSION
    )
    for s in stores:
        s.close()


def test_filter_by_channel_country_and_account(open_store) -> None:
    """The cohort filters (`channel:`, `country:`) and `account:` narrow the list on both backends."""
    from tui.app.query import parse_query

    store = open_store()
    shapes = [("sms", "US"), ("whatsapp", "US"), ("sms", "GB")]
    for i, (channel, region) in enumerate(shapes):
        store.record_fetch(
            message(i, channel=channel, metadata={"region_code": region}),
            next_poll=None,
            fetched_at=10.0,
        )
    query = parse_query("channel:SMS country:us")
    assert query.problem is None
    assert [r.id for r in store.page(query.filter, 0, 10)] == [message(0).id]
    assert store.count(parse_query("country:GB").filter) == 1
    assert parse_query("country:USA").problem is not None
    assert store.count(ListFilter(account="eu")) == 0  # nobody owns these yet
