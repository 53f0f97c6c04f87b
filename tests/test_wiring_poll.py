"""`sendwatch poll`'s readiness (issue #17) and alerts (issue #16), in-process over real HTTP.

`/readyz` on the `--listen` and `--metrics` ports says 503 while the poll loops cannot work (the
history unreachable, every key rejected, the loops stopped) and 200 while they run; an alert rule
that starts to hold reaches a local webhook receiver once. Stopped the way a real `poll` is: SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_alerts import BALANCE, Receiver, alerts_for
from tests.test_poller import live
from tests.test_webhooks import SECRET, TOKEN
from tui.alerts.settings import AlertRule, RuleKind
from tui.commands import poll
from tui.config import Secret, Settings
from tui.errors import StoreError
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.polling.poller import Poller
from tui.providers.lookup import Providers
from tui.store import SQLiteStore
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.readiness import Readiness
from tui.webhooks.server import WebhookReceiver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def wait_for(condition: Callable[[], Any], bound: float = 60.0) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.02)


async def readyz(port: int) -> httpx.Response | None:
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.get(f"http://127.0.0.1:{port}/readyz")
    except httpx.TransportError:
        return None


async def wait_ready(port: int, status: int, bound: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + bound
    while True:
        answer = await readyz(port)
        if answer is not None and answer.status_code == status:
            return answer
        assert time.monotonic() < deadline, f"/readyz never answered {status}"
        await asyncio.sleep(0.02)


def with_webhooks(settings: Settings) -> Settings:
    settings = settings.with_provider(Provider.SENTDM, webhook_secret=Secret(SECRET))
    return settings.with_provider(Provider.SENDO, webhook_token=Secret(TOKEN))


async def test_readyz_on_both_ports_is_503_while_the_history_is_unreachable(
    settings: Settings, tmp_path: Path
) -> None:
    store = SQLiteStore(settings.history_path())
    listen_port, metrics_port = _free_port(), _free_port()
    serving = asyncio.ensure_future(
        poll._serve(
            with_webhooks(settings),
            store,
            ("127.0.0.1", listen_port),
            metrics_at=("127.0.0.1", metrics_port),
        )
    )
    try:
        for port in (listen_port, metrics_port):
            assert (await wait_ready(port, 200)).json() == {"ok": True}

        def unreachable(*args: object, **kwargs: object) -> None:
            raise StoreError("the history's server went away")

        store.due = unreachable  # type: ignore[method-assign]  # every loop's next read fails
        for port in (listen_port, metrics_port):
            answer = await wait_ready(port, 503)
            body = answer.json()
            assert body["ok"] is False
            assert "polling:" in body["reason"] and "unreachable" in body["reason"]
        assert not serving.done()  # not ready is not dead: it keeps trying (gives up after 300 s)
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(serving, timeout=30) == 0
    finally:
        if not serving.done():
            serving.cancel()
        store.close()


async def test_readyz_says_every_key_was_rejected_and_a_stopped_poller_is_not_ready(
    settings: Settings,
) -> None:
    bad = settings.with_provider(Provider.SENTDM, api_key=Secret("sk_wrong_0123456789"))
    bad = bad.with_provider(Provider.SENDO, api_key=Secret("sd_wrong_0123456789"))
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef("3f1c2a9e-0000-4000-8000-000000000001", Provider.SENTDM)])
    store.track([MessageRef("3f1c2a9e-0000-4000-8000-000000000002", Provider.SENDO)])
    providers = Providers(bad)
    poller = Poller(store, providers, PollPolicy())
    readiness = Readiness(store)
    readiness.add("polling", poll.loops_problem(poller, providers))
    receiver = WebhookReceiver(
        store, WebhookCredentials.from_values(SECRET, TOKEN), port=0, readiness=readiness
    )
    task = asyncio.ensure_future(poller.run())
    try:
        async with receiver:
            answer = await wait_ready(receiver.port, 503)
            assert answer.json()["reason"] == "polling: every provider rejected its API key"
    finally:
        poller.stop()
        await asyncio.gather(task, return_exceptions=True)
        await providers.aclose()

    good = Providers(settings)
    poller = Poller(store, good, PollPolicy())
    readiness = Readiness(store)
    readiness.add("polling", poll.loops_problem(poller, good))
    receiver = WebhookReceiver(
        store, WebhookCredentials.from_values(SECRET, TOKEN), port=0, readiness=readiness
    )
    task = asyncio.ensure_future(poller.run())
    try:
        async with receiver:
            await wait_for(lambda: poller.loop_health)
            await wait_ready(receiver.port, 200)
            poller.stop()
            await asyncio.gather(task, return_exceptions=True)
            answer = await wait_ready(receiver.port, 503)
            assert "loop stopped" in answer.json()["reason"]
    finally:
        poller.stop()
        await asyncio.gather(task, return_exceptions=True)
        await good.aclose()
        store.close()


async def test_poll_delivers_a_firing_alert_once(
    settings: Settings, world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sendwatch.poll")
    live(world)
    failed = world.add_message(
        Provider.SENTDM, BALANCE, error=("BUSINESS_003", "Insufficient balance")
    )
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(failed.id, failed.provider)])
    hook = Receiver()
    rule = AlertRule("balance", RuleKind.CODE, 1, window=600.0, code="BUSINESS_003")
    serving = asyncio.ensure_future(
        poll._serve(settings, store, None, alerts=alerts_for(hook.url, rule))
    )
    try:
        await wait_for(lambda: hook.bodies or serving.done())
        assert not serving.done()
        await wait_for(lambda: "alert_firing" in caplog.text or "alert firing" in caplog.text)
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(serving, timeout=30) == 0
    finally:
        if not serving.done():
            serving.cancel()
        hook.stop()
        store.close()
    assert [(b["rule"], b["state"]) for b in hook.bodies] == [("balance", "firing")]
    assert hook.attempts == 1
    firing = [r for r in caplog.records if "sendwatch alert firing: balance" in r.getMessage()]
    assert len(firing) == 1 and firing[0].levelno == logging.WARNING
