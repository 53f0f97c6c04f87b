"""The shared history on PostgreSQL: the same store, for a team on one provider account.

A sibling of the SQLite store, over a psycopg connection pool. The shared queries run as written
(dialect.py swaps their `?` for `%s`); what only PostgreSQL does is written here, natively:
  * revisions are the writing transaction's id (`pg_current_xact_id()`): one per transaction, taken
    without any global lock. A reader takes the rows written since its last look and moves its
    revision only up to its snapshot's xmin, below which every transaction has ended: a write still
    in flight can never land behind the revision a reader has passed (it may be handed out twice);
  * each transaction that writes sends one `NOTIFY sendwatch_history`, which watchers LISTEN for;
  * writers of one message queue on an advisory lock of that message (read-merge-write is safe),
    and imports (`track`) on one of their own, so two overlapping imports never deadlock;
  * free text matches one generated, lower-cased search column through a trigram index;
  * the polling lease is a session advisory lock (lease.py).

The URL may hold a password: it is kept out of `repr`, errors and everything shown (`redact_url`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from tui.errors import StoreError
from tui.store import pg_schema
from tui.store.backend import Tx
from tui.store.base import Store
from tui.store.dialect import POSTGRESQL
from tui.store.errors import StoreUnreachable
from tui.store.lease import Lease, PgLease
from tui.store.postgres_errors import reason, redact_url, store_error
from tui.store.rows import Changes, like_pattern
from tui.store.values import bind

__all__ = ["PostgresStore", "redact_url"]

ANALYZE_AFTER = 100  # rows added at once before the statistics are refreshed
TRACK_LOCK = 0x5E4D_0003  # pg_advisory_xact_lock key: one `track` (an import) at a time
CHANNEL = "sendwatch_history"


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Every pooled session plans each search for its own pattern: psycopg prepares a statement
    run five times, and PostgreSQL's generic plan for `search LIKE $1` cannot tell `+1415` from a
    word in every body (it went from 1 ms to 300 ms once the plan turned generic)."""
    conn.execute("SET plan_cache_mode = force_custom_plan")


