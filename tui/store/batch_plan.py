"""One answer's write, planned from what is stored, then written with others in a few statements.

`Writes._record` (one answer) and `BatchWrites.record_batch` (a webhook batch) both go through
here, so an answer is decided the same way whichever path writes it: `Prior` is what the answer
needs of its stored row, `plan_answer` decides (never backwards, what changed, the next poll, the
observed transition) without touching the store, and `write_plans` writes any number of plans
with one statement per kind of row (`executemany`, or one multi-row INSERT where the rows it
inserted must be known). Every plan of one `write_plans` call is of a different message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from tui.model import Event, EventSource, Message, MessageError, Status
from tui.serialize import message_from_dict, message_to_dict
from tui.store.attempts import Settled, keep_current_rows
from tui.store.backend import Tx
from tui.store.facts import REFRESH_FROM_EVENTS, snapshot_facts
from tui.store.rows import FetchOutcome, NextPoll
from tui.store.values import Json

#: what an answer's write reads of its stored row (see `Prior`)
PRIOR_COLUMNS = "id, status, provider_status, snapshot, last_changed, first_seen, attempt, raw"

UPSERT = """INSERT INTO messages(id, provider, status, provider_status, to_addr, body, channel, error_code,
       error_message, created_at, updated_at, snapshot, raw, first_seen, last_polled, last_changed,
       next_poll, poll_errors, last_error, rev, price, segments, region_code, stage_since)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?, ?, ?, ?, ?)
   ON CONFLICT(id) DO UPDATE SET provider=excluded.provider, status=excluded.status,
       provider_status=excluded.provider_status, to_addr=excluded.to_addr, body=excluded.body,
       channel=excluded.channel, error_code=excluded.error_code, error_message=excluded.error_message,
       created_at=excluded.created_at, updated_at=excluded.updated_at, snapshot=excluded.snapshot,
       raw=excluded.raw, last_polled=excluded.last_polled, last_changed=excluded.last_changed,
       next_poll=excluded.next_poll, poll_errors=0, last_error=NULL, rev=excluded.rev,
       price=excluded.price, segments=excluded.segments, region_code=excluded.region_code,
       stage_since=excluded.stage_since"""
_TOUCH = (
    "UPDATE messages SET last_polled = ?, next_poll = ?, poll_errors = 0, last_error = NULL, rev = ? "
    "WHERE id = ?"
)
_EVENT_COLUMNS = (
    "message_id, source, status, provider_status, ts, description, reason_code, reason, attempt"
)
INSERT_EVENTS = (
    f"INSERT INTO events({_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
)
#: rows per multi-row INSERT (9 parameters each: far below either database's limit)
_CHUNK = 500


def loads_object(text: str) -> dict[str, Any] | None:
    """A stored JSON object, or None when the text is not one (an unreadable snapshot)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Prior:
    """What an answer's write needs of its stored row, read once (`PRIOR_COLUMNS`)."""

    exists: bool
    # the columns as the database returned them (typed loosely: the store is untrusted input)
    status: Any = None
    provider_status: Any = None
    snapshot_text: Any = None
    last_changed: Any = None
    first_seen: Any = None
    stored_attempt: Any = None
    raw_text: Any = None

    @classmethod
    def of(cls, row: Sequence[Any] | None) -> Prior:
        return cls(True, *row[1:]) if row is not None else cls(False)

    @cached_property
    def snapshot(self) -> dict[str, Any] | None:
        """The stored snapshot, decoded once (read it, never change it)."""
        return loads_object(self.snapshot_text) if self.snapshot_text else None

    @property
    def previous(self) -> Status | None:
        """The stored status, when the row has a readable snapshot (an answer was stored)."""
        if self.snapshot is None or self.status not in Status._value2member_map_:
            return None
        return Status(self.status)

    def message(self) -> Message | None:
        """The stored message as `Queries.get` rebuilds it, without its events (a merge never
        reads them); None when the row has no readable snapshot (shown as not fetched yet)."""
        if not self.exists or self.snapshot_text is None:
            return None
        if self.snapshot is None:  # not an object: `get` fails on it the same way
            return None
        try:
            raw = json.loads(self.raw_text) if self.raw_text else {}
            msg = message_from_dict({**self.snapshot, "raw": raw})
        except (ValueError, TypeError):
            return None
        return replace(msg, events=(), attempt=self.stored_attempt or 1)

    @property
    def attempt(self) -> int:
        return int(self.stored_attempt) if self.exists and self.stored_attempt else 1


@dataclass(frozen=True)
class Plan:
    """One answer's write: the message as stored and the rows that say so."""

    msg: Message
    upsert: tuple[Any, ...] | None  # `UPSERT` parameters when what is shown changed
    touch: tuple[Any, ...] | None  # `_TOUCH` parameters (poll bookkeeping) otherwise
    set_attempt: bool  # first stored after resends made elsewhere: the row's attempt is set
    attempt: int
    observed: Event | None  # the transition sendwatch saw, if any
    outcome: FetchOutcome


def _moves_backwards(stored: Status, answer: Status) -> bool:
    """True when `answer` would undo progress already stored (an `unknown` never undoes delivery)."""
    if answer is Status.UNKNOWN:
        return not stored.is_pending
    return stored is not Status.UNKNOWN and answer.rank < stored.rank


