"""The reconciler (issue #17) over real HTTP: the simulator delivers signed webhooks to a real
receiver and drops some (`sim.hooks.drop`); the reconciler reads Sent.dm's delivery log, makes
exactly the dropped events' messages due, within 2 % of the polling budget per minute, and a real
poller then fetches their status."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import fast
from tui.config import Settings, load
from tui.model import Provider, Status
from tui.polling.policy import PollPolicy
from tui.polling.poller import Poller
from tui.providers.lookup import Providers
from tui.providers.webhooks_api import SentDmHooks
from tui.services.demo import demo_settings
from tui.services.reconcile import Reconciler
from tui.simulator import SimConfig, Simulator, SimWorld
from tui.store import SQLiteStore
from tui.webhooks import WebhookCredentials, WebhookReceiver

POLICY = PollPolicy(min_interval=0.2, max_interval=0.5, selected_interval=0.1)


@pytest.fixture
def hsim(world: SimWorld):
    world.epoch = time.time() - world.now()  # the world's wall clock is today: signatures verify
    s = Simulator(world, SimConfig(webhook_timeout_scale=0.01, webhook_interval=0.01)).start()
    yield s
    s.stop()


@pytest.fixture
def settings(hsim: Simulator, tmp_path: Path) -> Settings:
    base = load(tmp_path / "absent.toml", env={})
    settings = fast(demo_settings(hsim, tmp_path / "history.sqlite3", base))
    return settings.with_provider(Provider.SENTDM, requests_per_minute=300.0)  # 2 %: 6 a minute


async def wait_for(condition, bound: float = 30.0) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.02)


async def test_dropped_events_are_found_and_repaired_within_the_budget_share(
    hsim, world, settings, tmp_path
) -> None:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    providers = Providers(settings)
    client = providers.client(Provider.SENTDM)
    placeholder = WebhookReceiver(store, WebhookCredentials.from_values("", "x"), port=0)
    await placeholder.start()
    port = placeholder.port
    await placeholder.stop()
    hook = await SentDmHooks(client).create(f"http://127.0.0.1:{port}/webhooks/sentdm")
    assert hook.secret is not None
    receiver = WebhookReceiver(
        store, WebhookCredentials.from_values(hook.secret.reveal(), ""), port=port
    )
    await receiver.start()
    now = [world.wall(world.now())]
    clock = lambda: now[0]  # noqa: E731 - the reconciler's minutes pass; the world stands still
    try:
        hsim.hooks.drop(event_types={"message.delivered"})
        lost, fine = [], []
        for i in range(12):  # a dropped event, then one that arrives: never 10 failures in a row
            lost.append(
                world.add_message(
                    Provider.SENTDM, [(0, "QUEUED"), (2 + 2 * i, "DELIVERED")], created=0.0
                )
            )
            fine.append(
                world.add_message(
                    Provider.SENTDM, [(0, "QUEUED"), (3 + 2 * i, "SENT")], created=0.0
                )
            )
        world.advance(30)
        assert await asyncio.to_thread(hsim.dispatcher.flush)
        everyone = lost + fine
        await wait_for(lambda: all(store.row(m.id) is not None for m in everyone))
        assert {store.row(m.id).status for m in lost} == {Status.QUEUED.value}
        assert {store.row(m.id).status for m in fine} == {Status.SENT.value}
        lost_ids = {m.id for m in lost}

        reconciler = Reconciler(store, client, POLICY, clock=clock)
        asked_before = len(hsim.records)
        repaired: list[str] = []
        for round_number in range(5):
            now[0] += 60.0 if round_number else 0.0
            result = await reconciler.run_once()
            assert result.spent <= 6, result  # 2 % of 300 requests a minute
            assert {r[0] for r in store.due(clock(), 100, Provider.SENTDM)} <= lost_ids
            repaired += result.repaired
            if round_number == 0:
                assert (result.found, len(result.repaired), result.waiting) == (12, 4, 8)
                assert "8 missed webhook events" in reconciler.status
        assert sorted(repaired) == sorted(lost_ids) and reconciler.status == ""
        log_asks = [r for r in hsim.records[asked_before:] if r.message_id.startswith("webhook")]
        assert len(log_asks) == 1 + 5  # the webhook list once, then a log page a round
        assert {r[0] for r in store.due(clock(), 100, Provider.SENTDM)} == lost_ids

        poller = Poller(store, providers, POLICY, clock=clock)
        task = asyncio.ensure_future(poller.run())
        try:
            await wait_for(
                lambda: all(store.row(m).status == Status.DELIVERED.value for m in lost_ids)
            )
        finally:
            poller.stop()
            await task
        assert {store.row(m.id).status for m in fine} == {Status.SENT.value}
        assert all(not hsim.requests_for(m.id) for m in fine)
    finally:
        await receiver.stop()
        await providers.aclose()
        store.close()


async def test_status_says_when_sent_dm_keeps_failing(hsim, world, settings, tmp_path) -> None:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    providers = Providers(settings)
    client = providers.client(Provider.SENTDM)
    try:
        await SentDmHooks(client).create("http://127.0.0.1:9/webhooks/sentdm")  # nobody there
        for _ in range(7):
            world.add_message(Provider.SENTDM, [(0, "QUEUED")], created=world.now())
        assert await asyncio.to_thread(hsim.dispatcher.flush)
        clock = lambda: world.wall(world.now())  # noqa: E731
        reconciler = Reconciler(store, client, POLICY, clock=clock)
        result = await reconciler.run_once()
        assert reconciler.status == "Sent.dm failing to deliver webhooks (7 in a row)"
        assert result.found == 7 and len(result.repaired) == 4
        assert {r[0] for r in store.due(clock(), 100, Provider.SENTDM)} == set(result.repaired)
    finally:
        await providers.aclose()
        store.close()


async def test_run_forever_stops_when_told(hsim, world, settings, tmp_path) -> None:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    providers = Providers(settings)
    try:
        reconciler = Reconciler(store, providers.client(Provider.SENTDM), POLICY)
        stop = asyncio.Event()
        task = asyncio.ensure_future(reconciler.run_forever(stop, every=0.05))
        await wait_for(lambda: reconciler._listed is not None)
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        assert reconciler.hooks == [] and reconciler.status == ""
    finally:
        await providers.aclose()
        store.close()


async def test_a_webhook_deleted_meanwhile_is_dropped_and_listed_again(
    hsim, world, settings, tmp_path
) -> None:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    providers = Providers(settings)
    client = providers.client(Provider.SENTDM)
    try:
        hook = await SentDmHooks(client).create("http://127.0.0.1:9/webhooks/sentdm")
        now = [world.wall(world.now())]
        reconciler = Reconciler(store, client, POLICY, clock=lambda: now[0])
        await reconciler.run_once()
        assert [h.id for h in reconciler.hooks] == [hook.id]
        async with httpx.AsyncClient(base_url=hsim.base_url) as http:
            gone = await http.delete(f"/v3/webhooks/{hook.id}", headers=client.auth_headers())
        assert gone.status_code == 204
        now[0] += 60
        await reconciler.run_once()  # its log answers 404: no error, the list is asked again
        assert reconciler.hooks == []
        now[0] += 60
        result = await reconciler.run_once()
        assert result.log_requests == 1 and reconciler.hooks == []
    finally:
        await providers.aclose()
        store.close()


async def test_the_dashboard_with_listen_reconciles_and_says_sent_dm_fails_to_deliver(
    hsim, world, settings, tmp_path
) -> None:
    """`sendwatch --listen`: the dashboard's monitor runs the reconciler beside its receiver, and
    the status line says when Sent.dm keeps failing to deliver (a webhook pointing nowhere)."""
    from tests.test_app import wait_for as ui_wait
    from tui.app.app import SendwatchApp
    from tui.app.widgets.status_bar import StatusBar
    from tui.secret import Secret

    settings = settings.with_provider(
        Provider.SENTDM, webhook_secret=Secret("whsec_" + "c2VjcmV0LWZvci10ZXN0cw==")
    )
    providers = Providers(settings)
    try:
        await SentDmHooks(providers.client(Provider.SENTDM)).create(
            "http://127.0.0.1:9/webhooks/sentdm"  # nobody there: every delivery fails
        )
    finally:
        await providers.aclose()
    for _ in range(6):
        world.add_message(Provider.SENTDM, [(0, "QUEUED")], created=world.now())
    assert await asyncio.to_thread(hsim.dispatcher.flush)
    store = SQLiteStore(tmp_path / "history.sqlite3")
    app = SendwatchApp(settings, store, listen=("127.0.0.1", 0))
    async with app.run_test(size=(200, 30)) as pilot:
        bar = app.query_one(StatusBar)
        await ui_wait(pilot, lambda: app.dashboard.monitor.reconciler is not None, 30)
        await ui_wait(pilot, lambda: "failing to deliver webhooks" in bar.shown.plain, 30)
    store.close()