class PgTx(Tx):
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        super().__init__()
        self.conn = conn

    def execute(self, sql: str, params: Iterable[Any] = ()) -> psycopg.Cursor[Any]:
        return self.conn.execute(POSTGRESQL.statement(sql), bind(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        bound = [bind(r) for r in rows]
        if not bound:
            return 0
        cursor = self.conn.cursor()
        cursor.executemany(POSTGRESQL.statement(sql), bound)  # pipelined: one round trip
        return max(0, cursor.rowcount)

    def native(self, sql: str, params: Iterable[Any] = ()) -> psycopg.Cursor[Any]:
        """PostgreSQL's own SQL (`%s` parameters), as written."""
        return self.conn.execute(sql, bind(params))


def _native(tx: Tx) -> PgTx:
    assert isinstance(tx, PgTx)
    return tx


class PostgresStore(Store):
    """The history on a PostgreSQL server (psycopg 3 with its connection pool)."""

    backend = "postgresql"
    dialect = POSTGRESQL

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        super().__init__()
        self._url = url
        self._where = redact_url(url)
        self.location = f"PostgreSQL {self._where}"
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                self.schema_version = pg_schema.migrate(conn)
        except psycopg.Error as exc:
            raise StoreUnreachable(
                f"cannot use the shared history at {self._where}: {reason(exc)}"
            ) from None
        except pg_schema.NewerSchema as exc:
            raise StoreError(
                f"the shared history at {self._where} {exc}: upgrade sendwatch to use it"
            ) from None
        self._pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=True,
            timeout=30,
            kwargs={"autocommit": True, "connect_timeout": 10},
            configure=_configure,
            name="sendwatch",
        )
        if self._read("SELECT reltuples FROM pg_class WHERE relname = 'messages'")[0][0] < 0:
            self._analyze()  # never analyzed (a new team history): give the planner statistics now

    def __repr__(self) -> str:
        return f"PostgresStore({self._where!r})"

    def close(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()

    # -- primitives -------------------------------------------------------------------------
    @contextmanager
    def _begin(self) -> Iterator[Tx]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield PgTx(conn)
        except (psycopg.Error, PoolTimeout) as exc:
            raise store_error(exc, self._where, "write") from None

    def _read_direct(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            with self._pool.connection() as conn:
                return conn.execute(POSTGRESQL.statement(sql), bind(params)).fetchall()
        except (psycopg.Error, PoolTimeout) as exc:
            raise store_error(exc, self._where, "read") from None

    def _read_native(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._pool.connection() as conn:
                return conn.execute(sql, bind(params)).fetchall()
        except (psycopg.Error, PoolTimeout) as exc:
            raise store_error(exc, self._where, "read") from None

    def _stamp(self, tx: Tx) -> int:
        # The transaction's own id, and the one notice other instances wake up on (delivered at
        # commit; nothing if it rolls back).
        row = _native(tx).native(
            "SELECT pg_current_xact_id()::text::bigint, pg_notify(%s, 'changed')", (CHANNEL,)
        )
        return int(row.fetchall()[0][0])

    def _lock_message(self, tx: Tx, message_id: str) -> None:
        _native(tx).native("SELECT pg_advisory_xact_lock(hashtext(%s))", (message_id,))

    def _lock_messages(self, tx: Tx, message_ids: list[str]) -> None:
        """Every lock of a batch in one round trip, taken in the given (sorted) order."""
        if len(message_ids) == 1:
            self._lock_message(tx, message_ids[0])
        elif message_ids:
            _native(tx).native(
                "SELECT pg_advisory_xact_lock(hashtext(id)) "
                "FROM unnest(%s::text[]) WITH ORDINALITY AS t(id, n) ORDER BY n",
                (message_ids,),
            )

    def _lock_tracking(self, tx: Tx) -> None:
        _native(tx).native("SELECT pg_advisory_xact_lock(%s)", (TRACK_LOCK,))

    def _bump_generation(self, tx: Tx) -> None:
        _native(tx).native("UPDATE history_meta SET value = value + 1 WHERE key = 'generation'")
        _native(tx).native("SELECT pg_notify(%s, 'reload')", (CHANNEL,))

    def _text_match(self, text: str) -> tuple[str, list[Any]]:
        return "search LIKE lower(?) ESCAPE '\\'", [like_pattern(text)]

    def _after_track(self, added: int) -> None:
        """After a large import, fresh statistics: a fresh table's plans otherwise look IDs up
        through the trigram index (10-17 ms each instead of 0.1)."""
        if added >= ANALYZE_AFTER and getattr(self._local, "tx", None) is None:
            self._analyze()

    def _analyze(self) -> None:
        try:
            with self._pool.connection() as conn:
                conn.execute("ANALYZE messages")
                conn.execute("ANALYZE campaign_messages")
        except (psycopg.Error, PoolTimeout) as exc:
            raise store_error(exc, self._where, "write") from None

    # -- the change feed and the lease ------------------------------------------------------
    def current_rev(self) -> int:
        rev: int = self._read_native(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1"
        )[0][0]
        return rev

    def changes_since(self, rev: int, limit: int = 5000) -> Changes:
        # One statement, one snapshot: the rows it sees and its xmin agree.
        xmin, generation, ids, revs = self._read_native(
            "WITH changed AS (SELECT id, rev FROM messages WHERE rev > %s ORDER BY rev LIMIT %s) "
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
            "(SELECT value FROM history_meta WHERE key = 'generation'), "
            "(SELECT array_agg(id ORDER BY rev) FROM changed), "
            "(SELECT array_agg(rev ORDER BY rev) FROM changed)",
            (rev, limit),
        )[0]
        ids, revs = ids or [], revs or []
        # Every transaction below xmin has ended, so nothing can still appear at or below xmin - 1.
        return Changes(max(rev, xmin - 1), ids, generation, truncated=len(ids) >= limit, revs=revs)

    def lease(self, account: str) -> Lease:
        return PgLease(self._url, account, self._where)

    def change_signal(self, interval: float) -> ListenSignal:
        return ListenSignal(self._url, self._where)


class ListenSignal:
    """`LISTEN sendwatch_history` on a connection of its own; writers NOTIFY once per transaction."""

    WAIT = 0.5  # seconds per wait: how soon a stop is noticed

    def __init__(self, url: str, where: str) -> None:
        self._where = where
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            raise store_error(exc, where, "read") from None

    def wait(self, stop: threading.Event) -> bool:
        try:
            for _ in self._conn.notifies(timeout=self.WAIT, stop_after=1):
                return True
        except psycopg.Error as exc:
            raise store_error(exc, self._where, "read") from None
        return False

    def close(self) -> None:
        self._conn.close()
