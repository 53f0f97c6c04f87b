"""The store's writes: tracking, answers (never backwards), events, sends, webhook coverage, deletes.

A mixin over `Backend` (backend.py): the SQL here is shared by SQLite and PostgreSQL. Each public
method runs in one transaction (joining the caller's, if one is open on this thread) and stamps the
rows it touches with that transaction's one revision, so other instances re-read exactly those.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tui.ids import MessageRef
from tui.model import Event, EventSource, Message, MessageError, Provider, Status
from tui.serialize import message_to_dict
from tui.store.attempts import keep_current, open_attempts, resumed_poll, settle
from tui.store.backend import Backend, Tx
from tui.store.facts import REFRESH_FROM_EVENTS, snapshot_facts
from tui.store.rows import FetchOutcome, NextPoll
from tui.store.values import Json


def _loads(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


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


def _now() -> float:
    return time.time()


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


#: One answer for `record_fetches`: the message, its next poll (a time, None, or a function of
#: (last_changed, first_seen)), and when it was fetched.
Answer = tuple[Message, "float | None | NextPoll", float]

_UPSERT = """INSERT INTO messages(id, provider, status, provider_status, to_addr, body, channel, error_code,
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
#: the report's event-derived facts of one message (tui/store/facts.py), after its events changed
_REFRESH_ONE = REFRESH_FROM_EVENTS + " WHERE id = ?"


class Writes(Backend):
    """Every write the store does; each runs in one transaction and stamps its one revision."""

    def track(
        self, refs: Iterable[MessageRef], *, campaign: str | None = None, now: float | None = None
    ) -> int:
        """Add IDs to watch (due for a poll at once); known ones keep their state. Returns new count.

        A statement per kind of row for the whole batch (executemany), so 10,000 IDs are a handful
        of round trips to a server, not three per ID."""
        now = _now() if now is None else now
        unique: dict[str, MessageRef] = {}
        for ref in refs:  # one row per ID, in the order given; an owner named anywhere is kept
            if ref.id not in unique or unique[ref.id].provider is None:
                unique[ref.id] = ref
        refs = list(unique.values())
        with self.transaction() as tx:
            self._lock_tracking(tx)
            rev = self._rev(tx)
            if campaign:
                tx.execute(
                    "INSERT INTO campaigns(name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (campaign, now),
                )
            added = tx.executemany(
                "INSERT INTO messages(id, provider, first_seen, next_poll, rev) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(r.id, r.provider.value if r.provider else None, now, now, rev) for r in refs],
            )
            owned = [(r.provider.value, rev, r.id) for r in refs if r.provider]
            if owned:
                tx.executemany(
                    "UPDATE messages SET provider = ?, rev = ? WHERE id = ? AND provider IS NULL",
                    owned,
                )
            if campaign:
                tx.executemany(
                    "INSERT INTO campaign_messages(campaign, message_id) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [(campaign, r.id) for r in refs],
                )
        self._after_track(added)
        return added

    def record_fetch(
        self, msg: Message, *, next_poll: float | None | NextPoll, fetched_at: float | None = None
    ) -> FetchOutcome:
        """Store a fresh answer: snapshot, new events (deduplicated), an observed transition if any.

        A status never moves backwards: an answer that ranks below what is stored (a late poll after
        a webhook, answers crossing on the wire) keeps the stored status, and only adds its events.
        An answer that changes nothing rewrites only the poll bookkeeping, not the row's JSON.
        `next_poll` may be a function of (last_changed, first_seen), evaluated inside the same
        transaction, so the schedule always follows the stored change history.
        """
        fetched_at = _now() if fetched_at is None else fetched_at
        with self.transaction(lock=msg.id) as tx:
            return self._record(tx, msg, next_poll, fetched_at)

    def record_fetches(self, answers: Sequence[Answer]) -> list[FetchOutcome]:
        """Several answers in one transaction (one commit, one revision, one change notice)."""
        with self.transaction(lock=[a[0].id for a in answers]) as tx:
            return [self._record(tx, msg, when, at) for msg, when, at in answers]

    def _record(
        self,
        tx: Tx,
        msg: Message,
        next_poll: float | None | NextPoll,
        fetched_at: float,
        *,
        fresh: bool = False,
    ) -> FetchOutcome:
        prev = tx.execute(
            "SELECT status, provider_status, snapshot, last_changed, first_seen, attempt FROM messages WHERE id = ?",
            (msg.id,),
        ).fetchone()
        old_snapshot = _loads(prev[2]) if prev and prev[2] else None
        previous = (
            Status(prev[0])
            if old_snapshot is not None and prev[0] in Status._value2member_map_
            else None
        )
        stored_attempt = int(prev[5]) if prev and prev[5] else 1
        settled = settle(tx, msg, stored_attempt, previous)
        msg = replace(msg, events=settled.events, attempt=settled.attempt)
        if (
            previous is not None
            and not (fresh or settled.fresh)
            and (settled.stale or _moves_backwards(previous, msg.status))
        ):
            msg = replace(
                msg, status=previous, provider_status=prev[1], error=_error_of(old_snapshot)
            )
        if prev is not None and settled.attempt > stored_attempt:
            open_attempts(tx, msg.id, stored_attempt, settled.attempt, msg.events, fetched_at)
        snapshot = message_to_dict(msg, datetime.fromtimestamp(fetched_at, tz=UTC), store=True)
        status_changed = old_snapshot is None or prev[1] != msg.provider_status
        if old_snapshot is not None:
            old_snapshot["fetched_at"] = snapshot["fetched_at"]
        changed = old_snapshot != snapshot
        last_changed = fetched_at if status_changed else (prev[3] if prev else fetched_at)
        first_seen = prev[4] if prev else fetched_at
        when = next_poll(last_changed, first_seen) if callable(next_poll) else next_poll
        if when is None and callable(next_poll) and settled.attempt > 1:
            when = resumed_poll(msg.status, fetched_at, last_changed)
        rev = self._rev(tx)
        if changed:
            tx.execute(
                _UPSERT,
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
                ),
            )
        else:
            tx.execute(
                "UPDATE messages SET last_polled = ?, next_poll = ?, poll_errors = 0, last_error = NULL, rev = ? "
                "WHERE id = ?",
                (fetched_at, when, rev, msg.id),
            )
        if prev is None and settled.attempt > 1:  # first seen after resends made elsewhere
            tx.execute("UPDATE messages SET attempt = ? WHERE id = ?", (settled.attempt, msg.id))
        keep_current(tx, msg.id, settled.attempt, msg)
        added = self._insert_events(tx, msg.id, msg.events)
        if changed or added:
            tx.execute(_REFRESH_ONE, (msg.id,))
        at = datetime.fromtimestamp(fetched_at, tz=UTC)
        if old_snapshot is None or status_changed:
            words = (
                f"first seen as {msg.provider_status}"
                if old_snapshot is None
                else f"seen changing from {prev[1]} to {msg.provider_status}"
            )
            observed = Event(
                msg.status,
                msg.provider_status,
                at,
                words,
                EventSource.OBSERVED,
                attempt=settled.attempt,
            )
            self._insert_events(tx, msg.id, (observed,))
        return FetchOutcome(changed=changed, previous=previous, current=msg.status, next_poll=when)

    def add_events(self, message_id: str, events: Iterable[Event]) -> int:
        """Merge extra provider events (e.g. Sent.dm activities, numbered by attempt) or a pushed
        one (the current attempt's); returns how many were new."""
        with self.transaction() as tx:
            row = tx.execute("SELECT attempt FROM messages WHERE id = ?", (message_id,)).fetchone()
            current = int(row[0]) if row and row[0] else 1
            events = [
                e if e.source is EventSource.PROVIDER else replace(e, attempt=current)
                for e in events
            ]
            added = self._insert_events(tx, message_id, events)
            if added:  # the timeline changed: other instances re-read the message
                tx.execute("UPDATE messages SET rev = ? WHERE id = ?", (self._rev(tx), message_id))
                tx.execute(_REFRESH_ONE, (message_id,))
            return added

    @staticmethod
    def _insert_events(tx: Tx, message_id: str, events: Iterable[Event]) -> int:
        return tx.executemany(
            "INSERT INTO events(message_id, source, status, provider_status, ts, description, reason_code, reason, attempt) "
            "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            [
                (
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
                for e in events
            ],
        )

    def record_send(
        self,
        provider: Provider,
        key: str | None,
        refs: list[MessageRef],
        campaign: str | None,
        now: float | None = None,
    ) -> int:
        """Track what a send created (due for a first poll at once) and remember its idempotency
        key, in one transaction: both are stored, or neither."""
        now = _now() if now is None else now
        with self.transaction() as tx:
            added = self.track(refs, campaign=campaign, now=now)
            tx.execute(
                "INSERT INTO sends(idempotency_key, provider, created_at, campaign, message_ids) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, provider.value, now, campaign, ",".join(r.id for r in refs)),
            )
        return added

    def record_resend(
        self,
        msg: Message,
        attempt_before: int,
        *,
        next_poll: float,
        fetched_at: float | None = None,
    ) -> FetchOutcome:
        """A resend sendwatch made was accepted: attempt `attempt_before + 1` starts now (unless an
        answer already showed it), and `msg`, the message as it stands now, is its first answer:
        QUEUED again and due at `next_poll` (polling resumed), whatever the old attempt reached."""
        fetched_at = _now() if fetched_at is None else fetched_at
        with self.transaction(lock=msg.id) as tx:
            row = tx.execute("SELECT attempt FROM messages WHERE id = ?", (msg.id,)).fetchone()
            stored = int(row[0]) if row and row[0] else 1
            if row is not None and stored == attempt_before:
                open_attempts(tx, msg.id, stored, stored + 1, msg.events, fetched_at)
            return self._record(tx, msg, next_poll, fetched_at, fresh=True)

    def cover_by_push(self, message_id: str, until: float) -> None:
        """A webhook brought this status: leave the message to its webhooks (no poll before `until`)."""
        with self.transaction() as tx:
            tx.execute(
                "UPDATE messages SET push_until = ?, rev = ?, next_poll = CASE WHEN next_poll IS NULL THEN NULL "
                "WHEN next_poll < ? THEN ? ELSE next_poll END WHERE id = ?",
                (until, self._rev(tx), until, until, message_id),
            )

    def release_push(self, provider: Provider, now: float) -> int:
        """Webhooks went silent: every message they covered is due for a poll now (polling takes over)."""
        with self.transaction() as tx:
            return tx.execute(
                "UPDATE messages SET push_until = NULL, next_poll = CASE WHEN next_poll IS NULL THEN NULL "
                "WHEN next_poll > ? THEN ? ELSE next_poll END WHERE provider = ? AND push_until IS NOT NULL",
                (now, now, provider.value),
            ).rowcount

    def record_failure(self, message_id: str, error: str, *, next_poll: float | None) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE messages SET poll_errors = poll_errors + 1, last_error = ?, next_poll = ?, rev = ? WHERE id = ?",
                (error[:500], next_poll, self._rev(tx), message_id),
            )

    def forget(self, message_id: str) -> None:
        with self.transaction() as tx:
            for table, col in (
                ("messages", "id"),
                ("events", "message_id"),
                ("campaign_messages", "message_id"),
            ):
                tx.execute(f"DELETE FROM {table} WHERE {col} = ?", (message_id,))
            self._bump_generation(tx)

    def clear(self) -> None:
        with self.transaction() as tx:
            for table in ("messages", "events", "campaign_messages", "campaigns"):
                tx.execute(f"DELETE FROM {table}")
            self._bump_generation(tx)

    def prune(self, *, retention_days: float, max_messages: int, now: float | None = None) -> int:
        """Drop messages not seen within the retention window, then the oldest beyond the cap
        (and webhook event keys past their expiry)."""
        now = _now() if now is None else now
        cutoff = now - retention_days * 86400
        with self.transaction() as tx:
            tx.execute("DELETE FROM webhook_seen WHERE expires < ?", (now,))
            stale = [
                r[0]
                for r in tx.execute(
                    "SELECT id FROM messages WHERE coalesce(last_polled, first_seen) < ? AND next_poll IS NULL",
                    (cutoff,),
                ).fetchall()
            ]
            total = tx.execute("SELECT count(*) FROM messages").fetchone()[0] - len(stale)
            if total > max_messages:
                stale += [
                    r[0]
                    for r in tx.execute(
                        "SELECT id FROM messages WHERE coalesce(last_polled, first_seen) >= ? OR next_poll IS NOT NULL "
                        "ORDER BY seq LIMIT ?",
                        (cutoff, total - max_messages),
                    ).fetchall()
                ]
            for chunk in range(0, len(stale), 500):
                part = stale[chunk : chunk + 500]
                marks = ",".join("?" * len(part))
                for table, col in (
                    ("messages", "id"),
                    ("events", "message_id"),
                    ("campaign_messages", "message_id"),
                ):
                    tx.execute(f"DELETE FROM {table} WHERE {col} IN ({marks})", part)
            if stale:
                self._bump_generation(tx)
        return len(stale)
