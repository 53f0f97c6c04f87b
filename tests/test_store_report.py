"""The report's columns (tui/store/facts.py): written by every write, back-filled on migration, and
`build_report` over them equal to folding every stored snapshot, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tui.ids import MessageRef
from tui.model import Event, EventSource, Message, MessageError, Provider, Status
from tui.services.report import ReportBuilder, build_report
from tui.store import ListFilter, SQLiteStore, Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = (T0 + timedelta(hours=6)).timestamp()
REPORT_COLUMNS = ("price", "segments", "region_code", "delivered_at", "stage_since")


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _msg(i: int, provider: Provider, status: Status, word: str, steps: list, **kw: Any) -> Message:
    return Message(
        id=f"00000000-0000-4000-8000-{i:012d}",
        provider=provider,
        status=status,
        provider_status=word,
        created_at=T0,
        events=tuple(Event(st, w, _at(t), w.lower()) for st, w, t in steps),
        **kw,
    )


QUEUED, SENT = (Status.QUEUED, "QUEUED", 0), (Status.SENT, "SENT", 3)
SENTDM, SENDO = Provider.SENTDM, Provider.SENDO


def _history(store: Store) -> None:
    """Every kind of message the report tells apart, written through the store's own writes."""
    store.track([MessageRef(f"00000000-0000-4000-8000-{i:012d}") for i in range(1, 11)], now=NOW)
    us = {"region_code": "us"}
    answers = [
        _msg(
            1,
            SENTDM,
            Status.DELIVERED,
            "DELIVERED",
            [QUEUED, SENT, (Status.DELIVERED, "DELIVERED", 12.5)],
            to="+12125550101",
            price=0.0075,
            metadata=us,
        ),
        _msg(
            2,
            SENTDM,
            Status.READ,
            "READ",
            [QUEUED, SENT, (Status.DELIVERED, "DELIVERED", 40), (Status.READ, "READ", 90)],
            to="+12125550102",
            price=0.045,
            channel="whatsapp",
            metadata=us,
        ),
        _msg(
            3,
            SENDO,
            Status.FAILED,
            "FAILED",
            [QUEUED, SENT, (Status.FAILED, "FAILED", 30)],
            to="+14165550123",
            segments=2,
            error=MessageError("1350", "Rejected by the carrier"),
        ),
        _msg(
            4,
            SENDO,
            Status.FAILED,
            "EXPIRED",
            [QUEUED, (Status.FAILED, "EXPIRED", 400)],
            to="+14165550124",
            segments=1,
        ),
        _msg(
            5, SENTDM, Status.SENT, "SENT", [QUEUED, SENT], to="+442079460123", price=-1.0
        ),  # stalled in sent
        _msg(
            6, SENDO, Status.SCHEDULED, "SCHEDULED", [], to="+33612345678", scheduled_at=_at(3600)
        ),  # 5 h late
        _msg(
            7, SENDO, Status.QUEUED, "QUEUED", [QUEUED], to="+33 6 12 34 56 79"
        ),  # spaces: its own group
    ]
    for msg in answers:
        store.record_fetch(msg, next_poll=None, fetched_at=NOW - 60)
    # Sent.dm's DELIVERED time arrives later, as an activity (`add_events`), not with the answer.
    late = _msg(
        8,
        SENTDM,
        Status.DELIVERED,
        "DELIVERED",
        [QUEUED, SENT],
        to="+12125550103",
        price=0.0075,
        metadata=us,
    )
    store.record_fetch(late, next_poll=None, fetched_at=NOW - 60)
    store.add_events(late.id, [Event(Status.DELIVERED, "DELIVERED", _at(20), "delivered")])
    # A webhook's DELIVERED time is the provider's too; one only sendwatch observed is not.
    pushed = _msg(9, SENDO, Status.DELIVERED, "DELIVERED", [QUEUED], to="+14165550125", segments=1)
    pushed = replace(
        pushed,
        events=(
            *pushed.events,
            Event(Status.DELIVERED, "DELIVERED", _at(33), "", EventSource.WEBHOOK),
        ),
    )
    store.record_fetch(pushed, next_poll=None, fetched_at=NOW - 60)
    seen = _msg(10, SENDO, Status.DELIVERED, "DELIVERED", [QUEUED], to="+14165550126")
    store.record_fetch(seen, next_poll=None, fetched_at=NOW - 60)
    # A late poll answering "sent" for a delivered message keeps it delivered (and its facts).
    store.record_fetch(
        _msg(
            1,
            SENTDM,
            Status.SENT,
            "SENT",
            [QUEUED, SENT],
            to="+12125550101",
            price=0.0075,
            metadata=us,
        ),
        next_poll=None,
        fetched_at=NOW - 30,
    )
    store.track([MessageRef("00000000-0000-4000-8000-0000000000ff", SENDO)], now=NOW)  # waiting


