"""Notice what other instances wrote to the shared history, cheaply, and say which rows changed.

Every write stamps the rows it touches with a new revision (deletes bump a generation instead), so
an instance re-reads exactly the rows written since the revision it last saw. What wakes it up:
  * SQLite: `PRAGMA data_version` on a connection of its own — a counter that moves only when
    *another* connection committed; checking it costs no I/O beyond the shared-memory index;
  * PostgreSQL: `LISTEN sendwatch_history`, which writers `NOTIFY` in the same transaction.
The watcher runs in a daemon thread and hands `Changes` to a callback (the app moves them onto its
own loop with `call_from_thread`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from tui.store.history import Changes, HistoryStore

POLL_SECONDS = 0.25  # SQLite: how often data_version is read (well inside "within a second")


class ChangeWatcher:
    """Calls `on_change(Changes)` after other instances wrote; start() once, stop() at the end."""

    def __init__(
        self,
        store: HistoryStore,
        on_change: Callable[[Changes], None],
        *,
        interval: float = POLL_SECONDS,
        since: int | None = None,
    ) -> None:
        """`since`: the revision the caller's view was read at (writes after it are delivered)."""
        self.store = store
        self.on_change = on_change
        self.interval = interval
        self.rev = store.current_rev() if since is None else since
        self.generation = store.changes_since(self.rev, limit=1).generation
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0

    def start(self) -> ChangeWatcher:
        target = self._listen_pg if getattr(self.store, "url", None) else self._poll_sqlite
        self._thread = threading.Thread(target=target, name="sendwatch-changes", daemon=True)
        self._thread.start()
        return self

    def stop(self, wait: float = 0.0) -> None:
        """Ask the thread to end (it is a daemon: a caller on an event loop need not wait for it)."""
        self._stop.set()
        if self._thread is not None and wait:
            self._thread.join(timeout=wait)

    def check(self) -> Changes | None:
        """Read what changed since the last check; deliver it when anything did."""
        changes = self.store.changes_since(self.rev)
        moved = changes.generation != self.generation
        if not changes.ids and not moved:
            self.rev = max(self.rev, changes.rev)
            return None
        self.rev, self.generation = changes.rev, changes.generation
        self.on_change(
            changes
            if not moved
            else Changes(changes.rev, changes.ids, changes.generation, truncated=True)
        )
        return changes

    def _poll_sqlite(self) -> None:
        db = sqlite3.connect(self.store.path, timeout=30, check_same_thread=False)
        try:
            seen = db.execute("PRAGMA data_version").fetchone()[0]
            self.check()  # writes between the view's revision and this first look
            while not self._stop.wait(self.interval):
                try:
                    now = db.execute("PRAGMA data_version").fetchone()[0]
                    if now != seen:
                        seen = now
                        self.check()
                except Exception:  # noqa: BLE001 - a store or callback hiccup never ends the watching
                    self.errors += 1
        finally:
            db.close()

    def _listen_pg(self) -> None:
        import psycopg

        url: Any = self.store.url  # type: ignore[attr-defined]
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                    conn.execute("LISTEN sendwatch_history")
                    self.check()  # whatever happened while (re)connecting
                    while not self._stop.is_set():
                        woke = False
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            woke = True
                        if woke:
                            self.check()
            except Exception:  # noqa: BLE001 - the server went away (or a callback failed): try again
                self.errors += 1
                self._stop.wait(2.0)
