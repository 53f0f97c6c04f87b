"""`sendwatch report --json` at 100,000 messages, on SQLite and PostgreSQL (issue 18).

The history is seeded with realistic stored messages (the snapshots `record_fetch` writes, with
the provider's events: Sent.dm created → sent → delivered, Sendo created → sent → updatedAt), over
both providers, five countries, four channels, prices, failure codes and pending messages. Each
store then runs, three times (the median is shown):
- the baseline: a plain `SELECT status, count(*) ... GROUP BY status` (`store.status_counts`);
- reading alone: `store.iter_snapshots` over every message (what the report has to read);
- the report: `build_report` (three grouped queries over the report's columns), for everything
  and for a campaign, checked equal to the old way (folding every snapshot), which is timed once.

Run: .venv/bin/python -m benchmarks.bench_report [--count N] [--backends SQLite,PostgreSQL]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.model import Event, Message, MessageError, Provider, Status
from tui.serialize import message_to_dict
from tui.services.report import ReportBuilder, build_report
from tui.store import ListFilter, SQLiteStore, Store
from tui.store.schema import backfill_report_facts

GOAL = 1.0  # seconds for report --json at 100k
NUMBERS = ["+1212555", "+1416555", "+44207946", "+3361234", "+491511234"]  # + 4 digits: valid
REGIONS = {
    "+1212555": "US",
    "+1416555": "CA",
    "+44207946": "GB",
    "+3361234": "FR",
    "+491511234": "DE",
}


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _message(rng: random.Random, i: int, now: float) -> tuple[Message, float]:
    provider = Provider.SENTDM if i % 2 == 0 else Provider.SENDO
    prefix = rng.choice(NUMBERS)
    to = prefix + f"{rng.randrange(0, 10**4):04d}"
    created = now - rng.uniform(3600, 6 * 3600)
    roll = rng.random()
    status = (
        Status.DELIVERED
        if roll < 0.78
        else Status.FAILED
        if roll < 0.88
        else Status.SENT
        if roll < 0.95
        else Status.QUEUED
    )
    sent, done = created + rng.uniform(1, 10), created + rng.uniform(12, 120)
    word = status.value.upper()
    events = [Event(Status.QUEUED, "QUEUED", _at(created), "queued")]
    if status is not Status.QUEUED:
        events.append(Event(Status.SENT, "SENT", _at(sent), "sent"))
    error = None
    if status is Status.FAILED:
        code, text = (
            rng.choice(
                [("DELIVERY_003", "Not registered"), ("BUSINESS_003", "Insufficient balance")]
            )
            if provider is Provider.SENTDM
            else rng.choice([("1350", "Rejected by the carrier"), ("1009", "Unreachable handset")])
        )
        error = MessageError(code, text)
    if status in (Status.DELIVERED, Status.FAILED):
        events.append(Event(status, word, _at(done), word.lower(), reason_code=None))
    if provider is Provider.SENTDM:
        channel = rng.choice(["sms", "sms", "sms", "whatsapp", "rcs"])
        price: float | None = {"sms": 0.0075, "whatsapp": 0.045, "rcs": 0.03}[channel]
        metadata = {"region_code": REGIONS[prefix]}
        segments = None
    else:
        channel, price, metadata, segments = rng.choice(["sms", "sms", "mms"]), None, {}, 1
    msg = Message(
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        provider=provider,
        status=status,
        provider_status=word,
        to=to,
        body=f"Hi, your code is {rng.randrange(100000, 999999)}",
        channel=channel,
        created_at=_at(created),
        updated_at=_at(events[-1].timestamp.timestamp()),
        price=price,
        segments=segments,
        metadata=metadata,
        error=error,
        events=tuple(events),
    )
    return msg, created


def seed(path: Path, count: int, now: float, campaign_every: int = 2) -> None:
    """`count` stored messages; every `campaign_every`-th one in campaign `bench`."""
    rng = random.Random(18)
    store = SQLiteStore(path)
    rows, events, members = [], [], []
    for i in range(count):
        msg, created = _message(rng, i, now)
        fetched = now - rng.uniform(0, 60)
        snapshot = message_to_dict(msg, _at(fetched), store=True)
        pending = not msg.status.is_final and msg.status is not Status.DELIVERED
        rows.append(
            (
                msg.id,
                msg.provider.value,
                msg.status.value,
                msg.provider_status,
                msg.to,
                msg.body,
                msg.channel,
                msg.error.code if msg.error else None,
                msg.error.message if msg.error else None,
                msg.created_at.timestamp() if msg.created_at else None,  # as record_fetch writes
                msg.updated_at.timestamp() if msg.updated_at else None,
                json.dumps(snapshot),
                "{}",
                created,
                fetched,
                fetched,
                now if pending else None,
            )
        )
        for e in msg.events:
            events.append(
                (
                    msg.id,
                    e.source.value,
                    e.status.value,
                    e.provider_status.lower(),
                    round(e.timestamp.timestamp(), 3),  # as the store writes event times
                    e.description,
                )
            )
        if i % campaign_every == 0:
            members.append(("bench", msg.id))
    with store._tx() as db:
        db.execute("INSERT OR IGNORE INTO campaigns VALUES ('bench', ?)", (now,))
        db.executemany(
            "INSERT INTO messages(id, provider, status, provider_status, to_addr, body, channel, error_code, "
            "error_message, created_at, updated_at, snapshot, raw, first_seen, last_polled, last_changed, next_poll) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        db.executemany(
            "INSERT OR IGNORE INTO events(message_id, source, status, provider_status, ts, description) "
            "VALUES (?,?,?,?,?,?)",
            events,
        )
        db.executemany("INSERT OR IGNORE INTO campaign_messages VALUES (?, ?)", members)
        # Rows written behind the store's back: their report columns as the v5 migration fills them.
        t0 = time.perf_counter()
        backfill_report_facts(db)
        print(f"back-filled the report's columns in {time.perf_counter() - t0:.1f} s (SQLite)")
    store.close()


def folded_report(store: Store, flt: ListFilter, now: float) -> dict[str, Any]:
    """The report as it was built before the report's columns: every snapshot folded (the reference
    `build_report` must equal)."""
    return ReportBuilder(flt.campaign, now).add_all(store.iter_snapshots(flt)).to_json()


def backfill_postgres(url: str) -> None:
    """The report's columns of rows copied behind the store's back, as the v3 migration fills them."""
    import psycopg

    from tui.store.pg_schema import backfill_report_facts as backfill_pg

    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        backfill_pg(conn)
        conn.execute("ANALYZE messages")
    print(f"back-filled the report's columns in {time.perf_counter() - t0:.1f} s (PostgreSQL)")


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median seconds over `repeats` runs, and the last answer."""
    times, answer = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), answer


