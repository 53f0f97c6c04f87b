"""Notice what other instances wrote to the shared history, cheaply, and say which rows changed.

Every write stamps the rows it touches with its transaction's revision (deletes bump a generation
instead), so an instance re-reads exactly the rows written since the revision it last saw. What
wakes it up is the store's business (`Store.change_signal`): SQLite's `PRAGMA data_version`,
PostgreSQL's LISTEN/NOTIFY. The watcher runs in a daemon thread, hands `Changes` to a callback (the
app moves them onto its own loop), and says how it is doing: `errors`, `last_error`, `failing`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from tui.store.rows import Changes

POLL_SECONDS = 0.25  # SQLite: how often data_version is read (well inside "within a second")
FAILING_AFTER = 3  # consecutive failed rounds before the watcher counts as failing
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # waits before reconnecting after a failure, then the last


class ChangeSignal(Protocol):
    """What wakes the change watcher when another instance may have written."""

    def wait(self, stop: threading.Event) -> bool:
        """Block a short while (or until `stop` is set); True if something may have changed."""
        ...

    def close(self) -> None: ...


class ChangeSource(Protocol):
    """What the watcher needs of a store (`Store` is one): typed here so this module needs not
    import base.py, which starts watchers (no import cycle)."""

    def current_rev(self) -> int: ...

    def changes_since(self, rev: int, limit: int = 5000) -> Changes: ...

    def change_signal(self, interval: float) -> ChangeSignal: ...


class ChangeWatcher:
    """Calls `on_change(Changes)` after other instances wrote; start() once, stop() at the end."""

    def __init__(
        self,
        store: ChangeSource,
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
        #: set once the watcher is connected and has caught up (writes from now on are delivered)
        self.ready = threading.Event()
        #: rounds of waiting done (each ends in a check when something may have changed)
        self.rounds = 0
        self.errors = 0  # failed rounds, ever
        self.consecutive_errors = 0
        self.last_error: str | None = None  # one line: what failed last
        self._delivered: dict[str, int] = {}  # id -> revision handed out, above self.rev

    @property
    def failing(self) -> bool:
        """True after several rounds in a row failed: other instances' changes are not arriving."""
        return self.consecutive_errors >= FAILING_AFTER

    def state(self) -> str:
        """One line for a status line or a log: "live", or what has been failing."""
        if not self.failing:
            return "live"
        return f"not following other instances' changes ({self.last_error})"

    def start(self) -> ChangeWatcher:
        self._thread = threading.Thread(target=self._run, name="sendwatch-changes", daemon=True)
        self._thread.start()
        return self

    def stop(self, wait: float = 0.0) -> None:
        """Ask the thread to end (it is a daemon: a caller on an event loop need not wait for it)."""
        self._stop.set()
        if self._thread is not None and wait:
            self._thread.join(timeout=wait)

    def check(self) -> Changes | None:
        """Read what changed since the last check; deliver what was not delivered yet."""
        changes = self.store.changes_since(self.rev)
        moved = changes.generation != self.generation
        fresh = changes.ids
        if changes.revs:  # a row handed out before (a backend may repeat recent ones) is not news
            fresh = [
                i
                for i, r in zip(changes.ids, changes.revs, strict=True)
                if self._delivered.get(i) != r
            ]
            self._delivered.update(zip(changes.ids, changes.revs, strict=True))
        self._delivered = {i: r for i, r in self._delivered.items() if r > changes.rev}
        self.rev, self.generation = max(self.rev, changes.rev), changes.generation
        if not fresh and not moved and not changes.truncated:
            return None
        delivered = Changes(
            changes.rev, fresh, changes.generation, moved or changes.truncated, changes.revs
        )
        self.on_change(delivered)
        return delivered

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            signal = None
            try:
                signal = self.store.change_signal(self.interval)
                self.check()  # writes between the view's revision (or a reconnect) and now
                self._succeeded()
                self.ready.set()
                while not self._stop.is_set():
                    if signal.wait(self._stop):
                        self.check()
                    self.rounds += 1
                    self._succeeded()
                    failures = 0
            except Exception as exc:  # noqa: BLE001 - a store or callback failure never ends the watching
                self._failed(exc)
                failures += 1
                self._stop.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1])
            finally:
                if signal is not None:
                    try:
                        signal.close()
                    except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                        pass

    def _succeeded(self) -> None:
        self.consecutive_errors = 0

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        self.consecutive_errors += 1
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        self.last_error = f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
