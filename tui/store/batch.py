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

from collections.abc import Iterable, Sequence
from dataclasses import replace

from tui.model import Event, EventSource
from tui.store.attempts import settle, settles_alone
from tui.store.backend import Backend
from tui.store.batch_plan import (
    PRIOR_COLUMNS,
    Prior,
    event_row,
    insert_events,
    plan_answer,
    refresh_facts,
    write_plans,
)
from tui.store.rows import FetchOutcome
from tui.store.seen import SEEN_TTL
from tui.store.writes import Answer

#: parameters per statement at most (SQLite's floor is 32766, PostgreSQL's 65535)
_CHUNK = 500


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class BatchWrites(Backend):
    """A webhook batch's reads and writes, each one statement for the whole batch."""

    def claim_keys(self, keys: Iterable[str], *, now: float, ttl: float = SEEN_TTL) -> set[str]:
        """Claim every key (as `claim_events` does, all at once): the keys claimed now, that is,
        never seen or expired; a key claimed and unexpired before is not in the answer."""
        unique = list(dict.fromkeys(keys))
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
        self, answers: Sequence[Answer], priors: dict[str, Prior]
    ) -> list[FetchOutcome | None]:
        """`record_fetch` for answers of distinct messages whose `priors` were read in this
        transaction, written together. None for an answer not written: one that needs the store's
        attempts (the caller writes it with `record_fetch`)."""
        outcomes: list[FetchOutcome | None] = []
        plans = []
        with self.transaction() as tx:
            rev = self._rev(tx)
            for msg, next_poll, fetched_at in answers:
                prior = priors.get(msg.id, Prior(False))
                previous = prior.previous(prior.snapshot())
                if not settles_alone(msg, previous):
                    outcomes.append(None)
                    continue
                settled = settle(tx, msg, prior.attempt, previous)  # reads nothing here
                if prior.exists and settled.attempt > prior.attempt:
                    outcomes.append(None)  # the attempts table would open one: record_fetch does
                    continue
                plan = plan_answer(msg, prior, settled, next_poll, fetched_at, rev)
                plans.append(plan)
                outcomes.append(plan.outcome)
            write_plans(tx, plans)
        return outcomes

    def add_events_batch(
        self, items: Sequence[tuple[str, Sequence[Event]]], priors: dict[str, Prior]
    ) -> list[int]:
        """`add_events` for several messages (distinct, `priors` read in this transaction): how
        many events each gained."""
        rows = []
        for message_id, events in items:
            current = priors.get(message_id, Prior(False)).attempt
            rows += [
                event_row(
                    message_id,
                    e if e.source is EventSource.PROVIDER else replace(e, attempt=current),
                )
                for e in events
            ]
        with self.transaction() as tx:
            added = insert_events(tx, rows)
            if added:  # the timeline changed: other instances re-read the message
                rev = self._rev(tx)
                tx.executemany(
                    "UPDATE messages SET rev = ? WHERE id = ?",
                    [(rev, m) for m in sorted(set(added))],
                )
                refresh_facts(tx, added)
        return [added.count(message_id) for message_id, _ in items]

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
