"""Delivery attempts: a Sent.dm resend re-queues the SAME message ID as a new, billed attempt.

`messages.attempt` is the current attempt, every event carries its attempt, and the `attempts`
table keeps each attempt's start, price and final status once a message has more than one (a
message that was never resent is its row in `messages`, as before). An answer's attempt is read
from the provider's own events (numbered by `tui.model.label_attempts`): an answer showing more
attempts than stored starts them (a resend made elsewhere); one showing fewer, with nothing newer
than the previous attempt's end, is a late answer about an older attempt and changes no status.
A push without an event list starts one when it re-queues a finished message after the current
attempt's last event. Times compared are always the provider's own (never our clock with its).

The helpers run inside the caller's transaction (writes.py); the `Attempts` mixin is the reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from tui.model import Event, EventSource, Message, Provider, Status, opens_attempt
from tui.store.backend import Backend, Tx
from tui.store.rows import ListFilter
from tui.timeparse import parse_time

TOLD = "source IN ('provider', 'webhook')"  # events timed by the provider's clock


@dataclass(frozen=True)
class AttemptRow:
    """One attempt of a resent message: when it started, what it cost, how it ended."""

    attempt: int
    started_at: float
    price: float | None
    status: str | None


@dataclass(frozen=True)
class Settled:
    """What an answer means for the attempts: its events numbered, the attempt now current,
    whether it starts a fresh attempt (no "never backwards" against the old one) or is stale."""

    events: tuple[Event, ...]
    attempt: int
    fresh: bool
    stale: bool


@dataclass(frozen=True)
class Candidate:
    """What deciding on an action needs of one stored message (services/actions.py)."""

    id: str
    provider: str | None
    status: str
    provider_status: str | None
    price: float | None
    segments: int | None
    attempt: int
    scheduled_at: datetime | None
    answered: bool


def _told(events: Iterable[Event]) -> list[Event]:
    return [e for e in events if e.source is not EventSource.OBSERVED]


def may_open_attempt(msg: Message, previous: Status | None) -> bool:
    """True when one of `msg`'s events could start a new attempt after `previous` (a re-queue
    of a finished message): only then does `settle` read the stored attempt's end."""
    return previous is not None and any(opens_attempt(previous, e) for e in _told(msg.events))


def needs_attempt_end(msg: Message, previous: Status | None) -> bool:
    """True when `settle` asks for the end of the stored attempt (a Sent.dm re-queue of a
    finished message, without provider-numbered events): a batch reads them all at once."""
    return msg.provider is Provider.SENTDM and may_open_attempt(msg, previous)


def settles_without_attempts(msg: Message) -> bool:
    """True when `settle` needs nothing of `msg`'s older attempts (no provider-numbered event):
    a batch can settle it from its row (and its current attempt's end, `needs_attempt_end`)."""
    return not any(e.source is EventSource.PROVIDER for e in msg.events)


def settle(
    tx: Tx,
    msg: Message,
    stored: int,
    previous: Status | None,
    current_end: Callable[[], float | None] | None = None,
) -> Settled:
    """Number `msg`'s events and decide its attempt against the stored one (`stored`).

    `current_end`: the provider's end of the stored attempt when the caller read it already
    (a batch); otherwise it is read here, when needed."""
    told = _told(msg.events)
    shown = max((e.attempt for e in msg.events if e.source is EventSource.PROVIDER), default=None)
    if msg.provider is not Provider.SENTDM or previous is None:
        current = max(stored, shown or 1)
        return Settled(_own(msg.events, current, 0, None), current, False, False)
    if shown is not None and shown > stored:
        return Settled(_own(msg.events, shown, 0, None), shown, True, False)
    if shown is not None and shown < stored:
        before = _end(tx, msg.id, "attempt < ?", stored)  # the provider's end of older attempts
        newest = max((e.timestamp.timestamp() for e in told), default=None)
        if before is not None and newest is not None and newest <= before:
            return Settled(_own(msg.events, stored, 0, None), stored, False, True)
        return Settled(_own(msg.events, stored, stored - shown, before), stored, False, False)
    if shown is None and previous is not None and may_open_attempt(msg, previous):
        # asked only when an event could open one
        end = current_end() if current_end else _end(tx, msg.id, "attempt = ?", stored)
        when = max((e.timestamp.timestamp() for e in told), default=None)
        if end is not None and when is not None and when > end:
            return Settled(_own(msg.events, stored + 1, 0, None), stored + 1, True, False)
    return Settled(_own(msg.events, stored, 0, None), stored, False, False)


def _own(
    events: tuple[Event, ...], current: int, shift: int, after: float | None
) -> tuple[Event, ...]:
    """Provider events keep their number (moved by `shift` when newer than `after`); pushed and
    observed events belong to the current attempt."""
    out = []
    for e in events:
        if e.source is EventSource.PROVIDER:
            moved = shift and (after is None or e.timestamp.timestamp() > after)
            number = e.attempt + shift if moved else e.attempt
        else:
            number = current
        out.append(e if e.attempt == number else replace(e, attempt=number))
    return tuple(out)