def measure(name: str, store: Store, now: float, repeats: int) -> list[tuple[str, str, float, str]]:
    everything, campaign = ListFilter(), ListFilter(campaign="bench")
    base, counts = timed(lambda: store.status_counts(everything), repeats)
    read, _ = timed(lambda: sum(1 for _ in store.iter_snapshots(everything)), repeats)
    full, report = timed(lambda: build_report(store, everything, now), repeats)
    part, part_report = timed(lambda: build_report(store, campaign, now), repeats)
    assert report["total"] == sum(counts.values()), (report["total"], counts)
    ok = "yes" if full <= GOAL else "NO"
    folded, reference = timed(lambda: folded_report(store, everything, now), 1)
    same = "same answer" if reference == report else "DIFFERENT answer"
    same_part = folded_report(store, campaign, now) == part_report
    extra = [
        (name, "old report: fold every snapshot", folded, f"{folded / base:.0f}x baseline; {same}"),
        (name, "campaign report equals the fold", 0.0, "yes" if same_part else "NO"),
    ]
    return [
        (name, "baseline: COUNT(*) GROUP BY status", base, ""),
        (name, "iter_snapshots alone (reading)", read, f"{read / base:.0f}x baseline"),
        (
            name,
            "report --json, all messages",
            full,
            f"{full / base:.0f}x baseline; < {GOAL:g} s: {ok}",
        ),
        (name, "report --json, campaign (half)", part, ""),
        *extra,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", default="SQLite,PostgreSQL")
    args = parser.parse_args()
    now = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="sendwatch-report-"))
    try:
        run(tmp / "report.sqlite3", args, now)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(path: Path, args: argparse.Namespace, now: float) -> None:
    t0 = time.perf_counter()
    seed(path, args.count, now)
    print(
        f"seeded {args.count:,} messages into SQLite in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    rows: list[tuple[str, str, float, str]] = []
    backends = args.backends.split(",")
    if "SQLite" in backends:
        store = SQLiteStore(path)
        try:
            rows += measure("SQLite", store, now, args.repeats)
        finally:
            store.close()
    if "PostgreSQL" in backends:
        from benchmarks.bench_team import copy_to_postgres
        from tests import pgserver
        from tui.store.postgres import PostgresStore

        pg = pgserver.start()
        try:
            url = pg.create_database()
            PostgresStore(url).close()  # the schema, as the app creates it
            copy_to_postgres(path, url)
            backfill_postgres(url)
            pg_store = PostgresStore(url)
            try:
                rows += measure("PostgreSQL", pg_store, now, args.repeats)
            finally:
                pg_store.close()
        finally:
            pg.stop()
    print(f"\n{'store':<11} {'what':<36} {'median s':>9}  note")
    for store_name, what, seconds, note in rows:
        print(f"{store_name:<11} {what:<36} {seconds:>9.3f}  {note}")


if __name__ == "__main__":
    main()
