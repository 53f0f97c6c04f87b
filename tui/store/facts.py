"""The few facts `sendwatch report` needs of each message, kept in columns beside the snapshot.

Folding 100,000 JSON snapshots and their events takes tens of seconds; grouping columns takes a
fraction of one. The columns (SQLite schema v5, PostgreSQL v3) are written with every answer
(writes.py) and back-filled by the migration from the stored snapshots and events, so an existing
history reports the same numbers as before:

- `price`, `segments`: the snapshot's, cleaned exactly as the report counts them;
- `region_code`: the recipient's country, the way the report counts it: Sent.dm's `region_code`,
  else the country of the E.164 number (phonenumbers), so the `country:` filter and the report's
  cohorts agree;
- `delivered_at`: the provider's own DELIVERED time (its first provider or webhook event);
- `stage_since`: when the current status began by the provider's clock (its last provider or
  webhook event of that status, else the snapshot's `updated_at`, else `created_at`); for a
  scheduled message, its release time (`scheduled_at`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tui.coerce import as_dict, as_float, as_int
from tui.countries import CountryLookup
from tui.timeparse import parse_time

#: event sources whose times are the provider's own (not when sendwatch happened to look)
PROVIDER_SOURCES = ("provider", "webhook")


def delivered_at_sql(row: str) -> str:
    """SQL for the provider's DELIVERED time of message `row` (a table name or alias), in its
    current attempt (a resent message's first delivery is not its latency now)."""
    return (
        f"(SELECT min(e.ts) FROM events e WHERE e.message_id = {row}.id "
        f"AND e.attempt = {row}.attempt "
        "AND e.status = 'delivered' AND e.source IN ('provider', 'webhook'))"
    )


def stage_since_sql(row: str, fallback: str) -> str:
    """SQL for when message `row`'s current status began: its latest provider or webhook event of
    that status in its current attempt, else `fallback` (the snapshot's time); a scheduled message:
    `fallback` itself."""
    return (
        f"CASE WHEN {row}.status = 'scheduled' THEN {fallback} ELSE coalesce("
        f"(SELECT max(e.ts) FROM events e WHERE e.message_id = {row}.id "
        f"AND e.attempt = {row}.attempt "
        f"AND e.status = {row}.status AND e.source IN ('provider', 'webhook')), {fallback}) END"
    )


#: `delivered_at` and `stage_since` from the events table. `stage_since` is first set from the
#: snapshot (`snapshot_facts`), then replaced by the latest event of the current status, if any;
#: events are only ever added, so re-running it after more events arrive keeps it right. It ends
#: with its SET list (no WHERE): store/batch_plan.py appends `, rev = ? WHERE id IN (...)`.
REFRESH_FROM_EVENTS = (
    f"UPDATE messages SET delivered_at = {delivered_at_sql('messages')}, "
    f"stage_since = {stage_since_sql('messages', 'messages.stage_since')}"
)

#: the back-fill's batch: rows read and updated per round
BATCH = 2000

#: one lookup for every write and back-fill: its cache is per number prefix, so it stays small
_COUNTRIES = CountryLookup()


def epoch(value: object) -> float | None:
    """An ISO time from a snapshot as epoch seconds (fast path for our own `to_iso` output)."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        parsed = parse_time(value)
        return parsed.timestamp() if parsed else None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def clean_price(value: object) -> float | None:
    """A price the report sums: a finite, non-negative amount (a number or its string)."""
    price = as_float(value)
    return price if price is not None and price >= 0 else None


def clean_segments(value: object) -> int | None:
    segments = as_int(value)
    return segments if segments is not None and segments >= 0 else None


def clean_region(value: object) -> str | None:
    """Sent.dm's `region_code` when it is an ISO 3166 alpha-2 shape, upper-cased."""
    if isinstance(value, str) and len(value) == 2 and value.isalpha():
        return value.upper()
    return None


def snapshot_facts(
    snapshot: Mapping[str, Any],
) -> tuple[float | None, int | None, str | None, float | None]:
    """(price, segments, region_code, stage_since before events) of one stored snapshot.

    The region is Sent.dm's `region_code` when it gave one, else the number's country."""
    if snapshot.get("status") == "scheduled":
        since = epoch(snapshot.get("scheduled_at"))
    else:
        since = epoch(snapshot.get("updated_at")) or epoch(snapshot.get("created_at"))
    return (
        clean_price(snapshot.get("price")),
        clean_segments(snapshot.get("segments")),
        clean_region(as_dict(snapshot.get("metadata")).get("region_code"))
        or _COUNTRIES.country(snapshot.get("to")),
        since,
    )


#: the back-fill's write of one row's snapshot facts (shared SQL: `?` placeholders)
SET_SNAPSHOT_FACTS = (
    "UPDATE messages SET price = ?, segments = ?, region_code = ?, stage_since = ? WHERE seq = ?"
)
#: the back-fill's read: the next batch of stored snapshots after a seq
NEXT_SNAPSHOTS = (
    "SELECT seq, snapshot FROM messages WHERE seq > ? AND snapshot IS NOT NULL ORDER BY seq LIMIT ?"
)


def snapshot_updates(rows: list[tuple[int, str]]) -> list[tuple[Any, ...]]:
    """`SET_SNAPSHOT_FACTS` parameters for (seq, snapshot text) rows; unreadable ones are skipped."""
    updates: list[tuple[Any, ...]] = []
    for seq, text in rows:
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(data, dict):
            updates.append((*snapshot_facts(data), seq))
    return updates