def _folded(store: Store, flt: ListFilter = ListFilter()) -> dict[str, Any]:
    """The report the old way: every stored snapshot and its events folded one by one."""
    return ReportBuilder(flt.campaign, NOW).add_all(store.iter_snapshots(flt)).to_json()


def _report_without_snapshots(store: Store, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    def refuse(*_args: Any, **_kw: Any) -> Any:
        raise AssertionError("the report read the snapshots")

    with monkeypatch.context() as patch:
        patch.setattr(store, "iter_snapshots", refuse)
        return build_report(store, ListFilter(), NOW)


def test_the_report_is_the_fold_of_every_snapshot_without_reading_one(
    open_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store()
    _history(store)
    report = _report_without_snapshots(store, monkeypatch)
    assert report == _folded(store)
    assert report["total"] == 11 and report["by_status"]["waiting"] == 1
    assert report["latency_seconds"] == {"p50": 20.0, "p90": 40.0, "p99": 40.0, "count": 4}
    assert report["spend"] == {
        "total": 0.06,
        "currency": None,
        "failed": 0.0,
        "priced_messages": 3,
        "segments": 4,
    }
    assert [(s["stage"], s["count"]) for s in report["stalled"]] == [
        ("scheduled", 1),
        ("queued", 1),
        ("sent", 1),
    ]
    assert {(c["provider"], c["country"]) for c in report["by_cohort"]} >= {
        ("sentdm", "US"),
        ("sendo", "CA"),
        ("sendo", "FR"),
        ("sentdm", "GB"),
    }
    assert [(f["code"], f["count"]) for f in report["failures_by_code"]] == [
        (None, 1),  # Sendo's EXPIRED: no code, counted under its word
        ("1350", 1),
    ]


#: what schema v6 and v7 (PostgreSQL v4, v5) added, taken away again to make an older history
UNDO_V6 = (
    "DROP TABLE alert_state",  # v7
    "DROP INDEX messages_account",
    "DROP TABLE attempts",
    "ALTER TABLE messages DROP COLUMN account",
    "ALTER TABLE messages DROP COLUMN attempt",
    "ALTER TABLE events DROP COLUMN attempt",
)


def test_a_version_4_file_is_back_filled_from_its_snapshots_and_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.sqlite3"
    store = SQLiteStore(path)
    _history(store)
    expected = _folded(store)
    store.close()
    db = sqlite3.connect(path)  # the same history as sendwatch with schema 4 left it
    for statement in UNDO_V6:
        db.execute(statement)
    for column in REPORT_COLUMNS:
        db.execute(f"ALTER TABLE messages DROP COLUMN {column}")
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    store = SQLiteStore(path)
    try:
        assert _report_without_snapshots(store, monkeypatch) == expected
    finally:
        store.close()


def test_a_version_2_postgresql_history_is_back_filled(
    pg_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from tui.store import PostgresStore

    url = pg_server.create_database()
    store = PostgresStore(url)
    _history(store)
    expected = _folded(store)
    store.close()
    with psycopg.connect(url) as conn:  # the same history as sendwatch with schema 2 left it
        for statement in UNDO_V6:
            conn.execute(statement)
        for column in REPORT_COLUMNS:
            conn.execute(f"ALTER TABLE messages DROP COLUMN {column}")
        conn.execute("DELETE FROM schema_version WHERE version > 2")
    store = PostgresStore(url)
    try:
        assert _report_without_snapshots(store, monkeypatch) == expected
    finally:
        store.close()
