"""Workarounds for two PostgreSQL bugs in tui/store that bench_team.py found (reported, not fixed here).

Both store methods use SQL that SQLite accepts and PostgreSQL 15 refuses:
  * `Queries.count_upto`: `SELECT count(*) FROM (SELECT 1 ... LIMIT ?)` — a subquery in FROM needs an
    alias before PostgreSQL 16, so the dashboard dies at mount on a PostgreSQL 15 history;
  * `Scheduling.pull_forward`: the two-argument scalar `max(a, b)` does not exist in PostgreSQL
    (it is `greatest`), so a dashboard's rows on screen are never pulled forward there.
`apply()` replaces each method by the same SQL in a spelling both databases accept, but only while
the installed code still has the bug (checked on its source), so it does nothing once tui/ is fixed.
Every benchmark process calls it and bench_team.py prints what was applied.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from tui.store.queries import Queries
from tui.store.rows import ListFilter
from tui.store.scheduling import Scheduling


def count_upto(self, flt: ListFilter, cap: int) -> int:
    where, params = flt.where(self.fts)
    return self._read(f"SELECT count(*) FROM (SELECT 1 FROM messages{where} LIMIT ?) AS capped", [*params, cap])[0][0]


def pull_forward(self, ids: Iterable[str], interval: float, now: float, *, changed_since: float | None = None) -> None:
    ids = list(ids)[:500]
    if not ids:
        return
    fresh, extra = ("", []) if changed_since is None else (" AND coalesce(last_changed, first_seen) >= ?", [changed_since])
    target = "CASE WHEN coalesce(last_polled, 0) + ? > ? THEN coalesce(last_polled, 0) + ? ELSE ? END"
    with self._tx() as db:
        db.execute(
            f"UPDATE messages SET next_poll = {target} WHERE next_poll IS NOT NULL "
            f"AND next_poll > {target} AND id IN ({','.join('?' * len(ids))}){fresh}",
            [interval, now, interval, now, interval, now, interval, now, *ids, *extra],
        )


REV_LOCK = 0x5E4D_0002  # pg_advisory_xact_lock key: revisions are handed out in commit order


def next_rev_in_commit_order(self, db):
    """PostgreSQL: take the revision under a transaction-scoped lock, so revisions commit in order."""
    db.execute("SELECT pg_advisory_xact_lock(?)", (REV_LOCK,))
    rev = db.execute("SELECT nextval('history_rev')").fetchone()[0]
    db.execute("SELECT pg_notify('sendwatch_history', ?)", (str(rev),))
    return rev


def committed_rev(self) -> int:
    """PostgreSQL: the newest revision of a committed row (the sequence also counts uncommitted ones)."""
    return self._read("SELECT coalesce(max(rev), 0) FROM messages")[0][0]


def changes_since(self, rev: int, limit: int = 5000):
    """Advance only to the newest revision actually read: a separate read of the newest revision may
    see a write that committed after the rows were read, and that write would never be announced."""
    from tui.store.rows import Changes

    rows = self._read("SELECT id, rev FROM messages WHERE rev > ? ORDER BY rev LIMIT ?", (rev, limit))
    generation = self._read("SELECT value FROM history_meta WHERE key = 'generation'")[0][0]
    newest = rows[-1][1] if rows else rev
    return Changes(newest, [r[0] for r in rows], generation, truncated=len(rows) >= limit)


def apply() -> list[str]:
    """The workarounds needed to run at all; with SENDWATCH_BENCH_FIX_REV=1 also the proposed fix of the
    PostgreSQL change-notification race (to measure it; the benchmark's tables run without it)."""
    import os

    applied = []
    if os.environ.get("SENDWATCH_BENCH_FIX_REV") == "1":
        from tui.store.postgres import PostgresStore

        PostgresStore._next_rev = next_rev_in_commit_order
        PostgresStore.current_rev = committed_rev
        Queries.changes_since = changes_since
        applied.append("PostgreSQL revisions in commit order (proposed fix, --fix-rev)")
    if "LIMIT ?)\"" in inspect.getsource(Queries.count_upto):
        Queries.count_upto = count_upto
        applied.append("count_upto: alias the capped subquery")
    if "max(?, coalesce" in inspect.getsource(Scheduling.pull_forward):
        Scheduling.pull_forward = pull_forward
        applied.append("pull_forward: CASE instead of the two-argument max()")
    return applied
