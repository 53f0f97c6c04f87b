"""The store's contract: what every caller types against.

`Store` is the shared queries (the Writes, BatchWrites, Queries, ReportQueries, Scheduling,
SeenWebhooks, Attempts, Accounts, AlertStates mixins, written once in the SQL both databases speak)
plus what callers ask of the history as a whole: the change feed, the polling lease, closing.
`SQLiteStore` (sqlite.py) and `PostgresStore` (postgres.py) implement it as siblings; neither
inherits the other. Every database failure leaves a store as a `StoreError`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui.store.accounts import Accounts
from tui.store.alert_state import AlertStates
from tui.store.attempts import Attempts
from tui.store.batch import BatchWrites
from tui.store.changes import ChangeSignal
from tui.store.queries import Queries
from tui.store.report_queries import ReportQueries
from tui.store.rows import Changes
from tui.store.scheduling import Scheduling
from tui.store.seen import SeenWebhooks
from tui.store.writes import Writes

if TYPE_CHECKING:
    from tui.store.changes import ChangeWatcher
    from tui.store.lease import Lease


class Store(
    Writes,
    BatchWrites,
    Queries,
    ReportQueries,
    Scheduling,
    SeenWebhooks,
    Attempts,
    Accounts,
    AlertStates,
):
    """The history: every message looked up or watched, its events, and what instances observed."""

    def __init__(self) -> None:
        super().__init__()
        #: where the history is, safe to show ("SQLite /path", "PostgreSQL postgresql://u:***@h/db")
        self.location = ""
        #: things worth telling the user once (e.g. a damaged file moved aside)
        self.warnings: list[str] = []
        self.schema_version = 0

    @abstractmethod
    def current_rev(self) -> int:
        """A revision such that every later write is in `changes_since(current_rev())`."""

    @abstractmethod
    def changes_since(self, rev: int, limit: int = 5000) -> Changes:
        """IDs written after revision `rev` (at most `limit`), the revision to ask from next, the generation.

        The revision only moves as far as no write still in flight can land behind it: a write is
        never stepped over (it may be handed out twice)."""

    @abstractmethod
    def lease(self, account: str) -> Lease:
        """The polling lease of one provider account among the instances sharing this history."""

    @abstractmethod
    def change_signal(self, interval: float) -> ChangeSignal:
        """What wakes a change watcher; `interval`: how often to look where something must poll."""

    @abstractmethod
    def close(self) -> None: ...

    def watch_changes(
        self,
        on_change: Callable[[Changes], None],
        *,
        since: int | None = None,
        interval: float | None = None,
    ) -> ChangeWatcher:
        """A started watcher calling `on_change(Changes)` after other instances wrote (changes.py)."""
        from tui.store.changes import POLL_SECONDS, ChangeWatcher

        return ChangeWatcher(
            self, on_change, since=since, interval=interval or POLL_SECONDS
        ).start()