def _end(tx: Tx, message_id: str, which: str, attempt: int) -> float | None:
    value = tx.execute(
        f"SELECT max(ts) FROM events WHERE message_id = ? AND {TOLD} AND {which}",
        (message_id, attempt),
    ).fetchone()
    return float(value[0]) if value and value[0] is not None else None


def open_attempts(
    tx: Tx, message_id: str, stored: int, current: int, events: tuple[Event, ...], now: float
) -> None:
    """Close attempt `stored` (its price and status as stored) and open `stored+1..current`,
    each started at its first event's time (else `now`)."""
    row = tx.execute(
        "SELECT price, status, first_seen FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    price, status, first_seen = row if row else (None, None, now)
    if stored == 1:
        first = tx.execute(
            f"SELECT min(ts) FROM events WHERE message_id = ? AND {TOLD}", (message_id,)
        ).fetchone()
        began = first[0] if first and first[0] is not None else first_seen
        tx.execute(
            "INSERT INTO attempts(message_id, attempt, started_at, price, status) VALUES (?, 1, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (message_id, began, price, status),
        )
    tx.execute(
        "UPDATE attempts SET price = ?, status = ? WHERE message_id = ? AND attempt = ?",
        (price, status, message_id, stored),
    )
    for number in range(stored + 1, current + 1):
        starts = [e.timestamp.timestamp() for e in events if e.attempt == number]
        tx.execute(
            "INSERT INTO attempts(message_id, attempt, started_at, price, status) VALUES (?, ?, ?, NULL, NULL) "
            "ON CONFLICT DO NOTHING",
            (message_id, number, min(starts, default=now)),
        )
    tx.execute("UPDATE messages SET attempt = ? WHERE id = ?", (current, message_id))


def keep_current_rows(message_id: str, attempt: int, msg: Message) -> list[tuple[object, ...]]:
    """The update keeping the current attempt's price and status, once the message has an
    attempts row for it: `UPDATE attempts SET price = ?, status = ? WHERE message_id = ? AND
    attempt = ?` parameters (none for a message sent once)."""
    if attempt > 1:
        return [(msg.price, msg.status.value, message_id, attempt)]
    return []


class Attempts(Backend):
    """Reads of attempts: a message's attempts, spend over every attempt, action candidates."""

    def attempts(self, message_id: str) -> list[AttemptRow]:
        """Every attempt of a resent message, oldest first (empty for a message sent once)."""
        return [
            AttemptRow(int(n), float(t), p, s)
            for n, t, p, s in self._read(
                "SELECT attempt, started_at, price, status FROM attempts WHERE message_id = ? ORDER BY attempt",
                (message_id,),
            )
        ]

    def spend(self, flt: ListFilter = ListFilter()) -> float | None:
        """What the view's messages cost, every attempt counted (a resend is billed again);
        None when no message has a price."""
        where, params = flt.where(self._text_match)
        return self._number(
            "SELECT sum(coalesce((SELECT sum(a.price) FROM attempts a "
            f"WHERE a.message_id = messages.id), price)) FROM messages{where}",
            params,
        )

    def action_candidates(self, ids: list[str] | None, flt: ListFilter | None) -> list[Candidate]:
        """The stored facts of these IDs, or of every message in the view, for resend/cancel."""
        if ids is not None:
            rows: list[tuple[object, ...]] = []
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                rows += self._read(f"{_CANDIDATE} WHERE id IN ({','.join('?' * len(part))})", part)
        else:
            where, params = (flt or ListFilter()).where(self._text_match)
            rows = list(self._read(f"{_CANDIDATE}{where} ORDER BY seq", params))
        return [_candidate(r) for r in rows]


#: the snapshot (for `scheduled_at`) is read only where a cancel needs it: a view of 100,000
#: messages is not 100,000 JSON documents
_CANDIDATE = (
    "SELECT id, provider, status, provider_status, price, segments, attempt, "
    "CASE WHEN status = 'scheduled' THEN snapshot END, last_polled FROM messages"
)


def _candidate(row: tuple[object, ...]) -> Candidate:
    mid, provider, status, word, price, segments, attempt, snapshot, polled = row
    scheduled = None
    if isinstance(snapshot, str):
        try:
            data = json.loads(snapshot)
        except ValueError:
            data = None
        if isinstance(data, dict):
            scheduled = parse_time(data.get("scheduled_at"))
    return Candidate(
        id=str(mid),
        provider=provider if isinstance(provider, str) else None,
        status=str(status) if status is not None else "unknown",
        provider_status=word if isinstance(word, str) else None,
        price=float(price) if isinstance(price, (int, float)) else None,
        segments=int(segments) if isinstance(segments, int) else None,
        attempt=int(attempt) if isinstance(attempt, int) else 1,
        scheduled_at=scheduled,
        answered=polled is not None,
    )
