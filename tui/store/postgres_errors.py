"""psycopg's errors as the store's: one line naming the shared history (URL redacted) and the cause.

The URL may hold a password: it is kept out of every message (see `redact_url`), and psycopg's own
messages, which may quote a connection string, are scrubbed too.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from tui.errors import StoreError
from tui.store.errors import StoreDamaged, StoreFull, StoreLocked, StoreReadOnly


def redact_url(url: str) -> str:
    """`postgresql://user:***@host:5432/db`: what may be shown of a database URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "postgresql://(unreadable URL)"
    host = parts.hostname or ""
    if port:
        host = f"{host}:{port}"
    user = (
        f"{parts.username}:***@"
        if parts.username and parts.password
        else (f"{parts.username}@" if parts.username else "")
    )
    return urlunsplit((parts.scheme, user + host, parts.path, "", ""))


def reason(exc: BaseException) -> str:
    """An error in words, on one line, without any connection string."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    text = re.sub(r"postgres(ql)?://\S+", "(the database URL)", text)
    return re.sub(r"password=\S+", "password=***", text)[:300]


def store_error(exc: BaseException, where: str, doing: str) -> StoreError:
    """The store's error for a psycopg (or pool) failure while `doing` ("read", "write", ...)."""
    import psycopg
    from psycopg import errors as e
    from psycopg_pool import PoolTimeout

    cause = reason(exc)
    if isinstance(exc, e.DiskFull):
        return StoreFull(f"the shared history at {where} is full: {cause}")
    if isinstance(exc, e.ReadOnlySqlTransaction | e.InsufficientPrivilege):
        return StoreReadOnly(
            f"the shared history at {where} refused a {doing}: read-only ({cause})"
        )
    if isinstance(exc, e.LockNotAvailable | e.DeadlockDetected | e.QueryCanceled):
        return StoreLocked(f"the shared history at {where} was locked: {cause}")
    if isinstance(exc, e.DataCorrupted | e.IndexCorrupted):
        return StoreDamaged(f"the shared history at {where} is damaged: {cause}")
    if isinstance(exc, PoolTimeout | psycopg.OperationalError):
        return StoreError(f"the shared history at {where} cannot be reached: {cause}")
    return StoreError(f"the shared history at {where} failed a {doing}: {cause}")
