"""The shared history on PostgreSQL: the same store, for a team on one provider account.

Every query of the store is written once, in the SQL both databases speak; this backend only
differs where the databases do: connections (a psycopg pool instead of one writer and a reader per
thread), the few spellings that differ (`?` vs `%s`, `INSERT OR IGNORE`, `group_concat`,
case-insensitive `LIKE`), substring search (pg_trgm GIN indexes instead of FTS5), the change
revision (a sequence), and row locking (an advisory lock per message id, so two instances
recording the same message at once queue instead of losing one answer).

The URL may hold a password: it is kept out of `repr`, errors and everything shown (see
`redact_url`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from psycopg_pool import PoolTimeout

from tui.errors import ConfigError, StoreError
from tui.store import pg_schema
from tui.store.history import HistoryStore

REV_LOCK = 0x5E4D_0002  # pg_advisory_xact_lock key: revisions are handed out in commit order
ANALYZE_AFTER = 100  # rows added at once before the statistics are refreshed
_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.IGNORECASE)
_LIKE = re.compile(r"\bLIKE\b")


def redact_url(url: str) -> str:
    """`postgresql://user:***@host:5432/db`: what may be shown of a database URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://(unreadable URL)"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = (
        f"{parts.username}:***@"
        if parts.username and parts.password
        else (f"{parts.username}@" if parts.username else "")
    )
    return urlunsplit((parts.scheme, user + host, parts.path, "", ""))


def translate(sql: str) -> str:
    """SQLite's spelling of a store query -> PostgreSQL's (the queries are otherwise shared).

    `?` placeholders become `%s` only outside string literals (`coalesce(code, '?')` stays);
    a literal `%` is doubled, as psycopg expects whenever parameters are passed.
    """
    parts = sql.replace("%", "%%").split("'")
    sql = "'".join(part.replace("?", "%s") if i % 2 == 0 else part for i, part in enumerate(parts))
    if _INSERT_OR_IGNORE.match(sql):
        sql = _INSERT_OR_IGNORE.sub("INSERT INTO", sql, count=1) + " ON CONFLICT DO NOTHING"
    sql = sql.replace("group_concat(", "string_agg(")
    return _LIKE.sub("ILIKE", sql)  # SQLite's LIKE is case-insensitive (ASCII); keep that meaning


class _Cursorish:
    """What the store expects of `db.execute(...)`: a cursor with fetchone/fetchall/rowcount."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self._conn.execute(translate(sql), tuple(params))


class PostgresStore(HistoryStore):
    """`HistoryStore` on a PostgreSQL server (psycopg 3 with its connection pool)."""

    backend = "postgresql"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:  # pragma: no cover - both are dependencies
            raise ConfigError(
                "PostgreSQL support needs psycopg and psycopg_pool (pip install 'psycopg[binary]' psycopg-pool)"
            ) from None
        self.url = url
        self.path = Path(redact_url(url))  # shown where a file path would be; never the password
        self.warnings = []
        self.fts = False  # substring search goes through pg_trgm indexes via ILIKE
        self._psycopg = psycopg
        self._local = threading.local()
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                self.schema_version = pg_schema.migrate(conn)
        except psycopg.Error as exc:
            raise ConfigError(
                f"cannot use the shared history at {redact_url(url)}: {_reason(exc)}"
            ) from None
        self._pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=True,
            timeout=30,
            kwargs={"autocommit": True, "connect_timeout": 10},
            name="sendwatch",
        )
        if self._read("SELECT reltuples FROM pg_class WHERE relname = 'messages'")[0][0] < 0:
            self._analyze()  # never analyzed (a new team history): give the planner statistics now

    def __repr__(self) -> str:
        return f"PostgresStore({redact_url(self.url)!r})"

    def close(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield _Cursorish(conn)
        except (self._psycopg.Error, PoolTimeout) as exc:
            raise StoreError(
                f"the shared history at {redact_url(self.url)} failed a write: {_reason(exc)}"
            ) from None

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._pool.connection() as conn:
                return conn.execute(translate(sql), tuple(params)).fetchall()
        except (self._psycopg.Error, PoolTimeout) as exc:
            raise StoreError(
                f"the shared history at {redact_url(self.url)} failed a read: {_reason(exc)}"
            ) from None

    def ping(self) -> int:
        """The schema version, after a round trip (for `config check`); raises ConfigError."""
        try:
            self._read("SELECT 1")
        except StoreError as exc:
            raise ConfigError(
                f"cannot reach the shared history at {redact_url(self.url)}: {_reason(exc)}"
            ) from None
        return self.schema_version

    def _lock_message(self, db: Any, message_id: str) -> None:
        """Serialize writers of one message across instances until this transaction ends."""
        db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (message_id,))

    def _next_rev(self, db: Any) -> int:
        # Writers take revisions one transaction at a time, so they commit in revision order and a
        # reader that has seen revision N has seen every commit below it (none can land behind it).
        db.execute("SELECT pg_advisory_xact_lock(?)", (REV_LOCK,))
        rev = db.execute("SELECT nextval('history_rev')").fetchone()[0]
        # a constant payload: PostgreSQL folds repeats within a transaction into one notification
        db.execute("SELECT pg_notify('sendwatch_history', 'changed')")
        return rev

    def _bump_generation(self, db: Any) -> None:
        db.execute("UPDATE history_meta SET value = value + 1 WHERE key = 'generation'")
        db.execute("SELECT pg_notify('sendwatch_history', 'reload')")

    def current_rev(self) -> int:
        """The newest committed revision (the sequence also counts transactions still open)."""
        return self._read("SELECT coalesce(max(rev), 0) FROM messages")[0][0]

    def track(self, refs: Any, *, campaign: str | None = None, now: float | None = None) -> int:
        """As the file's; after a large import the planner gets fresh statistics (a fresh table's
        plans otherwise look IDs up through the trigram index, 10-17 ms each instead of 0.1)."""
        added = super().track(refs, campaign=campaign, now=now)
        if added >= ANALYZE_AFTER:
            self._analyze()
        return added

    def _analyze(self) -> None:
        with self._tx() as db:
            db.execute("ANALYZE messages")
            db.execute("ANALYZE campaign_messages")


def _reason(exc: Exception) -> str:
    """A connection error in words, without the URL (psycopg messages may quote the DSN)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return re.sub(r"postgres(ql)?://\S+", "(the database URL)", text)[:300]
