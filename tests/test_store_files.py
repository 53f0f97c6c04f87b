"""The SQLite history file when something is wrong with it: only damage moves a file aside.

Locked (another process holding it), read-only (a file or a directory we may not write; as root the
store runs in a child process without the capabilities that override file modes), full, damaged past its first
pages (found at open, by the background check of a large file, or by a later read), and many instances
opening a fresh file at once. Real files, real processes; nothing here is simulated.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.test_store import message
from tests.test_team import wait_until
from tui.ids import MessageRef
from tui.model import Provider, Status
from tui.store import (
    ListFilter,
    SQLiteStore,
    StoreDamaged,
    StoreError,
    StoreFull,
    StoreLocked,
)
from tui.store.sqlite_open import damage_marker

ROOT = Path(__file__).resolve().parent.parent
#: holds the file's lock from another process until its stdin closes
HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""


def _filled(path: Path, count: int = 20, body: str = "hello") -> None:
    store = SQLiteStore(path)
    store.track([MessageRef(message(i).id, Provider.SENTDM) for i in range(count)])
    for i in range(count):
        store.record_fetch(message(i, body=f"{body} {i}" * 20), next_poll=None, fetched_at=1.0)
    store.close()


def _holding_lock(path: Path) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "locked"
    return child


def _release(child: subprocess.Popen) -> None:
    child.stdin.close()
    child.wait(timeout=60)


def _no_asides(directory: Path) -> bool:
    return not list(directory.glob("*.corrupt-*"))


def test_a_file_locked_by_another_process_is_reported_not_moved(tmp_path: Path) -> None:
    """A rollback-journal file (an older tool, or sendwatch before WAL) held by BEGIN EXCLUSIVE."""
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE precious (x)")
    db.execute("INSERT INTO precious VALUES ('kept')")
    db.commit()
    db.close()
    child = _holding_lock(path)
    try:
        with pytest.raises(StoreLocked) as info:
            SQLiteStore(path, timeout=0.3)
    finally:
        _release(child)
    text = str(info.value)
    assert str(path) in text and "locked by another process" in text and "\n" not in text
    assert _no_asides(tmp_path) and path.exists()
    store = SQLiteStore(path)  # once the other process is done, the same file opens and migrates
    try:
        assert not store.warnings and store._read("SELECT x FROM precious") == [("kept",)]
    finally:
        store.close()


def test_a_write_blocked_by_another_process_is_reported_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    _filled(path, 3)
    store = SQLiteStore(path, timeout=0.3)
    try:
        child = _holding_lock(path)
        try:
            assert store.count() == 3  # WAL: reading goes on while another process writes
            with pytest.raises(StoreLocked, match="locked by another process"):
                store.track([MessageRef(message(9).id, Provider.SENTDM)])
        finally:
            _release(child)
        assert store.track([MessageRef(message(9).id, Provider.SENTDM)]) == 1
        assert store.count() == 4 and _no_asides(tmp_path)
    finally:
        store.close()


# -- read-only: root writes whatever the modes say, so as root the store runs in a child process
# without the capabilities that override file permissions (it is then bound by them like anyone).
WITHOUT_OVERRIDE = (
    ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner,-linux_immutable"]
    if os.geteuid() == 0
    else []
)


def _run_unprivileged(code: str, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [*WITHOUT_OVERRIDE, sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


OPEN = """
import sys
from tui.store import SQLiteStore, StoreError
try:
    store = SQLiteStore(sys.argv[1], timeout=1)
    store.track([])
    print("opened")
except StoreError as exc:
    print(type(exc).__name__, "|", exc)
