"""Opening the SQLite history: only damage moves a file aside; every other failure is reported.

* "not a database" / "malformed" (SQLITE_NOTADB, SQLITE_CORRUPT): the file is moved aside (never
  deleted) with a warning that says where it went, and a new history is started.
* locked past the busy timeout, read-only, I/O error, disk full, or written by a newer sendwatch:
  a `StoreError` (subclass) naming the file and the cause in one line; the file is left as it was.
Opening checks the whole file with `PRAGMA quick_check` when it is small (up to 32 MiB, about 20,000
messages: tens of milliseconds); a larger one is checked beside the app, on a connection of its own
(`IntegrityCheck`), so start-up does not wait for it. Whatever damage a background check or a later
read finds leaves a marker beside the file: the next open checks the whole file before anything
else and sets it aside. Opening also tolerates several instances switching a fresh file to WAL at
once (SQLITE_BUSY / SQLITE_PROTOCOL are retried within the busy timeout).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tui.errors import StoreError
from tui.store.errors import StoreDamaged, StoreFull, StoreLocked, StoreReadOnly
from tui.store.schema import NewerSchema, migrate

#: Files up to this size are checked whole before opening returns; larger ones in the background.
CHECK_AT_OPEN_BYTES = 32 * 1024 * 1024

_BUSY, _LOCKED, _READONLY, _INTERRUPT, _IOERR = 5, 6, 8, 9, 10
_CORRUPT, _FULL, _CANTOPEN, _PROTOCOL, _NOTADB = 11, 13, 14, 15, 26


def primary_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def store_error(exc: sqlite3.Error, path: Path, timeout: float) -> StoreError:
    """The store's one-line error for a SQLite failure on the history at `path`."""
    code, cause = primary_code(exc), str(exc) or type(exc).__name__
    if code in (_BUSY, _LOCKED):
        return StoreLocked(
            f"the history {path} is locked by another process (waited {timeout:g} s); "
            "nothing was changed: try again when it is done"
        )
    if code == _READONLY or (code == _CANTOPEN and not _writable(path)):
        return StoreReadOnly(f"the history {path} cannot be written: read-only ({cause})")
    if code == _FULL:
        return StoreFull(f"the history {path} cannot grow: the disk is full ({cause})")
    if code in (_CORRUPT, _NOTADB):
        return StoreDamaged(f"the history {path} is damaged ({cause})")
    if code == _IOERR:
        return StoreError(f"the history {path} could not be read or written: {cause}")
    return StoreError(f"the history {path} failed: {cause}")


def _writable(path: Path) -> bool:
    target = path if path.exists() else path.parent
    return os.access(target, os.W_OK)


def damage_marker(path: Path) -> Path:
    """The file beside the history that says a read (or the background check) found it damaged."""
    return path.with_name(f"{path.name}.damaged")


def mark_damaged(path: Path) -> None:
    try:
        damage_marker(path).touch()
    except OSError:
        pass  # a read-only place: each read of the bad page still says so


def connect(path: Path, timeout: float) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=timeout, check_same_thread=False, isolation_level=None)


@dataclass
class Opened:
    db: sqlite3.Connection
    warnings: list[str] = field(default_factory=list)
    #: what the integrity check at open did: "checked whole", or "left to the background"
    integrity: str = "checked whole"


