"""Writes for a batch of webhook pushes: a statement per kind of row for the whole batch.

A receiver under a burst writes up to 64 pushes in one transaction (tui/webhooks/ingest.py). Written
one by one, each costs about eight statements (a round trip each on PostgreSQL); here the batch
claims every dedup key in one statement, reads every stored row in one, and writes rows, events,
the report's facts and the webhook coverage with one statement (or `executemany`) each. Each answer
is decided exactly as `record_fetch` decides it (tui/store/batch_plan.py is shared by both); an
answer that needs more of the store than its row (a resend seen in its events: the attempts) is
left to `record_fetch`. Every method joins the caller's transaction, so the batch commits once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from tui.model import Event, EventSource
from tui.store.attempts import TOLD, needs_attempt_end, settle, settles_without_attempts
from tui.store.backend import Backend
from tui.store.batch_plan import (
    PRIOR_COLUMNS,
    Prior,
    plan_answer,
    write_plans,
)
from tui.store.rows import FetchOutcome
from tui.store.seen import SEEN_TTL
from tui.store.writes import Answer

#: parameters per statement at most (SQLite's floor is 32766, PostgreSQL's 65535)
_CHUNK = 500


def _given(end: float | None) -> Callable[[], float | None]:
    """An attempt's end already read, as `settle` asks for it."""
    return lambda: end


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class BatchWrites(Backend):
    """A webhook batch's reads and writes, each one statement for the whole batch."""

    def claim_keys(self, keys: Iterable[str], *, now: float, ttl: float = SEEN_TTL) -> set[str]:
        """Claim every key (as `claim_events` does, all at once): the keys claimed now, that is,
        never seen or expired; a key claimed and unexpired before is not in the answer."""
        unique = sorted(set(keys))  # one order for every receiver: concurrent claims never deadlock
        claimed: set[str] = set()
        with self.transaction() as tx:
            for part in _chunks(unique):
                values = ",".join(["(?, ?)"] * len(part))
                params = [v for key in part for v in (key, now + ttl)]
                rows = tx.execute(
                    f"INSERT INTO webhook_seen(key, expires) VALUES {values} ON CONFLICT(key) "
                    "DO UPDATE SET expires = excluded.expires WHERE webhook_seen.expires < ? "
                    "RETURNING key",
                    [*params, now],
                ).fetchall()
                claimed.update(str(r[0]) for r in rows)
        return claimed

    def priors(self, message_ids: Iterable[str]) -> dict[str, Prior]:
        """What writing an answer needs of each stored row, in one read (absent IDs: not stored)."""
        unique = sorted(set(message_ids))
        found: dict[str, Prior] = {}
        for part in _chunks(unique):
            marks = ",".join("?" * len(part))
            for row in self._read(
                f"SELECT {PRIOR_COLUMNS} FROM messages WHERE id IN ({marks})", part
            ):
                found[str(row[0])] = Prior.of(row)
        return {mid: found.get(mid, Prior(False)) for mid in unique}

    def record_batch(
        self,
        answers: Sequence[Answer],
        priors: dict[str, Prior],
        timeline_only: Sequence[tuple[str, Sequence[Event]]] = (),
    ) -> list[FetchOutcome | None]:
        """`record_fetch` for answers, and `add_events` for `timeline_only` (message ID, events),
        all of distinct messages whose `priors` were read in this transaction, written together.
        None for an answer not written: one that needs the store's older attempts, or starts a
        new attempt (the caller writes it with `record_fetch`)."""
        if not answers and not timeline_only:
            return []  # nothing to write: no revision, no change notice
        outcomes: list[FetchOutcome | None] = []
        plans = []
        with self.transaction() as tx:
            rev = self._rev(tx)
            previous = {}
            for msg, _, _ in answers:
                prior = priors.get(msg.id, Prior(False))
                previous[msg.id] = prior.previous
            ends = self._attempt_ends(
                [
                    (m.id, priors.get(m.id, Prior(False)).attempt)
                    for m, _, _ in answers
                    if needs_attempt_end(m, previous[m.id])
                ]
            )
            for msg, next_poll, fetched_at in answers:
                prior = priors.get(msg.id, Prior(False))
                if not settles_without_attempts(msg):
                    outcomes.append(None)
                    continue
                end = ends.get(msg.id)
                settled = settle(tx, msg, prior.attempt, previous[msg.id], _given(end))
                if settled.attempt > prior.attempt:
                    outcomes.append(None)  # the attempts table opens one: record_fetch does
                    continue
                plan = plan_answer(msg, prior, settled, next_poll, fetched_at, rev)
                plans.append(plan)
                outcomes.append(plan.outcome)
            more = [
                (mid, e if e.source is EventSource.PROVIDER else replace(e, attempt=current))
                for mid, events in timeline_only
                for current in (priors.get(mid, Prior(False)).attempt,)
                for e in events
            ]
            write_plans(tx, plans, rev, more)
        return outcomes

    def _attempt_ends(self, wanted: Sequence[tuple[str, int]]) -> dict[str, float | None]:
        """The provider's end (latest provider or webhook event time) of each message's stored
        attempt, as `settle` reads it one message at a time: one read for the batch."""
        if not wanted:
            return {}
        ids = sorted({mid for mid, _ in wanted})
        found: dict[tuple[str, int], float] = {}
        for part in _chunks(ids):
            marks = ",".join("?" * len(part))
            for mid, attempt, end in self._read(
                f"SELECT message_id, attempt, max(ts) FROM events WHERE message_id IN ({marks}) "
                f"AND {TOLD} GROUP BY message_id, attempt",
                part,
            ):
                if end is not None:
                    found[(str(mid), int(attempt))] = float(end)
        return {mid: found.get((mid, attempt)) for mid, attempt in wanted}

    def cover_batch(self, covers: Sequence[tuple[str, float]]) -> None:
        """`cover_by_push` for several messages: (message id, no poll before this time)."""
        if not covers:
            return
        with self.transaction() as tx:
            rev = self._rev(tx)
            tx.executemany(
                "UPDATE messages SET push_until = ?, rev = ?, next_poll = CASE WHEN next_poll IS NULL "
                "THEN NULL WHEN next_poll < ? THEN ? ELSE next_poll END WHERE id = ?",
                [(until, rev, until, until, message_id) for message_id, until in covers],
            )