"""


def test_a_read_only_file_is_reported_not_moved(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    _filled(path, 2)
    path.chmod(0o444)
    out = _run_unprivileged(OPEN, str(path))
    assert out.stdout.startswith("StoreReadOnly | "), out.stdout + out.stderr
    assert str(path) in out.stdout and "read-only" in out.stdout and "Traceback" not in out.stderr
    assert _no_asides(tmp_path) and path.exists()
    path.chmod(0o644)
    store = SQLiteStore(path)
    assert store.count() == 2 and not store.warnings
    store.close()


def test_a_read_only_directory_is_reported(tmp_path: Path) -> None:
    place = tmp_path / "data"
    place.mkdir()
    place.chmod(0o555)
    out = _run_unprivileged(OPEN, str(place / "history.sqlite3"))
    assert out.stdout.startswith("StoreReadOnly | "), out.stdout + out.stderr
    assert "read-only" in out.stdout and "Traceback" not in out.stderr


LEASE = """
import sys
from pathlib import Path
from tui.store.lease import FileLease
lease = FileLease(Path(sys.argv[1]), "sentdm-0123")
print(lease.try_acquire(), "|", lease.describe())
"""


def test_a_lease_in_a_read_only_directory_says_so_instead_of_raising(tmp_path: Path) -> None:
    place = tmp_path / "data"
    place.mkdir()
    place.chmod(0o555)
    out = _run_unprivileged(LEASE, str(place / "history.sqlite3"))
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    held, said = out.stdout.strip().split(" | ")
    assert held == "False"
    assert said.startswith("cannot take the polling lease: ") and said.endswith(
        "history.sqlite3.poll-sentdm-0123.lock: read-only (permission denied)"
    )


def test_a_full_disk_is_reported_and_keeps_what_was_stored(tmp_path: Path) -> None:
    """SQLite's own limit on the file's size gives the same SQLITE_FULL a full disk does."""
    store = SQLiteStore(tmp_path / "h.sqlite3")
    try:
        store.track([MessageRef(message(0).id, Provider.SENTDM)])
        pages = store._writer.execute("PRAGMA page_count").fetchone()[0]
        store._writer.execute(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(StoreFull, match="full") as info:
            store.record_fetches([(message(i, body="x" * 4000), None, 1.0) for i in range(1, 200)])
        assert str(tmp_path / "h.sqlite3") in str(info.value)
        assert store.count() == 1 and store.row(message(0).id) is not None
        assert store.row(message(1).id) is None  # the batch is all or nothing
    finally:
        store.close()


# -- damage beyond the first pages --------------------------------------------------------------
def _damage_middle(path: Path) -> None:
    """Overwrite a page of the messages table's content in the middle of the file with garbage."""
    db = sqlite3.connect(path)
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    assert pages > 20 and not Path(f"{path}-wal").exists()
    with open(path, "r+b") as f:
        for page in range(pages // 3, pages // 3 + 4):
            f.seek(page * page_size)
            f.write(bytes((i * 37 + page) % 251 for i in range(page_size)))


def test_damage_past_the_first_pages_is_found_at_open(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    _filled(path, 300)
    _damage_middle(path)
    store = SQLiteStore(path)
    try:
        assert store.count() == 0 and store.integrity == "checked whole"
        (warning,) = store.warnings
        aside = next(tmp_path.glob("h.sqlite3.corrupt-*"))
        assert str(aside) in warning and "moved to" in warning
    finally:
        store.close()


def test_damage_found_by_a_later_read_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    _filled(path, 300)
    _damage_middle(path)
    store = SQLiteStore(path, check_at_open_bytes=0, check_in_background=False)  # "too large"
    try:
        assert store.integrity == "left to the background" and not store.warnings
        with pytest.raises(StoreDamaged) as info:
            list(store.iter_snapshots(ListFilter()))  # `export` reads every row
        text = str(info.value)
        assert str(path) in text and "malformed" in text and "\n" not in text
        assert isinstance(info.value, StoreError) and info.value.exit_code != 0
        assert store.row(message(299).id) is not None  # undamaged rows are still readable
    finally:
        store.close()
    assert damage_marker(path).exists() and _no_asides(tmp_path)
    again = SQLiteStore(path, check_at_open_bytes=0)  # the marker asks for the whole check
    try:
        assert again.count() == 0 and "moved to" in again.warnings[0]
        assert not damage_marker(path).exists()
    finally:
        again.close()


def test_damage_in_a_large_file_is_found_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    _filled(path, 300)
    _damage_middle(path)
    store = SQLiteStore(path, check_at_open_bytes=0)  # as if it were too large to check at open
    try:
        assert store.count() >= 0  # opened at once; the check runs beside
        wait_until(lambda: store.integrity.startswith("damaged: "), "the check found nothing")
        assert damage_marker(path).exists() and "restart sendwatch" in store.warnings[-1]
    finally:
        store.close()
    again = SQLiteStore(path, check_at_open_bytes=0)
    try:
        assert again.count() == 0 and "moved to" in again.warnings[0]
    finally:
        again.close()
    clean = tmp_path / "clean.sqlite3"
    _filled(clean, 30)
    store = SQLiteStore(clean, check_at_open_bytes=0)
    try:
        wait_until(lambda: store.integrity == "checked whole in the background", "never checked")
        assert not store.warnings
    finally:
        store.close()


def test_config_check_reports_a_read_only_history_in_one_line(tmp_path: Path) -> None:
    """`sendwatch config check` exits 2 naming the file and the cause; nothing is moved."""
    data = tmp_path / "data"
    data.mkdir()
    path = data / "history.sqlite3"
    _filled(path, 1)
    path.chmod(0o444)
    code = "import sys; from tui.cli import main; sys.exit(main(['config', 'check']))"
    env = {"SENDWATCH_DATA_DIR": str(data), "SENDWATCH_CONFIG": str(tmp_path / "none.toml")}
    out = _run_unprivileged(code, env=env)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stdout + out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("history:"))
    assert "NOT reachable" in line and "read-only" in line and str(path) in line
    assert _no_asides(data)


def _open_at_once(path: Path, count: int) -> tuple[list[SQLiteStore], list[BaseException]]:
    stores: list[SQLiteStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def open_one() -> None:
        try:
            start.wait()
            stores.append(SQLiteStore(path))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stores, errors


def test_many_instances_opening_a_fresh_file_at_once(tmp_path: Path) -> None:
    """Switching a new file to WAL from many connections at once can answer SQLITE_BUSY or
    SQLITE_PROTOCOL: opening retries within the busy timeout instead of failing."""
    for round_ in range(6):
        stores, errors = _open_at_once(tmp_path / f"fresh-{round_}.sqlite3", 8)
        assert not errors and len(stores) == 8
        assert not any(s.warnings for s in stores) and _no_asides(tmp_path)
        stores[0].record_fetch(message(round_, Status.SENT, "sent"), next_poll=None)
        assert all(s.count() == 1 for s in stores)
        for s in stores:
            s.close()


def test_closing_while_threads_write_and_read_waits_for_them(tmp_path: Path) -> None:
    """The app leaving while worker threads still write and read (a poll answer being stored,
    the alert engine reading): `close` waits for the statement in flight and refuses what comes
    after with a StoreError. Closing a connection under a running statement crashed the process
    (a segfault seen in CI)."""
    from tui.errors import StoreError

    store = SQLiteStore(tmp_path / "history.sqlite3")
    started, problems = threading.Barrier(3), []
    done = [0, 0]

    def work(index: int) -> None:
        started.wait(30)
        try:
            while True:
                if index == 0:
                    store.record_fetch(message(done[0] % 50), next_poll=1.0, fetched_at=1.0)
                else:
                    store.count()
                    store.last_push(message(0).provider)
                done[index] += 1
        except StoreError:
            return  # closed: refused, as it should be
        except BaseException as exc:  # noqa: BLE001 - anything else is the failure
            problems.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    started.wait(30)
    deadline = time.monotonic() + 30
    while min(done) < 20 and time.monotonic() < deadline:  # both are busy
        time.sleep(0.001)
    store.close()
    for thread in threads:
        thread.join(30)
    assert min(done) >= 20 and problems == [] and not any(t.is_alive() for t in threads)
    with pytest.raises(StoreError, match="closed"):
        store.count()
