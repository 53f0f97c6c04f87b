"""The local history: a SQLite file in WAL mode.

One writer connection behind a lock, so workers that finish at once queue up instead of
interleaving half-written rows (SQLite allows one writer per file anyway, across processes); one
reader connection per thread, so the list, the poller's queries and a filter scan read concurrently
(WAL readers never block each other or the writer). Opening is in sqlite_open.py: only a damaged
file is moved aside; a locked, read-only or full one is reported. Free text goes through an FTS5
trigram index; other instances' writes are noticed through `PRAGMA data_version`; the polling lease
is an `flock` beside the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tui.errors import StoreError
from tui.store.backend import Tx
from tui.store.base import Store
from tui.store.dialect import SQLITE
from tui.store.errors import StoreDamaged
from tui.store.lease import FileLease, Lease
from tui.store.rows import Changes, like_pattern
from tui.store.schema import SEARCHABLE, fts_ready
from tui.store.sqlite_open import (
    CHECK_AT_OPEN_BYTES,
    IntegrityCheck,
    connect,
    mark_damaged,
    open_file,
    store_error,
)
from tui.store.values import bind


class SQLiteTx(Tx):
    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__()
        self.db = db

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, bind(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        return max(0, self.db.executemany(sql, (bind(r) for r in rows)).rowcount)


class SQLiteStore(Store):
    """The history in one file; thread-safe. `timeout`: how long to wait for another process's lock;
    a file larger than `check_at_open_bytes` is checked in the background (if `check_in_background`)."""

    backend = "sqlite"
    dialect = SQLITE

    def __init__(
        self,
        path: Path | str,
        *,
        timeout: float = 30.0,
        check_at_open_bytes: int = CHECK_AT_OPEN_BYTES,
        check_in_background: bool = True,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.timeout = timeout
        self.location = f"SQLite {self.path}"
        self._write_lock = threading.Lock()
        #: each thread's reader connection, with the lock it holds while it reads (see `close`)
        self._readers: list[tuple[sqlite3.Connection, threading.Lock]] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        opened = open_file(self.path, timeout, check_at_open_bytes)
        self._writer = opened.db
        self.warnings += opened.warnings
        #: what the integrity check found: "checked whole", "checking in the background",
        #: "checked whole in the background", "damaged: ..." (then also in `warnings`)
        self.integrity = opened.integrity
        self._check: IntegrityCheck | None = None
        if opened.integrity != "checked whole" and check_in_background:
            self.integrity = "checking in the background"
            self._check = IntegrityCheck(self.path, timeout, self._checked)
        self.schema_version = self._writer.execute("PRAGMA user_version").fetchone()[0]
        self.fts = fts_ready(self._writer)  # False on a SQLite without FTS5: LIKE scans instead

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    def _error(self, exc: sqlite3.Error) -> StoreError:
        error = store_error(exc, self.path, self.timeout)
        if isinstance(error, StoreDamaged):
            mark_damaged(self.path)  # the next open checks the whole file and sets it aside
            return StoreDamaged(
                f"{error}: restart sendwatch to move it aside and start a new history"
            )
        return error

    def _checked(self, problem: str | None) -> None:
        """The background check finished (on its own thread)."""
        if problem is None:
            self.integrity = "checked whole in the background"
            return
        mark_damaged(self.path)
        self.integrity = f"damaged: {problem}"
        self.warnings.append(
            f"The history file {self.path} is damaged ({problem}); restart sendwatch to move it "
            "aside (it is kept) and start a new one."
        )

    def close(self) -> None:
        """Close every connection, each once no thread is using it: a worker thread still
        writing or reading when the app leaves finishes its statement first (closing a
        connection under a running statement crashes the process), and anything asked later
        is refused with a `StoreError`."""
        self._closed = True
        if self._check is not None:
            self._check.stop()
        with self._readers_lock:
            readers, self._readers = self._readers, []
        with self._write_lock:
            _close(self._writer)
        for db, lock in readers:
            with lock:
                _close(db)

    def _refuse_closed(self) -> None:
        if self._closed:
            raise StoreError(f"the history {self.path} is closed")

    # -- primitives -------------------------------------------------------------------------
    @contextmanager
    def _begin(self) -> Iterator[Tx]:
        with self._write_lock:
            self._refuse_closed()
            try:
                self._writer.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            try:
                yield SQLiteTx(self._writer)
            except sqlite3.Error as exc:
                self._rollback()
                raise self._error(exc) from exc
            except BaseException:
                self._rollback()
                raise
            try:
                self._writer.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise self._error(exc) from exc

    def _rollback(self) -> None:
        try:
            if self._writer.in_transaction:
                self._writer.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite may have rolled back by itself (e.g. on a full disk)

    def _read_direct(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            entry: tuple[sqlite3.Connection, threading.Lock] | None = getattr(
                self._local, "reader", None
            )
            if entry is None:
                with self._readers_lock:
                    self._refuse_closed()
                    entry = (connect(self.path, self.timeout), threading.Lock())
                    self._readers.append(entry)
                self._local.reader = entry
            reader, lock = entry
            with lock:
                self._refuse_closed()
                return reader.execute(sql, bind(params)).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _stamp(self, tx: Tx) -> int:
        # SQLite has one writer at a time, so revisions commit in the order they are taken.
        rev: int = tx.execute(
            "UPDATE history_meta SET value = value + 1 WHERE key = 'rev' RETURNING value"
        ).fetchone()[0]
        return rev

    def _lock_message(self, tx: Tx, message_id: str) -> None:
        """Nothing to do: the transaction already holds the file's one write lock."""

    def _lock_tracking(self, tx: Tx) -> None:
        """Nothing to do: the transaction already holds the file's one write lock."""

    def _bump_generation(self, tx: Tx) -> None:
        tx.execute("UPDATE history_meta SET value = value + 1 WHERE key = 'generation'")

    def _text_match(self, text: str) -> tuple[str, list[Any]]:
        if self.fts and len(text) >= 3:  # the trigram index needs three characters
            phrase = '"' + text.replace('"', '""') + '"'  # one quoted phrase: a plain substring
            return "seq IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)", [phrase]
        # LIKE is case-insensitive for ASCII in SQLite: no lower() calls per row.
        columns = [c.strip() for c in SEARCHABLE.split(",")]
        clause = "(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")"
        return clause, [like_pattern(text)] * len(columns)

    # -- the change feed and the lease ------------------------------------------------------
    def current_rev(self) -> int:
        rev: int = self._read("SELECT value FROM history_meta WHERE key = 'rev'")[0][0]
        return rev

    def changes_since(self, rev: int, limit: int = 5000) -> Changes:
        rows = self._read(
            "SELECT id, rev FROM messages WHERE rev > ? ORDER BY rev LIMIT ?", (rev, limit)
        )
        generation = self._read("SELECT value FROM history_meta WHERE key = 'generation'")[0][0]
        newest = rows[-1][1] if rows else rev
        return Changes(
            newest,
            [r[0] for r in rows],
            generation,
            truncated=len(rows) >= limit,
            revs=[r[1] for r in rows],
        )

    def lease(self, account: str) -> Lease:
        return FileLease(self.path, account)

    def change_signal(self, interval: float) -> DataVersionSignal:
        return DataVersionSignal(self, interval)


def _close(db: sqlite3.Connection) -> None:
    try:
        db.close()
    except sqlite3.Error:
        pass


class DataVersionSignal:
    """`PRAGMA data_version` on a connection of its own: it moves only when *another* connection
    committed, and reading it costs no I/O beyond the shared-memory index."""

    def __init__(self, store: SQLiteStore, interval: float) -> None:
        self._store = store
        self.interval = interval
        try:
            self._db = connect(store.path, store.timeout)
            self._seen = self._version()
        except sqlite3.Error as exc:
            raise store._error(exc) from exc

    def _version(self) -> int:
        version: int = self._db.execute("PRAGMA data_version").fetchone()[0]
        return version

    def wait(self, stop: threading.Event) -> bool:
        if stop.wait(self.interval):
            return False
        try:
            now = self._version()
        except sqlite3.Error as exc:
            raise self._store._error(exc) from exc
        if now == self._seen:
            return False
        self._seen = now
        return True

    def close(self) -> None:
        self._db.close()
