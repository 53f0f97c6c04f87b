"""The dashboard with webhooks, other instances and sending: over real HTTP, real processes, real files.

* a separate `sendwatch listen` process writes a webhook into the same history: the dashboard
  shows it within a second or two, with no poll (the poller is off);
* `--listen` runs the receiver inside the dashboard;
* `m` sends a test message (sandbox by default), after a confirmation, and selects it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.test_app import make_app, wait_for
from tui.app.widgets.message_list import MessageList
from tui.ids import MessageRef
from tui.model import Provider

SECRET = "whsec_" + base64.b64encode(b"test-webhook-signing-key-123456").decode()
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signed(message_id: str, status: str, event_id: str) -> tuple[bytes, dict[str, str]]:
    """A Sent.dm webhook as the provider sends it (signature computed here, independently)."""
    body = json.dumps(
        {
            "field": "message",
            "event": f"message.{status.lower()}",
            "timestamp": "2026-01-01T00:00:00Z",
            "payload": {"message_id": message_id, "message_status": status, "channel": "sms"},
        }
    ).encode()
    stamp = str(int(time.time()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signature = base64.b64encode(
        hmac.new(key, f"wh_1.{stamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    return body, {
        "X-Webhook-ID": "wh_1",
        "X-Webhook-Timestamp": stamp,
        "X-Webhook-Signature": f"v1,{signature}",
        "X-Webhook-Event-ID": event_id,
        "content-type": "application/json",
    }


def _status_on_screen(app, message_id: str) -> str:
    listed = app.query_one(MessageList)
    rows = [listed.model.cached_row(i) for i in range(min(listed.model.count() or 0, 50))]
    return next((r.status for r in rows if r is not None and r.id == message_id), "")


async def test_a_separate_listen_process_shows_up_on_the_dashboard(settings, world, env) -> None:
    m = world.add_message(Provider.SENTDM, [(0, "QUEUED"), (1, "SENT")], created=-5)
    from dataclasses import replace

    history = Path(env["SENDWATCH_DATA_DIR"]) / "history.sqlite3"
    history.parent.mkdir(parents=True, exist_ok=True)
    shared = replace(settings, history=replace(settings.history, path=str(history)))
    app = make_app(
        shared, start_poller=False
    )  # nothing here polls: only the other process can change it
    app.store.track([MessageRef(m.id, Provider.SENTDM)])
    port = _free_port()
    listener = subprocess.Popen(
        [sys.executable, "-m", "tui", "listen", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=dict(env, SENT_DM_WEBHOOK_SECRET=SECRET),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert "Receiving webhooks" in listener.stdout.readline()
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, lambda: _status_on_screen(app, m.id) != "")
            body, headers = signed(m.id, "DELIVERED", "evt-1")
            async with httpx.AsyncClient() as http:
                answer = await http.post(
                    f"http://127.0.0.1:{port}/webhooks/sentdm", content=body, headers=headers
                )
            assert answer.status_code == 200
            pushed_at = time.monotonic()
            await wait_for(pilot, lambda: _status_on_screen(app, m.id) == "delivered", timeout=5)
            assert time.monotonic() - pushed_at < 3.0
    finally:
        listener.terminate()
        listener.wait(timeout=10)


async def test_listen_inside_the_dashboard(settings, world) -> None:
    from dataclasses import replace

    from tui.config import Secret

    m = world.add_message(Provider.SENTDM, [(0, "QUEUED")], created=-5)
    port = _free_port()
    pushed = replace(settings, sentdm=replace(settings.sentdm, webhook_secret=Secret(SECRET)))
    app = make_app(pushed, start_poller=False, listen=("127.0.0.1", port))
    app.store.track([MessageRef(m.id, Provider.SENTDM)])
    async with app.run_test(size=(160, 30)) as pilot:
        monitor = app.dashboard.monitor
        await wait_for(pilot, lambda: monitor.receiver is not None and monitor.receiver.running)
        for event in ("evt-a", "evt-a"):  # a duplicate too: acknowledged, applied once
            body, headers = signed(m.id, "FAILED", event)
            async with httpx.AsyncClient() as http:
                assert (
                    await http.post(
                        f"http://127.0.0.1:{port}/webhooks/sentdm", content=body, headers=headers
                    )
                ).status_code == 200
        await wait_for(pilot, lambda: _status_on_screen(app, m.id) == "failed", timeout=5)
        stats = monitor.receiver.stats[Provider.SENTDM]
        assert stats.applied == 1 and stats.duplicates == 1
        bar = app.dashboard.status
        await wait_for(pilot, lambda: "webhooks 2, last <10s ago" in bar.shown.plain)
        events = [e.source.value for e in app.store.get(m.id).message.events]
        assert "webhook" in events


async def test_send_a_test_message_from_the_dashboard(settings, world) -> None:
    app = make_app(settings, start_poller=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.dashboard.monitor.ready)
        await pilot.press("m")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "SendScreen")
        screen = app.screen
        screen.query_one("#send-to").value = "+14155550101, +14155550102"
        screen.query_one("#send-template").value = "Order Shipped"
        screen.query_one("#send-params").value = "name=Ada"
        screen.query_one("#send-channel").value = "sms,whatsapp"
        screen.query_one("#send-to").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        question = app.screen.question
        assert "2 recipients x 2 channels = 4 messages" in question and "sandbox" in question
        await pilot.press("y")
        await wait_for(pilot, lambda: len(app.store.sends()) == 1, timeout=8)
        key, provider, _, _, ids = app.store.sends()[0]
        assert provider == "sentdm" and len(ids) == 4 and key
        await wait_for(pilot, lambda: app.query_one(MessageList).selected_id in ids)


async def test_send_form_refuses_bad_input_and_stays_open(settings) -> None:
    app = make_app(settings, start_poller=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.dashboard.monitor.ready)
        await pilot.press("m")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "SendScreen")
        app.screen.query_one("#send-to").value = "[/]not-a-number"
        app.screen.query_one("#send-text").value = "hi"
        app.screen.query_one("#send-to").focus()
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.screen.__class__.__name__ == "SendScreen"  # still open, says what to fix
        problem = str(app.screen.query_one("#send-problem").render())
        assert "E.164" in problem and "[/]" in problem
        await pilot.press("escape")
        assert app.is_running


def test_watch_a_sendo_campaign_by_id(env, world) -> None:
    from tests.test_cli import run
    from tui.store import ListFilter, SQLiteStore

    ids = [
        world.add_message(
            Provider.SENDO, [(0, "CREATED"), (1, "DELIVERED")], campaign="LAUNCH01", created=-5
        ).id
        for _ in range(3)
    ]
    out = run(["watch", "--sendo-campaign", "LAUNCH01", "--no-ui"], env)
    assert out.returncode == 0, out.stderr
    assert "3 messages found" in out.stderr
    store = SQLiteStore(Path(env["SENDWATCH_DATA_DIR"]) / "history.sqlite3")
    try:
        assert {r.id for r in store.page(ListFilter(campaign="sendo:LAUNCH01"), 0, 10)} == set(ids)
    finally:
        store.close()
    bad = run(["watch", "--sendo-campaign", "x;drop", "--no-ui"], env)
    assert bad.returncode == 2 and "not a Sendo campaign ID" in bad.stderr
    assert os.path.exists(Path(env["SENDWATCH_DATA_DIR"]) / "history.sqlite3")


async def test_the_dashboard_on_a_shared_postgresql(settings, world, pg_server) -> None:
    """The whole app on the PostgreSQL backend: start, look an ID up, watch it progress by polling."""
    from dataclasses import replace

    from tests.test_app import quick, type_text
    from tests.test_poller import live
    from tui.app.app import SendwatchApp
    from tui.config import Secret
    from tui.store.open import open_store

    live(world)
    m = world.add_message(
        Provider.SENDO, [(0, "CREATED"), (0.5, "SENT"), (2.5, "DELIVERED")], created=-0.2
    )
    shared = quick(
        replace(
            settings, history=replace(settings.history, url=Secret(pg_server.create_database()))
        )
    )
    store = open_store(shared)
    assert store.backend == "postgresql"
    app = SendwatchApp(shared, store)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, lambda: app.dashboard.monitor.ready)
            await pilot.press("slash")
            await type_text(pilot, m.id)
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.query_one(MessageList).selected_id == m.id)
            world.advance(
                3
            )  # the simulated message is delivered now: polling must bring it to the screen
            await wait_for(pilot, lambda: _status_on_screen(app, m.id) == "delivered", timeout=10)
            await wait_for(
                pilot,
                lambda: (
                    app.dashboard.monitor.poller is not None
                    and app.dashboard.monitor.provider_state(Provider.SENDO).lease == "polling here"
                ),
            )
    finally:
        store.close()


async def test_import_a_sendo_campaign_by_id_in_the_app(settings, world) -> None:
    ids = {
        world.add_message(
            Provider.SENDO, [(0, "CREATED"), (1, "DELIVERED")], campaign="LAUNCH02", created=-5
        ).id
        for _ in range(4)
    }
    app = make_app(settings, start_poller=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.dashboard.monitor.ready)
        await pilot.press("i")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ImportScreen")
        app.screen.query_one("#import-sendo").value = "LAUNCH02"
        app.screen.query_one("#import-sendo").focus()
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                app.dashboard.message_list.model.filter.campaign == "sendo:LAUNCH02"
                and (app.dashboard.message_list.model.count() or 0) == 4
            ),
        )
        listed = app.query_one(MessageList)
        assert {listed.model.cached_row(i).id for i in range(4)} == ids
        assert ("sendo:LAUNCH02", 4) in app.dashboard.history.campaigns


async def test_messages_another_instance_adds_appear_in_the_list(settings, world) -> None:
    from tui.store import SQLiteStore

    first = world.add_message(Provider.SENDO, [(0, "CREATED")], created=-5)
    app = make_app(settings, start_poller=False)
    app.store.track([MessageRef(first.id, Provider.SENDO)])
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.dashboard.message_list.model.count() == 1)
        other = SQLiteStore(settings.history_path())  # a second instance on the same history
        try:
            new = [
                world.add_message(Provider.SENDO, [(0, "CREATED")], created=-5).id for _ in range(3)
            ]
            other.track([MessageRef(i, Provider.SENDO) for i in new], campaign="teammate")
        finally:
            other.close()
        await wait_for(pilot, lambda: app.dashboard.message_list.model.count() == 4, timeout=5)
        listed = app.query_one(MessageList)
        assert {listed.model.cached_row(i).id for i in range(3)} == set(
            new
        )  # newest first, at the top


async def test_a_send_that_fails_says_send_failed(settings, monkeypatch) -> None:
    """Refused by the provider: said in the form (which stays open); a bug: "Send failed: …",
    logged, never the old "A background task failed"."""
    from tests.test_app import toasts
    from tui.errors import AuthError
    from tui.services.monitor import Monitor

    async def refused(self, provider, req):
        raise AuthError("Sent.dm rejected the key (401)")

    monkeypatch.setattr(Monitor, "send", refused)
    app = make_app(settings, start_poller=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("m")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "SendScreen")
        form = app.screen
        form.query_one("#send-to").value = "+14155550101"
        form.query_one("#send-text").value = "hi"
        form.query_one("#send-to").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: (
                "Send failed: Sent.dm rejected" in str(form.query_one("#send-problem").render())
            ),
        )
        assert app.screen is form and any(t.startswith("Send failed: Sent.dm") for t in toasts(app))

        async def bug(self, provider, req):
            raise RuntimeError("a bug in sending")

        monkeypatch.setattr(Monitor, "send", bug)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any(t.startswith("Send failed: RuntimeError: a bug") for t in toasts(app)),
        )
        assert app.screen is form and not any("background task" in t for t in toasts(app))
