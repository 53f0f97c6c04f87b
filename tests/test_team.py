"""A team on one account: one poller per account (election), every instance sees every change.

Both backends: SQLite (lock file, data_version) and a real PostgreSQL server (advisory lock,
LISTEN/NOTIFY). Instances are separate store objects — and, for a holder that dies, a separate
process killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.test_store import message
from tui.config import Secret, load
from tui.config_accounts import Account
from tui.ids import MessageRef
from tui.model import Provider, Status
from tui.polling.election import FileLease, PgLease, account_key, lease_for, me
from tui.store.changes import ChangeWatcher

BOUND = 60.0  # seconds any condition may take on a busy machine before the test fails


def wait_until(condition, what: str, bound: float = BOUND) -> None:
    """Poll `condition` every 20 ms until it holds; fail naming `what` after `bound` seconds."""
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


async def async_wait_until(condition, what: str, bound: float = BOUND) -> None:
    import asyncio

    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


def _settings(tmp_path: Path, key: str = "k-1234567890abcdef"):
    return load(tmp_path / "none.toml", env={"SENT_DM_API_KEY": key})


def test_account_key_is_stable_and_secret_free(tmp_path: Path) -> None:
    a, b = _settings(tmp_path), _settings(tmp_path, "another-key-000000")
    assert (
        account_key(a, Provider.SENTDM)
        == account_key(a, Provider.SENTDM)
        != account_key(b, Provider.SENTDM)
    )
    assert "k-1234567890abcdef" not in account_key(a, Provider.SENTDM)
    assert account_key(a, None) == "unresolved"


def _leases(backend: str, open_store, tmp_path: Path):
    store = open_store()
    settings = _settings(tmp_path)
    return (
        store,
        lease_for(settings, store, Provider.SENTDM),
        lease_for(settings, store, Provider.SENTDM),
    )


def test_one_instance_wins_and_the_other_takes_over(backend, open_store, tmp_path: Path) -> None:
    store, first, second = _leases(backend, open_store, tmp_path)
    assert isinstance(first, PgLease if backend == "postgresql" else FileLease)
    assert first.try_acquire() and first.try_acquire()  # idempotent for the holder
    assert not second.try_acquire()
    assert first.describe() == "polling here" and second.describe() == f"polled by {me()}"
    first.release()
    assert second.try_acquire() and not first.try_acquire()
    second.release()


HOLD = """
import sys
from pathlib import Path
from tui.config import load
from tui.model import Provider
from tui.polling.election import lease_for
from tui.store import PostgresStore, SQLiteStore
store = PostgresStore(sys.argv[2]) if sys.argv[2] else SQLiteStore(sys.argv[1])
settings = load(Path('/nonexistent.toml'), env={'SENT_DM_API_KEY': 'k-1234567890abcdef'})
lease = lease_for(settings, store, Provider.SENTDM)
assert lease.try_acquire()
print('held', flush=True)
sys.stdin.read()  # held until the test kills this process
"""


def test_a_killed_poller_is_replaced_within_seconds(backend, open_store, tmp_path: Path) -> None:
    store = open_store()
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "history.sqlite3"), open_store.url or ""],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert child.stdout.readline().strip() == "held"
        mine = lease_for(_settings(tmp_path), store, Provider.SENTDM)
        assert not mine.try_acquire() and mine.holder() and mine.holder().endswith(f":{child.pid}")
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        wait_until(mine.try_acquire, "nobody took over after the holder was killed")
        mine.release()
    finally:
        if child.poll() is None:
            child.kill()


def test_every_instance_sees_every_change(backend, open_store) -> None:
    writer, reader = open_store(), open_store()
    seen: list = []
    arrived = threading.Event()

    def on_change(changes) -> None:
        seen.append(changes)
        arrived.set()

    watcher = reader.watch_changes(on_change, interval=0.05)
    try:
        assert watcher.ready.wait(30), "the watcher never started listening"
        writer.track([MessageRef(message(1).id, Provider.SENTDM)])
        writer.record_fetch(
            message(1, Status.DELIVERED, "delivered"), next_poll=None, fetched_at=5.0
        )
        assert arrived.wait(30), "no change noticed"
        wait_until(lambda: message(1).id in {i for c in seen for i in c.ids}, "row not announced")
        ids = {i for c in seen for i in c.ids}
        assert ids == {message(1).id}  # exactly the written row, nothing else to re-read
        writer.forget(message(1).id)
        wait_until(lambda: any(c.truncated for c in seen), "no reload asked after a delete")
        assert watcher.errors == 0 and not watcher.failing and watcher.state() == "live"
    finally:
        watcher.stop(wait=5)


def test_no_change_means_no_callback(backend, open_store) -> None:
    store = open_store()
    calls: list = []
    watcher = ChangeWatcher(store, calls.append, interval=0.05).start()
    wait_until(lambda: watcher.rounds >= 3, "the watcher did not look three times")
    watcher.stop(wait=5)
    assert calls == [] and watcher.errors == 0


def test_the_database_password_never_shows(pg_server) -> None:
    from tui.store.postgres import PostgresStore, redact_url

    url = pg_server.create_database()
    password = pg_server.password
    store = PostgresStore(url)
    try:
        assert password not in repr(store) and password not in store.location
        assert password not in redact_url(url) and "***" in redact_url(url)
        lease = store.lease("sentdm-x")
        assert password not in repr(lease)
    finally:
        store.close()
    from tui.store import StoreUnreachable

    with pytest.raises(StoreUnreachable) as info:
        PostgresStore(url.replace(f":{pg_server.port}/", ":1/"))
    assert password not in str(info.value) and info.value.exit_code == 2
    settings = load(Path("/nonexistent.toml"), env={"SENDWATCH_DATABASE_URL": url})
    assert isinstance(settings.history.url, Secret) and password not in repr(settings)


# -- pollers sharing one store: exactly one polls each account ----------------------------------------
async def test_two_pollers_on_one_store_spend_one_budget(
    backend, open_store, settings, world, sim
) -> None:
    import asyncio
    from dataclasses import replace as dc_replace

    from tests.test_poller import FAST, live
    from tui.polling.poller import Poller
    from tui.providers.lookup import Providers

    live(world)
    msgs = [
        world.add_message(Provider.SENDO, [(0, "QUEUED"), (3600, "SENT")], created=-1)
        for _ in range(5)
    ]
    first_store, second_store = open_store(), open_store()
    first_store.track([MessageRef(m.id, Provider.SENDO) for m in msgs])
    policy = dc_replace(FAST, min_interval=0.5, max_interval=0.5)
    instances = []
    for store in (first_store, second_store):
        providers = Providers(settings)
        leases = {owner: lease_for(settings, store, owner) for owner in (*providers.clients, None)}
        poller = Poller(store, providers, policy, leases=leases)
        instances.append((poller, providers, asyncio.ensure_future(poller.run())))
    expected = sorted(["polling here", f"polled by {me()}"])

    def states() -> list:
        return sorted(str(p.lease_state.get(Account(Provider.SENDO))) for p, _, _ in instances)

    try:
        await async_wait_until(lambda: states() == expected, f"lease states {states()}")
        winner = next(
            i
            for i, (p, _, _) in enumerate(instances)
            if p.lease_state.get(Account(Provider.SENDO)) == "polling here"
        )
        loser = instances[1 - winner][0]
        assert (
            loser.stats.get(Account(Provider.SENDO)) is None
            or loser.stats[Account(Provider.SENDO)].requests == 0
        )
        # the winner leaves: the other takes over within the retry interval
        poller, providers, task = instances[winner]
        poller.stop()
        await task
        await providers.aclose()
        await async_wait_until(
            lambda: loser.lease_state.get(Account(Provider.SENDO)) == "polling here",
            "the other poller did not take over",
        )
        await async_wait_until(
            lambda: (
                loser.stats.get(Account(Provider.SENDO)) is not None
                and loser.stats[Account(Provider.SENDO)].requests > 0
            ),
            "the new holder made no request",
        )
    finally:
        for poller, providers, task in instances:
            poller.stop()
            await task
            await providers.aclose()


async def test_webhooks_make_polling_the_safety_net(open_store, settings, world) -> None:
    """A pushed status is not polled while webhooks flow; when they go silent, polling takes over."""
    import asyncio
    from dataclasses import replace as dc_replace

    from tests.test_poller import FAST, live
    from tui.model import Message
    from tui.polling.poller import Poller
    from tui.providers.lookup import Providers
    from tui.webhooks.apply import apply_push

    live(world)
    m = world.add_message(
        Provider.SENTDM, [(0, "QUEUED"), (1, "SENT"), (3600, "DELIVERED")], created=-5
    )
    store = open_store()
    store.track([MessageRef(m.id, Provider.SENTDM)])
    now = time.time()
    policy = dc_replace(FAST, webhook_recheck=900.0, webhook_silence=600.0)
    pushed = Message(m.id, Provider.SENTDM, Status.SENT, "SENT")
    apply_push(store, policy, pushed, now)  # unknown details: due now, to fetch them
    apply_push(store, policy, pushed, now)  # now known: covered by webhooks
    assert store.row(m.id).next_poll >= now + 899 and store.last_push(Provider.SENTDM) >= now + 899
    providers = Providers(settings)
    poller = Poller(store, providers, policy)
    task = asyncio.ensure_future(poller.run())
    try:
        await async_wait_until(
            lambda: poller.push_state.get(Provider.SENTDM) == "flowing", "webhooks not seen"
        )
        row = store.row(m.id)
        assert (
            row.next_poll >= now + 899 and row.last_polled == now
        )  # not polled: webhooks cover it
    finally:
        poller.stop()
        await task
    # eleven minutes without a webhook: the next check releases the message to polling
    silent = Poller(store, providers, policy, clock=lambda: now + 660)
    task = asyncio.ensure_future(silent.run())
    try:
        await async_wait_until(
            lambda: silent.push_state.get(Provider.SENTDM) == "silent", "silence not noticed"
        )
        await async_wait_until(lambda: store.last_push(Provider.SENTDM) is None, "not released")
    finally:
        silent.stop()
        await task
        await providers.aclose()


def test_headless_poll_service(env, world, tmp_path: Path) -> None:
    """`sendwatch poll`: polls, logs one line per notable event, stops cleanly on SIGTERM."""
    from tests.test_poller import live
    from tui.store import SQLiteStore

    live(world)
    msgs = [
        world.add_message(
            Provider.SENTDM,
            [(0, "QUEUED"), (0.5, "FAILED")],
            error=("DELIVERY_003", "x"),
            created=-5,
        ),
        world.add_message(Provider.SENDO, [(0, "CREATED"), (0.5, "DELIVERED")], created=-5),
    ]
    history = Path(env["SENDWATCH_DATA_DIR"]) / "history.sqlite3"
    store = SQLiteStore(history)
    store.track([MessageRef(m.id, m.provider) for m in msgs])
    store.close()
    child = subprocess.Popen(
        [sys.executable, "-m", "tui", "poll"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    lines: list[str] = []

    def read_stderr() -> None:
        for line in child.stderr:
            lines.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    watching = SQLiteStore(history)
    try:
        wait_until(
            lambda: (
                {watching.row(m.id).status for m in msgs} == {"failed", "delivered"}
                and any("lease Sent.dm: polling here" in x for x in lines)
                and any(f"{msgs[0].id} failed" in x for x in lines)
            ),
            "the poll service did not poll both messages",
        )
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
        reader.join(timeout=30)
    finally:
        watching.close()
        if child.poll() is None:
            child.kill()
    err = "".join(lines)
    assert child.returncode == 0, err
    assert "lease Sent.dm: polling here" in err and "stopped" in err and "Traceback" not in err
    assert "HTTP Request" not in err  # one line per notable event, not one per request
    assert f"{msgs[0].id} failed" in err
    store = SQLiteStore(history)
    try:
        assert {store.row(m.id).status for m in msgs} == {"failed", "delivered"}
    finally:
        store.close()
    unreachable = dict(env, SENDWATCH_DATABASE_URL="postgresql://sw:secret-pw@127.0.0.1:1/sw")
    out = subprocess.run(
        [sys.executable, "-m", "tui", "poll"],
        env=unreachable,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        out.returncode == 2
        and "secret-pw" not in out.stderr
        and "cannot use the shared history" in out.stderr
    )
