"""The local history: every message looked up or watched, its events, and what this app observed.

SQLite in WAL mode. One writer connection behind a lock, so workers that finish at once queue up
instead of interleaving half-written rows; one reader connection per thread, so the list, the
poller's queries and a filter scan read concurrently (WAL readers never block each other or the
writer). A file that is not a readable database is moved aside (never
deleted) and a fresh one created, with a warning for the UI.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.store.queries import Queries
from tui.store.rows import (  # noqa: F401 - the store's public types, imported from here by callers
    ROW_COLUMNS,
    Changes,
    FetchOutcome,
    ListFilter,
    NextPoll,
    Row,
    Stored,
)
from tui.store.scheduling import Scheduling
from tui.store.schema import NewerSchema, fts_ready, migrate
from tui.store.writes import Writes


class HistoryStore(Writes, Queries, Scheduling):
    """Thread-safe access to the history file. Never imports Textual."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.warnings: list[str] = []
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer = self._open()
        self.schema_version: int = self._writer.execute("PRAGMA user_version").fetchone()[0]
        self.fts = fts_ready(self._writer)  # False on a SQLite without FTS5: LIKE scans instead

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=OFF")
        return db

    def _open(self) -> sqlite3.Connection:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        writer: sqlite3.Connection | None = None
        try:
            writer = self._connect()
            writer.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            return self._start_anew(writer, exc)
        try:
            migrate(
                writer
            )  # a failure here (e.g. a locked file) is an error to report, not corruption
        except NewerSchema as exc:
            return self._start_anew(writer, exc)
        try:
            writer.execute("SELECT seq, id, status FROM messages LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            return self._start_anew(writer, exc)
        return writer

    def _start_anew(self, writer: sqlite3.Connection | None, exc: Exception) -> sqlite3.Connection:
        """An unreadable (or newer) file is moved aside, never deleted, and a fresh one started."""
        try:
            if writer is not None:
                writer.close()
        except Exception:  # noqa: BLE001 - closing a broken handle may fail too
            pass
        aside = self._move_aside()
        self.warnings.append(
            f"The history file {self.path} could not be read ({exc}); it was moved to {aside} and a new one started."
        )
        writer = self._connect()
        migrate(writer)
        return writer

    def _move_aside(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.replace(Path(str(aside) + suffix))
        return aside

    def close(self) -> None:
        with self._readers_lock:
            connections, self._readers = [*self._readers, self._writer], []
        for db in connections:
            try:
                db.close()
            except sqlite3.Error:
                pass

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; writers queue on the lock instead of interleaving."""
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            else:
                self._writer.execute("COMMIT")

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = self._connect()
            with self._readers_lock:
                self._readers.append(reader)
        return reader.execute(sql, tuple(params)).fetchall()

    def _lock_message(self, db: Any, message_id: str) -> None:
        """Serialize writers of one message; SQLite's single writer already does."""

    def _next_rev(self, db: Any) -> int:
        """The revision a write in this transaction stamps on the rows it touches."""
        return db.execute(
            "UPDATE history_meta SET value = value + 1 WHERE key = 'rev' RETURNING value"
        ).fetchone()[0]

    def _bump_generation(self, db: Any) -> None:
        """Rows were deleted: other instances reload instead of patching rows."""
        db.execute("UPDATE history_meta SET value = value + 1 WHERE key = 'generation'")

    def current_rev(self) -> int:
        return self._read("SELECT value FROM history_meta WHERE key = 'rev'")[0][0]
