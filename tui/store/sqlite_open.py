"""Opening the SQLite history: only damage moves a file aside; every other failure is reported.

* "not a database" / "malformed" (SQLITE_NOTADB, SQLITE_CORRUPT): the file is moved aside (never
  deleted) with a warning that says where it went, and a new history is started.
* locked past the busy timeout, read-only, I/O error, disk full, or written by a newer sendwatch:
  a `StoreError` (subclass) naming the file and the cause in one line; the file is left as it was.
Opening also runs `PRAGMA quick_check` (bounded in time on a large file: what was not reached is
checked as it is read), and tolerates several instances switching a fresh file to WAL at once
(SQLITE_BUSY / SQLITE_PROTOCOL are retried within the busy timeout). A malformed page found by a
later read leaves a marker beside the file, so the next open checks the whole file and sets it aside.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tui.errors import StoreError
from tui.store.errors import StoreDamaged, StoreFull, StoreLocked, StoreReadOnly
from tui.store.schema import NewerSchema, migrate

#: How long the integrity check at open may take on a large file (seconds).
CHECK_SECONDS = 1.5

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
    """The file beside the history that says a later read found it damaged."""
    return path.with_name(f"{path.name}.damaged")


def mark_damaged(path: Path) -> None:
    try:
        damage_marker(path).touch()
    except OSError:
        pass  # the next open's bounded check is then all there is


def connect(path: Path, timeout: float) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=timeout, check_same_thread=False, isolation_level=None)


@dataclass
class Opened:
    db: sqlite3.Connection
    warnings: list[str] = field(default_factory=list)
    #: what the integrity check at open covered
    integrity: str = "checked whole"


def open_file(path: Path, timeout: float, check_seconds: float | None) -> Opened:
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
        problem, whole = quick_check(db, None if marker.exists() else check_seconds)
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
    marker.unlink(missing_ok=True)
    covered = "checked whole" if whole else f"checked for {check_seconds:g} s (a large file)"
    return Opened(db, integrity=covered)


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


def quick_check(db: sqlite3.Connection, seconds: float | None) -> tuple[str | None, bool]:
    """(the first problem found or None, whether the whole file was checked within `seconds`).

    The check is one long step of SQLite's (a progress handler is never called during it), so it
    is bounded by interrupting the connection from a timer."""
    if seconds is not None and seconds <= 0:
        return None, False
    timer = threading.Timer(seconds, db.interrupt) if seconds is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        rows = db.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.OperationalError as exc:
        if primary_code(exc) == _INTERRUPT:
            return None, False
        raise
    finally:
        if timer is not None:
            timer.cancel()
            timer.join()  # an interrupt after the check is a no-op; none can land after this
    result = rows[0][0] if rows else "ok"
    return (None if result == "ok" else str(result)), True


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
        return StoreReadOnly(f"the history's {where} cannot be written: read-only ({cause})")
    if exc.errno == errno.ENOSPC:
        return StoreFull(f"the history's {where} cannot be written: the disk is full")
    return StoreError(f"the history's {where} cannot be used: {cause}")
