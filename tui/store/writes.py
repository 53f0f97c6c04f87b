"""The store's writes: tracking, answers (never backwards), events, sends, webhook coverage, deletes.

A mixin over `Backend` (backend.py): the SQL here is shared by SQLite and PostgreSQL. Each public
method runs in one transaction (joining the caller's, if one is open on this thread) and stamps the
rows it touches with that transaction's one revision, so other instances re-read exactly those.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import replace

from tui.ids import MessageRef
from tui.model import Event, EventSource, Message, Provider
from tui.store.attempts import open_attempts, settle
from tui.store.backend import Backend, Tx
from tui.store.batch_plan import (
    INSERT_EVENTS,
    PRIOR_COLUMNS,
    Prior,
    event_row,
    plan_answer,
    write_plans,
)
from tui.store.facts import REFRESH_FROM_EVENTS
from tui.store.rows import FetchOutcome, NextPoll


def _now() -> float:
    return time.time()


#: One answer for `record_fetches`: the message, its next poll (a time, None, or a function of
#: (last_changed, first_seen)), and when it was fetched.
Answer = tuple[Message, "float | None | NextPoll", float]

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
        row = tx.execute(f"SELECT {PRIOR_COLUMNS} FROM messages WHERE id = ?", (msg.id,)).fetchone()
        prior = Prior.of(row)
        settled = settle(tx, msg, prior.attempt, prior.previous)
        if prior.exists and settled.attempt > prior.attempt:
            open_attempts(tx, msg.id, prior.attempt, settled.attempt, settled.events, fetched_at)
        rev = self._rev(tx)
        plan = plan_answer(msg, prior, settled, next_poll, fetched_at, rev, fresh=fresh)
        write_plans(tx, [plan], rev)
        return plan.outcome

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
        return tx.executemany(INSERT_EVENTS, [event_row(message_id, e) for e in events])

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