def open_file(path: Path, timeout: float, check_at_open_bytes: int) -> Opened:
    """The writer connection on a usable history at `path` (set aside and started anew if damaged)."""
    if str(path) != ":memory:":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_error(exc, path.parent) from None
    try:
        db = _connect_wal(path, timeout)
    except sqlite3.Error as exc:
        return _damaged_or_raise(path, timeout, store_error(exc, path, timeout), exc)
    try:
        _check_writable(path)
    except StoreError:
        db.close()
        raise
    marker = damage_marker(path)
    try:
        migrate(db)
        db.execute("SELECT seq, id, status FROM messages LIMIT 1").fetchall()
        whole = marker.exists() or _size(path) <= check_at_open_bytes
        problem = quick_check(db) if whole else None
    except NewerSchema as exc:
        db.close()
        raise StoreError(
            f"the history {path} {exc}: upgrade sendwatch to use it (it was left as it is)"
        ) from None
    except sqlite3.Error as exc:
        db.close()
        return _damaged_or_raise(path, timeout, store_error(exc, path, timeout), exc)
    if problem is not None:
        db.close()
        return _start_anew(path, timeout, f"damaged: {problem}")
    if whole:
        marker.unlink(missing_ok=True)
    return Opened(db, integrity="checked whole" if whole else "left to the background")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _check_writable(path: Path) -> None:
    """SQLite opens a file it may not write read-only, and says so only at the first write (a
    poll answer, minutes later): ask the system now."""
    if str(path) == ":memory:":
        return
    for suffix in ("", "-wal", "-shm"):
        try:
            os.close(os.open(f"{path}{suffix}", os.O_RDWR))
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise _os_error(exc, Path(f"{path}{suffix}")) from None


def _damaged_or_raise(path: Path, timeout: float, error: StoreError, exc: Exception) -> Opened:
    if isinstance(error, StoreDamaged):
        return _start_anew(path, timeout, str(exc))
    raise error from exc


def _connect_wal(path: Path, timeout: float) -> sqlite3.Connection:
    """Connect and switch to WAL. Instances opening a fresh file at once may see SQLITE_BUSY or
    SQLITE_PROTOCOL while another one switches it: those are retried until the busy timeout."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        db = connect(path, timeout)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError as exc:
            db.close()
            if primary_code(exc) not in (_BUSY, _PROTOCOL) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)  # another instance is switching the file to WAL: let it finish
            delay = min(delay * 2, 0.1)
        except BaseException:
            db.close()
            raise


def quick_check(db: sqlite3.Connection) -> str | None:
    """The first problem `PRAGMA quick_check` finds in the whole file, or None."""
    try:
        rows = db.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError as exc:
        if primary_code(exc) in (_CORRUPT, _NOTADB):
            return str(exc)
        raise
    result = rows[0][0] if rows else "ok"
    return None if result == "ok" else str(result)


class IntegrityCheck:
    """`quick_check` of a large history in a daemon thread, on a connection of its own; calls
    `on_done(problem or None)` when it finishes, and nothing if it was stopped or could not run."""

    def __init__(self, path: Path, timeout: float, on_done: Callable[[str | None], None]) -> None:
        self._path, self._timeout, self._on_done = path, timeout, on_done
        self._db: sqlite3.Connection | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sendwatch-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._lock:
                if self._stopped.is_set():
                    return
                self._db = connect(self._path, self._timeout)
            problem = quick_check(self._db)
        except sqlite3.Error:
            return  # interrupted by stop(), or the file is busy: the reads will tell
        finally:
            with self._lock:
                if self._db is not None:
                    self._db.close()
                    self._db = None
        if not self._stopped.is_set():
            self._on_done(problem)

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
            if self._db is not None:
                self._db.interrupt()
        self._thread.join(timeout=10)


def _start_anew(path: Path, timeout: float, cause: str) -> Opened:
    """A damaged file is moved aside, never deleted, and a fresh one started."""
    aside = _move_aside(path)
    damage_marker(path).unlink(missing_ok=True)
    warning = (
        f"The history file {path} could not be read ({cause}); "
        f"it was moved to {aside} and a new one started."
    )
    try:
        db = _connect_wal(path, timeout)
        migrate(db)
    except sqlite3.Error as exc:
        raise store_error(exc, path, timeout) from exc
    return Opened(db, [warning])


def _move_aside(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        try:
            src.replace(Path(str(aside) + suffix))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _os_error(exc, src) from None
    return aside


def _os_error(exc: OSError, where: Path) -> StoreError:
    cause = exc.strerror or type(exc).__name__
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreReadOnly(f"the history at {where} cannot be written: read-only ({cause})")
    if exc.errno == errno.ENOSPC:
        return StoreFull(f"the history at {where} cannot be written: the disk is full")
    return StoreError(f"the history at {where} cannot be used: {cause}")
