"""The change feed: other instances see every write, without a global lock on PostgreSQL.

PostgreSQL revisions are the writing transaction's id and a reader only moves past what its
snapshot's xmin proves finished, so concurrent writers commit in any order and a watcher still
never steps over one. The watcher also says when it is failing, and recovers by itself.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pytest

from tests.test_store import message
from tests.test_team import wait_until
from tui.ids import MessageRef
from tui.model import Provider, Status
from tui.store.changes import ChangeWatcher

BOUND = 60.0


def _collect(store) -> tuple[ChangeWatcher, list[str]]:
    """A watcher driven by hand (`check()`), and every id it handed out."""
    seen: list[str] = []
    watcher = ChangeWatcher(store, lambda changes: seen.extend(changes.ids), since=0)
    return watcher, seen


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_later_writer_commits_first_and_nothing_is_stepped_over(open_store) -> None:
    """A writes (uncommitted), B writes and commits, the reader looks, A commits, the reader looks:
    A's row must still arrive. B must not have waited for A (no global lock)."""
    first, second, reader = open_store(), open_store(), open_store()
    watcher, seen = _collect(reader)
    first_wrote, first_may_commit, second_done = (threading.Event() for _ in range(3))

    def slow_writer() -> None:
        with first.transaction():
            first.record_fetch(message(1, Status.SENT, "sent"), next_poll=None, fetched_at=1.0)
            first_wrote.set()
            first_may_commit.wait(BOUND)

    def quick_writer() -> None:
        second.record_fetch(message(2, Status.SENT, "sent"), next_poll=None, fetched_at=2.0)
        second_done.set()

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert first_wrote.wait(BOUND)
    quick = threading.Thread(target=quick_writer)
    quick.start()
    try:
        assert second_done.wait(BOUND), "the second writer waited for the first: a global lock"
        watcher.check()
        assert seen == [message(2).id]
    finally:
        first_may_commit.set()
        slow.join(BOUND)
        quick.join(BOUND)
    watcher.check()
    assert sorted(seen) == sorted([message(1).id, message(2).id])
    watcher.check()
    assert len(seen) == 2  # handed out once each, though the first look could not move past A


def test_concurrent_writers_never_make_a_watcher_skip_a_change(open_store) -> None:
    writers = [open_store(), open_store()]
    watcher, seen = _collect(open_store())
    done = threading.Event()
    errors: list[BaseException] = []

    def write(store, offset: int) -> None:
        try:
            for i in range(offset, offset + 150):
                if i % 3 == 0:  # some transactions write several rows, some one
                    with store.transaction():
                        store.track([MessageRef(message(i).id, Provider.SENTDM)])
                        store.record_fetch(message(i), next_poll=1.0, fetched_at=1.0)
                else:
                    store.record_fetch(message(i), next_poll=1.0, fetched_at=1.0)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    def read() -> None:
        while not done.is_set():
            watcher.check()

    reading = threading.Thread(target=read)
    reading.start()
    threads = [threading.Thread(target=write, args=(s, k * 150)) for k, s in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reading.join(BOUND)
    watcher.check()
    assert not errors
    assert set(seen) == {message(i).id for i in range(300)}


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_failing_watcher_says_so_and_recovers(open_store, pg_server) -> None:
    """The watcher's connection is cut and, for a while, no new one is allowed."""
    import psycopg

    writer, reader = open_store(), open_store()
    database = urlsplit(open_store.url).path.lstrip("/")
    seen: list[str] = []
    watcher = reader.watch_changes(lambda changes: seen.extend(changes.ids))
    try:
        assert watcher.ready.wait(BOUND) and watcher.state() == "live"
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{database}" CONNECTION LIMIT 0')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND query LIKE 'LISTEN%%'",
                (database,),
            )
            wait_until(lambda: watcher.failing, "the watcher never said it was failing")
            assert watcher.errors >= 3 and "cannot be reached" in watcher.last_error
            assert watcher.state().startswith("not following other instances' changes (")
            assert pg_server.password not in watcher.last_error
            admin.execute(f'ALTER DATABASE "{database}" CONNECTION LIMIT -1')
        wait_until(lambda: not watcher.failing, "the watcher did not recover")
        writer.track([MessageRef(message(1).id, Provider.SENTDM)])
        wait_until(lambda: message(1).id in seen, "no change arrived after recovering")
        assert watcher.state() == "live"
    finally:
        watcher.stop(wait=5)


def test_the_watcher_counts_nothing_when_all_is_well(open_store) -> None:
    store = open_store()
    watcher = store.watch_changes(lambda changes: None, interval=0.05)
    try:
        wait_until(lambda: watcher.rounds >= 3, "the watcher did not look three times")
        assert watcher.errors == 0 and watcher.last_error is None and not watcher.failing
    finally:
        watcher.stop(wait=5)
