"""What can go wrong with the history, as one error type out of both backends.

Every failure of the database leaves the store as a `StoreError` (tui/errors.py) or one of the
subclasses below, whose message names the history (a file, or a redacted server URL) and the cause
in one line. Nothing outside tui/store/ needs to know sqlite3's or psycopg's exceptions. Only
`StoreDamaged` ever leads to a file being moved aside; everything else is reported and loses nothing.
"""

from __future__ import annotations

from tui.errors import StoreError

__all__ = [
    "StoreDamaged",
    "StoreError",
    "StoreFull",
    "StoreLocked",
    "StoreReadOnly",
    "StoreUnreachable",
]


class StoreLocked(StoreError):
    """Another process held the history locked for longer than the busy timeout."""


class StoreReadOnly(StoreError):
    """The history (or its directory) cannot be written: permissions, a read-only disk or role."""


class StoreFull(StoreError):
    """The disk (or the server's) is full: the write was not made, nothing stored was lost."""


class StoreDamaged(StoreError):
    """The file is not a database, or a page of it is malformed."""


class StoreUnreachable(StoreError):
    """The shared PostgreSQL history cannot be reached or used at all (as a bad setting: exit 2)."""

    exit_code = 2
