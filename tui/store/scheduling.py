"""The poller's questions to the store: what is due, when next, how far behind.

The store is the scheduler's state (`next_poll` per message), so these are indexed queries, not an
in-memory queue. A mixin over `Backend` (backend.py); the SQL is shared by both backends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tui.model import Provider
from tui.store.backend import Backend
from tui.store.rows import ListFilter, _and, _owner_condition


def _account_condition(
    cond: str, params: list[Any], account: str | None, unassigned: bool
) -> tuple[str, list[Any]]:
    """Narrow an owner condition to one account's messages (and those of no known account)."""
    if account is None:
        return cond, params
    either = "(account = ? OR account IS NULL)" if unassigned else "account = ?"
    return f"{cond} AND {either}", [*params, account]


class Scheduling(Backend):
    """Due work for the poller, and the backlog the status line and summary show."""

    def due(
        self,
        now: float,
        limit: int,
        provider: Provider | None = None,
        *,
        unresolved: bool = False,
        among: Iterable[str] | None = None,
        never_asked: bool | None = None,
        account: str | None = None,
        unassigned: bool = False,
    ) -> list[tuple[str, str | None, str, float | None]]:
        """Messages whose next poll time has come, most overdue first: (id, provider, status, last_changed).

        `among` restricts the answer to those IDs (what is on screen goes first). `never_asked=True`
        gives only messages never asked yet (no answer, no error), oldest first, so every tracked
        message gets a first answer in a bounded time; `never_asked=False` leaves them out.
        `account`: only that account's messages (with `unassigned`, also those of no known account)."""
        cond, params = _owner_condition(provider, unresolved)
        cond, params = _account_condition(cond, params, account, unassigned)
        if among is not None:
            ids = list(among)[:500]
            if not ids:
                return []
            cond += f" AND id IN ({','.join('?' * len(ids))})"
            params += ids
        if never_asked is not None:
            # Never-asked rows keep the next_poll they were tracked with: oldest first, via the index.
            cond += f" AND {'' if never_asked else 'NOT '}(last_polled IS NULL AND poll_errors = 0)"
        return [
            tuple(r)
            for r in self._read(
                f"SELECT id, provider, status, coalesce(last_changed, first_seen) FROM messages "
                f"WHERE next_poll IS NOT NULL AND next_poll <= ? AND {cond} ORDER BY next_poll, seq LIMIT ?",
                [now, *params, limit],
            )
        ]

    def next_due(
        self,
        provider: Provider | None = None,
        *,
        unresolved: bool = False,
        account: str | None = None,
        unassigned: bool = False,
    ) -> float | None:
        cond, params = _owner_condition(provider, unresolved)
        cond, params = _account_condition(cond, params, account, unassigned)
        return self._number(
            f"SELECT min(next_poll) FROM messages WHERE next_poll IS NOT NULL AND {cond}", params
        )

    def pending_count(self) -> int:
        return self._count("SELECT count(*) FROM messages WHERE next_poll IS NOT NULL")

    def backlog(self, now: float, flt: ListFilter = ListFilter()) -> int:
        """How many messages are overdue right now: what the poller still has to catch up on."""
        where, params = flt.where(self._text_match)
        return self._count(
            f"SELECT count(*) FROM messages{_and(where, 'next_poll <= ?')}", [*params, now]
        )

    def oldest_due(self, now: float, flt: ListFilter = ListFilter()) -> float | None:
        where, params = flt.where(self._text_match)
        return self._number(
            f"SELECT min(next_poll) FROM messages{_and(where, 'next_poll <= ?')}", [*params, now]
        )

    def pull_forward(
        self, ids: Iterable[str], interval: float, now: float, *, changed_since: float | None = None
    ) -> None:
        """Make pending messages due no later than `interval` after their last poll (rows on screen).

        With `changed_since`, only messages that changed (or were first seen) since then: a row on
        screen that has not moved for a while keeps its normal interval (its boost has faded)."""
        ids = list(ids)[:500]
        if not ids:
            return
        fresh, extra = (
            ("", [])
            if changed_since is None
            else (" AND coalesce(last_changed, first_seen) >= ?", [changed_since])
        )
        # the later of `now` and `last_polled + interval`, spelled so SQLite and PostgreSQL agree
        target = "CASE WHEN coalesce(last_polled, 0) + ? > ? THEN coalesce(last_polled, 0) + ? ELSE ? END"
        bound = [interval, now, interval, now]
        with self.transaction() as tx:
            tx.execute(
                f"UPDATE messages SET next_poll = {target} WHERE next_poll IS NOT NULL "
                f"AND next_poll > {target} AND id IN ({','.join('?' * len(ids))}){fresh}",
                [*bound, *bound, *ids, *extra],
            )

    def make_all_due(self, now: float) -> int:
        """Every pending message due now (`R`); final ones stay final."""
        with self.transaction() as tx:
            return tx.execute(
                "UPDATE messages SET next_poll = ? WHERE next_poll IS NOT NULL AND next_poll > ?",
                (now, now),
            ).rowcount

    def last_push(self, provider: Provider) -> float | None:
        """The latest coverage deadline set by a webhook for this provider (None: never pushed)."""
        return self._number(
            "SELECT max(push_until) FROM messages WHERE provider = ? AND push_until IS NOT NULL",
            (provider.value,),
        )
