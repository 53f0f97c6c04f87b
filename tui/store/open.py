"""Open the history the settings ask for: the local SQLite file, or a team's PostgreSQL.

Every command and the app open their store here, so `[history] url` (or SENDWATCH_DATABASE_URL)
switches all of them at once.
"""

from __future__ import annotations

from tui.config import Settings
from tui.store.base import Store


def open_store(settings: Settings) -> Store:
    """The store for these settings. Raises a `StoreError` (one line naming the history and the
    cause; `StoreUnreachable`, exit code 2, when a shared server cannot be used at all)."""
    url = settings.history.url.reveal()
    if url:
        from tui.store.postgres import PostgresStore

        return PostgresStore(url)
    from tui.store.sqlite import SQLiteStore

    return SQLiteStore(settings.history_path())


def describe(settings: Settings) -> str:
    """Where the history is, safe to show (a URL's password is never part of it)."""
    url = settings.history.url.reveal()
    if url:
        from tui.store.postgres_errors import redact_url

        return f"PostgreSQL {redact_url(url)}"
    return f"SQLite {settings.history_path()}"
