"""One poller per provider account, whoever runs it: a lease that exactly one instance holds.

Rate limits are per account, so every instance that shares a history (two tmux windows on one
laptop, three people on one PostgreSQL) must leave polling to one of them. The lease is the
operating system's or the database's own lock, so it is released the moment its holder dies:
  * SQLite history: an exclusive `flock` on a file beside the history (`<history>.poll-<account>.lock`);
  * PostgreSQL: a session advisory lock held on a connection of its own.
The others keep trying every few seconds and take over within `RETRY` of the holder's end. Each
holder writes who it is ("host:pid"), so the status line can say who polls.

The account is a hash of provider, base URL and key: the key itself is never written anywhere.
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

from tui.config import Settings
from tui.model import Provider
from tui.textsafe import safe_text

RETRY = 3.0  # seconds between attempts by instances that do not hold a lease
LOCK_SPACE = 0x5E4D  # first key of PostgreSQL's two-key advisory locks: sendwatch's pollers


def me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def account_key(settings: Settings, provider: Provider | None) -> str:
    """A stable, non-secret name for a provider account (None: the loop for IDs of unknown owner)."""
    if provider is None:
        return "unresolved"
    p = settings.provider(provider)
    digest = hashlib.sha256(
        f"{provider.value}\0{p.base_url}\0{p.api_key.reveal()}".encode()
    ).hexdigest()[:16]
    return f"{provider.value}-{digest}"


class Lease(ABC):
    """Try to become the poller of one account; hold it until `release` (or the process ends)."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.held = False

    @abstractmethod
    def try_acquire(self) -> bool:
        """True when this instance holds the lease now (idempotent); never blocks."""

    @abstractmethod
    def release(self) -> None: ...

    @abstractmethod
    def holder(self) -> str | None:
        """Who holds it ("host:pid"), as far as can be told; None when nobody does."""

    def describe(self) -> str:
        """What the status line says: "polling here" / "polled by host:pid" / "nobody polls"."""
        if self.held:
            return "polling here"
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
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            os.ftruncate(fd, 0)
            os.pwrite(fd, me().encode(), 0)
            self._fd, self.held = fd, True
            return True

    def release(self) -> None:
        with self._lock:
            if self._fd is not None:
                try:
                    os.ftruncate(self._fd, 0)
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

    def __init__(self, url: str, account: str) -> None:
        super().__init__(account)
        self.url = url
        self.key = struct.unpack(
            ">i", hashlib.sha256(f"sendwatch-poller\0{account}".encode()).digest()[:4]
        )[0]
        self._conn: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(
            self.url,
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
                        "INSERT INTO poller_holders VALUES (%s, %s, extract(epoch from now())) ON CONFLICT (account) "
                        "DO UPDATE SET holder = excluded.holder, since = excluded.since",
                        (self.account, me()),
                    )
                self.held = bool(got)
                return self.held
            except psycopg.Error:
                self._drop()
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
            self._drop()
            return None
        return safe_text(row[0], single_line=True, limit=60) if row else None


def lease_for(settings: Settings, store: Any, provider: Provider | None) -> Lease:
    """The lease that fits the store the instance uses."""
    account = account_key(settings, provider)
    url = getattr(store, "url", None)
    if url:
        return PgLease(url, account)
    return FileLease(Path(store.path), account)
