"""Alerts in the dashboard: a rule firing over a history filled over real HTTP shows on the status
line, rings the bell through the app's driver (BEL + OSC 9) and reaches the webhook receiver
(firing and resolving themselves are tested on the engine: tests/test_alerts.py); the demo
evaluates nothing."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from tests.test_alerts import CODE_RULE, Receiver, alerts_for, fill
from tests.test_app import make_app, wait_for
from tui.app.widgets.alert_watch import AlertWatch
from tui.app.widgets.status_bar import StatusBar


async def test_a_firing_rule_is_on_the_status_line_rung_and_delivered(
    settings, world, sim, monkeypatch
) -> None:
    world.epoch = time.time() - world.now()
    monkeypatch.delenv("TMUX", raising=False)
    receiver = Receiver()
    try:
        await asyncio.to_thread(fill, settings, world, 2)  # `wait` runs its own event loop
        alerts = alerts_for(receiver.url, CODE_RULE, bell=True)
        app = make_app(replace(settings, alerts=alerts))
        async with app.run_test(size=(120, 30)) as pilot:
            bar = app.query_one(StatusBar)
            await wait_for(pilot, lambda: bar.alerts is not None, timeout=30)
            watch = app.query_one(AlertWatch)
            await wait_for(pilot, lambda: bar.alert == "⚠ balance", timeout=30)
            await wait_for(pilot, lambda: "⚠ balance" in bar.shown.plain, timeout=30)
            await wait_for(pilot, lambda: watch.terminal.written, timeout=30)
            rung = watch.terminal.written[0]
            assert rung.startswith("\a\x1b]9;sendwatch alert firing: balance")
            assert rung.endswith("\a")
            assert watch.engine is not None and watch.engine.notifier.flush()
            assert [b["state"] for b in receiver.bodies] == ["firing"]
            assert receiver.bodies[0]["rule"] == "balance"
    finally:
        receiver.stop()


async def test_the_demo_evaluates_no_alert(settings, world) -> None:
    app = make_app(settings, demo=True)
    async with app.run_test(size=(120, 30)) as pilot:
        bar = app.query_one(StatusBar)
        await wait_for(pilot, lambda: app.dashboard.live_started, timeout=30)
        await wait_for(pilot, lambda: bar.shown is not None, timeout=30)
        bar.refresh_line()
        assert bar.alerts is None and not app.query(AlertWatch)