def _error_of(snapshot: dict[str, Any] | None) -> MessageError | None:
    error = (snapshot or {}).get("error")
    if not isinstance(error, dict):
        return None
    return MessageError(error.get("code"), error.get("message"))


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def plan_answer(
    msg: Message,
    prior: Prior,
    settled: Settled,
    next_poll: float | None | NextPoll,
    fetched_at: float,
    rev: int,
    *,
    fresh: bool = False,
) -> Plan:
    """Decide one answer's write against its stored row (`settled`: `attempts.settle`'s verdict)."""
    old_snapshot = prior.snapshot
    previous = prior.previous
    msg = replace(msg, events=settled.events, attempt=settled.attempt)
    if (
        previous is not None
        and not (fresh or settled.fresh)
        and (settled.stale or _moves_backwards(previous, msg.status))
    ):
        msg = replace(
            msg,
            status=previous,
            provider_status=prior.provider_status,
            error=_error_of(old_snapshot),
        )
    at = datetime.fromtimestamp(fetched_at, tz=UTC)
    snapshot = message_to_dict(msg, at, store=True)
    status_changed = old_snapshot is None or prior.provider_status != msg.provider_status
    # what is shown changed: anything of the snapshot but when it was fetched
    changed = (
        old_snapshot is None or {**old_snapshot, "fetched_at": snapshot["fetched_at"]} != snapshot
    )
    last_changed = (
        fetched_at if status_changed else (prior.last_changed if prior.exists else fetched_at)
    )
    first_seen = prior.first_seen if prior.exists else fetched_at
    when = next_poll(last_changed, first_seen) if callable(next_poll) else next_poll
    upsert = touch = None
    if changed:
        upsert = (
            msg.id,
            msg.provider.value,
            msg.status.value,
            msg.provider_status,
            msg.to,
            msg.body,
            msg.channel,
            msg.error.code if msg.error else None,
            msg.error.message if msg.error else None,
            _ts(msg.created_at),
            _ts(msg.last_event_time()),
            Json(snapshot),
            Json(msg.raw),
            first_seen,
            fetched_at,
            last_changed,
            when,
            rev,
            *snapshot_facts(snapshot),
        )
    else:
        touch = (fetched_at, when, rev, msg.id)
    observed = None
    if old_snapshot is None or status_changed:
        words = (
            f"first seen as {msg.provider_status}"
            if old_snapshot is None
            else f"seen changing from {prior.provider_status} to {msg.provider_status}"
        )
        observed = Event(
            msg.status,
            msg.provider_status,
            at,
            words,
            EventSource.OBSERVED,
            attempt=settled.attempt,
        )
    outcome = FetchOutcome(changed=changed, previous=previous, current=msg.status, next_poll=when)
    set_attempt = not prior.exists and settled.attempt > 1
    return Plan(msg, upsert, touch, set_attempt, settled.attempt, observed, outcome)


def event_row(message_id: str, e: Event) -> tuple[Any, ...]:
    """The `INSERT_EVENTS` parameters of one event."""
    return (
        message_id,
        e.source.value,
        e.status.value,
        e.provider_status.lower(),
        round(e.timestamp.timestamp(), 3),
        e.description,
        e.reason_code,
        e.reason,
        e.attempt,
    )


def insert_events(tx: Tx, rows: Sequence[tuple[Any, ...]]) -> list[tuple[str, str]]:
    """Insert event rows (duplicates skipped) in multi-row statements; (message ID, source) of
    every row actually inserted."""
    inserted: list[tuple[str, str]] = []
    for start in range(0, len(rows), _CHUNK):
        part = rows[start : start + _CHUNK]
        values = ",".join(["(?,?,?,?,?,?,?,?,?)"] * len(part))
        sql = (
            f"INSERT INTO events({_EVENT_COLUMNS}) VALUES {values} "
            "ON CONFLICT DO NOTHING RETURNING message_id, source"
        )
        cursor = tx.execute(sql, [value for row in part for value in row])
        inserted += [(str(r[0]), str(r[1])) for r in cursor.fetchall()]
    return inserted


def refresh_facts(tx: Tx, message_ids: Iterable[str], rev: int) -> None:
    """The report's event-derived facts (tui/store/facts.py) of these messages, after their
    events or rows changed, and this transaction's revision on them (other instances re-read)."""
    ids = sorted(set(message_ids))
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(part))
        tx.execute(f"{REFRESH_FROM_EVENTS}, rev = ? WHERE id IN ({marks})", [rev, *part])


def write_plans(
    tx: Tx, plans: Sequence[Plan], rev: int, more_events: Sequence[tuple[str, Event]] = ()
) -> None:
    """Write planned answers (each of another message) and `more_events` (message ID, event) of
    other messages, in the order one answer's write takes: the rows, their attempts, the current
    attempts' facts, the events (each message's observed transition after its own), then the
    report's facts of every message whose row or told events changed (the observed transition
    is never read by them)."""
    upserts = [p.upsert for p in plans if p.upsert is not None]
    touches = [p.touch for p in plans if p.touch is not None]
    if upserts:
        tx.executemany(UPSERT, upserts)
    if touches:
        tx.executemany(_TOUCH, touches)
    attempts = [(p.attempt, p.msg.id) for p in plans if p.set_attempt]
    if attempts:
        tx.executemany("UPDATE messages SET attempt = ? WHERE id = ?", attempts)
    current = [row for p in plans for row in keep_current_rows(p.msg.id, p.attempt, p.msg)]
    if current:
        tx.executemany(
            "UPDATE attempts SET price = ?, status = ? WHERE message_id = ? AND attempt = ?",
            current,
        )
    rows = [event_row(mid, e) for mid, e in more_events]
    for p in plans:
        rows += [event_row(p.msg.id, e) for e in p.msg.events]
        if p.observed is not None:
            rows.append(event_row(p.msg.id, p.observed))
    added = insert_events(tx, rows)
    told = [mid for mid, source in added if source != EventSource.OBSERVED.value]
    changed = [p.msg.id for p in plans if p.outcome.changed]
    if told or changed:
        refresh_facts(tx, [*told, *changed], rev)
