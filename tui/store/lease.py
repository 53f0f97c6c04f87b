"""The polling lease: at most one holder per provider account among the instances sharing a history.

The lease is the operating system's or the database's own lock, so it is released the moment its
holder dies:
  * SQLite history: an exclusive `flock` on a file beside the history (`<history>.poll-<account>.lock`);
  * PostgreSQL: a session advisory lock held on a connection of its own.
Each holder writes who it is ("host:pid") so the others can say who polls. A lease that cannot be
taken at all (a read-only data directory, an unreachable server) never raises out of `try_acquire`:
it says why in `problem`, and `describe()` shows that instead of a holder.

Which lease fits is the store's business (`Store.lease(account)`); tui/polling/election.py names the
accounts and elects.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from tui.textsafe import safe_text

LOCK_SPACE = 0x5E4D  # first key of PostgreSQL's two-key advisory locks: sendwatch's pollers


def me() -> str:
    """This instance, as other instances see it: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease(ABC):
    """Try to become the poller of one account; hold it until `release` (or the process ends)."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.held = False
        #: why the lease cannot be taken right now (one line), or None
        self.problem: str | None = None

    @abstractmethod
    def try_acquire(self) -> bool:
        """True when this instance holds the lease now (idempotent); never blocks, never raises."""

    @abstractmethod
    def release(self) -> None: ...

    @abstractmethod
    def holder(self) -> str | None:
        """Who holds it ("host:pid"), as far as can be told; None when nobody does."""

    def describe(self) -> str:
        """What the status line says: "polling here" / "polled by host:pid" / why it cannot poll."""
        if self.held:
            return "polling here"
        if self.problem:
            return self.problem
        who = self.holder()
        return f"polled by {who}" if who else "waiting to poll"


class FileLease(Lease):
    """`flock` on a file beside the SQLite history; the kernel drops it when the process dies."""

    def __init__(self, history: Path, account: str) -> None:
        super().__init__(account)
        self.path = history.with_name(f"{history.name}.poll-{account}.lock")
        self._fd: int | None = None
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        import fcntl

        with self._lock:
            if self.held:
                return True
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                self.problem = f"cannot take the polling lease: {self.path}: {_cause(exc)}"
                return False
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                self.problem = None  # someone else holds it: that is no problem
                return False
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, me().encode(), 0)
            except OSError:
                pass  # held all the same; only the holder's name could not be written
            self._fd, self.held, self.problem = fd, True, None
            return True

    def release(self) -> None:
        with self._lock:
            if self._fd is not None:
                try:
                    os.ftruncate(self._fd, 0)
                except OSError:
                    pass
                finally:
                    os.close(self._fd)  # closing drops the flock
            self._fd, self.held = None, False

    def holder(self) -> str | None:
        if self.held:
            return me()
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None
        return (
            safe_text(text, single_line=True, limit=60) or None
        )  # another process wrote it: data, not trusted


class PgLease(Lease):
    """A session advisory lock on a dedicated connection; PostgreSQL drops it when that session ends."""

    def __init__(self, url: str, account: str, where: str) -> None:
        super().__init__(account)
        self._url = url
        self._where = where  # the redacted URL: what may be shown
        self.key = struct.unpack(
            ">i", hashlib.sha256(f"sendwatch-poller\0{account}".encode()).digest()[:4]
        )[0]
        self._conn: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PgLease({self._where!r}, {self.account!r})"

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(
            self._url,
            autocommit=True,
            connect_timeout=10,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
        )

    def try_acquire(self) -> bool:
        import psycopg

        with self._lock:
            try:
                if self.held and self._conn is not None:
                    self._conn.execute("SELECT 1")  # still ours only while the session lives
                    return True
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                got = self._conn.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, self.key)
                ).fetchone()[0]
                if got:
                    self._conn.execute(
                        "INSERT INTO poller_holders VALUES (%s, %s, extract(epoch from now())) "
                        "ON CONFLICT (account) DO UPDATE SET holder = excluded.holder, since = excluded.since",
                        (self.account, me()),
                    )
                self.held, self.problem = bool(got), None
                return self.held
            except psycopg.Error as exc:
                self._drop()
                self.problem = f"cannot take the polling lease: {self._where}: {_pg_cause(exc)}"
                return False

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close
                pass
        self._conn, self.held = None, False

    def release(self) -> None:
        with self._lock:
            self._drop()  # ending the session releases the advisory lock

    def holder(self) -> str | None:
        import psycopg

        if self.held:
            return me()
        try:
            with self._lock:
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()  # kept: a waiting instance asks every few seconds
                row = self._conn.execute(
                    "SELECT h.holder FROM poller_holders h WHERE h.account = %s AND EXISTS (SELECT 1 FROM pg_locks l "
                    "WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid::bigint = (%s::bigint & 4294967295) "
                    "AND l.objsubid = 2 AND l.granted)",
                    (self.account, LOCK_SPACE, self.key),
                ).fetchone()
        except psycopg.Error:
            with self._lock:
                self._drop()
            return None
        return safe_text(row[0], single_line=True, limit=60) if row else None


def _cause(exc: OSError) -> str:
    """ "read-only (...)" for the errors a place we may not write gives, else the system's words."""
    import errno

    if exc.errno == errno.EROFS:
        return "read-only (read-only file system)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "read-only (permission denied)"
    return exc.strerror or type(exc).__name__


def _pg_cause(exc: Exception) -> str:
    from tui.store.postgres_errors import reason

    return reason(exc)
