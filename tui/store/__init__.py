"""The history: one contract every caller types against (`Store`), and its two backends.

Callers outside `tui/store/` import from here only: `Store` (the contract), `SQLiteStore` (the
local file), `PostgresStore` (a team's server; loaded on first use), the row types, the errors
(`StoreError` and its subclasses) and `Lease`; and `open_store` / `describe` from `tui.store.open`
(the file or the server, as the settings say). No Textual here, and nothing outside needs sqlite3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui.store.base import Store
from tui.store.changes import ChangeSignal, ChangeWatcher
from tui.store.errors import (
    StoreDamaged,
    StoreError,
    StoreFull,
    StoreLocked,
    StoreReadOnly,
    StoreUnreachable,
)
from tui.store.lease import Lease
from tui.store.rows import Changes, FetchOutcome, ListFilter, Row, Stored
from tui.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from tui.store.postgres import PostgresStore

__all__ = [
    "ChangeSignal",
    "ChangeWatcher",
    "Changes",
    "FetchOutcome",
    "Lease",
    "ListFilter",
    "PostgresStore",
    "Row",
    "SQLiteStore",
    "Store",
    "StoreDamaged",
    "StoreError",
    "StoreFull",
    "StoreLocked",
    "StoreReadOnly",
    "StoreUnreachable",
    "Stored",
]


def __getattr__(name: str) -> Any:
    """`PostgresStore` loads psycopg: only when a team's server is used."""
    if name == "PostgresStore":
        from tui.store.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module 'tui.store' has no attribute {name!r}")
