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
from tui.ids import MessageRef
from tui.model import Provider, Status
from tui.polling.election import FileLease, PgLease, account_key, lease_for, me
from tui.store.changes import ChangeWatcher


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
import sys, time
from pathlib import Path
from tui.config import load
from tui.model import Provider
from tui.polling.election import lease_for
class S:  # just what lease_for reads of a store
    def __init__(self, path, url): self.path, self.url = path, url
settings = load(Path('/nonexistent.toml'), env={'SENT_DM_API_KEY': 'k-1234567890abcdef'})
lease = lease_for(settings, S(Path(sys.argv[1]), sys.argv[2] or None), Provider.SENTDM)
assert lease.try_acquire()
print('held', flush=True)
time.sleep(60)
"""


def test_a_killed_poller_is_replaced_within_seconds(backend, open_store, tmp_path: Path) -> None:
    store = open_store()
    url = getattr(store, "url", "")
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store.path), url],
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
        started = time.monotonic()
        while not mine.try_acquire():
            assert time.monotonic() - started < 10, "nobody took over within 10 s"
            time.sleep(0.2)
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

    watcher = ChangeWatcher(reader, on_change, interval=0.05).start()
    try:
        time.sleep(0.3)  # the PostgreSQL watcher is listening
        writer.track([MessageRef(message(1).id, Provider.SENTDM)])
        writer.record_fetch(
            message(1, Status.DELIVERED, "delivered"), next_poll=None, fetched_at=5.0
        )
        assert arrived.wait(3.0), "no change noticed within 3 s"
        time.sleep(0.3)
        ids = {i for c in seen for i in c.ids}
        assert ids == {message(1).id}  # exactly the written row, nothing else to re-read
        arrived.clear()
        writer.forget(message(1).id)
        assert arrived.wait(3.0)
        assert seen[-1].truncated  # a delete asks for a full reload
    finally:
        watcher.stop(wait=5)


def test_no_change_means_no_callback(backend, open_store) -> None:
    store = open_store()
    calls: list = []
    watcher = ChangeWatcher(store, calls.append, interval=0.05).start()
    time.sleep(0.5)
    watcher.stop(wait=5)
    assert calls == []


def test_the_database_password_never_shows(pg_server) -> None:
    from tui.store.postgres import PostgresStore, redact_url

    url = pg_server.create_database()
    password = pg_server.password
    store = PostgresStore(url)
    try:
        assert password not in repr(store) and password not in str(store.path)
        assert password not in redact_url(url) and "***" in redact_url(url)
    finally:
        store.close()
    from tui.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        PostgresStore(url.replace(f":{pg_server.port}/", ":1/"))
    assert password not in str(info.value)
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
    try:
        await asyncio.sleep(2.5)
        states = [p.lease_state.get(Provider.SENDO) for p, _, _ in instances]
        assert sorted(states) == sorted(["polling here", f"polled by {me()}"]), states
        winner = next(
            i
            for i, (p, _, _) in enumerate(instances)
            if p.lease_state.get(Provider.SENDO) == "polling here"
        )
        loser = instances[1 - winner][0]
        assert loser.stats.get(Provider.SENDO) is None or loser.stats[Provider.SENDO].requests == 0
        # the winner leaves: the other takes over within the retry interval
        poller, providers, task = instances[winner]
        poller.stop()
        await task
        await providers.aclose()
        for _ in range(60):
            if loser.lease_state.get(Provider.SENDO) == "polling here" and loser.stats.get(
                Provider.SENDO
            ):
                break
            await asyncio.sleep(0.2)
        assert loser.lease_state.get(Provider.SENDO) == "polling here"
        await asyncio.sleep(1.0)
        assert loser.stats[Provider.SENDO].requests > 0
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
        await asyncio.sleep(0.5)
        assert poller.push_state.get(Provider.SENTDM) == "flowing"
        assert store.row(m.id).next_poll >= now + 899  # not polled: its webhooks cover it
    finally:
        poller.stop()
        await task
    # eleven minutes without a webhook: the next check releases the message to polling
    silent = Poller(store, providers, policy, clock=lambda: now + 660)
    task = asyncio.ensure_future(silent.run())
    try:
        await asyncio.sleep(0.5)
        assert silent.push_state.get(Provider.SENTDM) == "silent"
        assert store.last_push(Provider.SENTDM) is None
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
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        time.sleep(4.0)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=15)
    finally:
        if child.poll() is None:
            child.kill()
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
