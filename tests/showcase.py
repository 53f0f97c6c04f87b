"""A deterministic dashboard for snapshot tests and README screenshots (test scaffolding: it is
not shipped in the package).

The simulator's world is frozen at a fixed instant, every message is fetched once over real HTTP
into a fresh history, and the app gets a fixed clock and no poller, so every frame is reproducible.
`settle` waits (on conditions, never on a clock) until nothing on screen is still being read.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from tui.app.app import SendwatchApp
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.polling.record import record_lookup
from tui.providers.lookup import Providers
from tui.services.demo import demo_settings
from tui.simulator import SimConfig, Simulator
from tui.simulator.demo import build_world
from tui.simulator.world import SimMessage
from tui.store import SQLiteStore, Store

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SETTLE = 45.0  # world seconds after the campaign started: half of it has settled


async def _prefetch(
    providers: Providers, store: Store, policy: PollPolicy, msgs: list[SimMessage], at: float
) -> None:
    for msg in msgs:
        found = await providers.client(msg.provider).fetch(msg.id)
        record_lookup(store, policy, found, at)


def build_showcase(
    tmp: Path, campaign_size: int = 120
) -> tuple[SendwatchApp, Simulator, list[SimMessage]]:
    """Returns the app (not yet running), the simulator (stop it after) and the tracked messages.

    The demo's own world: the richer campaign (seven countries, several channels, hours of
    history and one dominant failure cause), so the summary's pictures have something to show."""
    world, tracked = build_world(seed=7, campaign_size=campaign_size, epoch=EPOCH)
    world.advance(SETTLE)
    sim = Simulator(world, SimConfig()).start()
    settings = demo_settings(sim, tmp / "history.sqlite3")
    roomy = dict(requests_per_minute=60_000.0, burst=1000)
    settings = replace(
        settings, sentdm=replace(settings.sentdm, **roomy), sendo=replace(settings.sendo, **roomy)
    )
    store = SQLiteStore(settings.history_path())
    now = world.wall(world.now())
    store.track([MessageRef(m.id, m.provider) for m in tracked if not m.campaign], now=now - 60)
    store.track(
        [MessageRef(m.id, m.provider) for m in tracked if m.campaign],
        campaign="spring-sale",
        now=now - 60,
    )
    policy = PollPolicy.from_settings(settings.polling)

    async def fetch_all() -> None:
        providers = Providers(settings)
        try:
            await _prefetch(providers, store, policy, tracked, now)
        finally:
            await providers.aclose()

    asyncio.run(fetch_all())
    app = SendwatchApp(
        settings,
        store,
        demo=True,
        campaign="spring-sale",
        clock=lambda: now + 5,
        start_poller=False,
    )
    return app, sim, tracked


def build_empty(tmp: Path) -> SendwatchApp:
    """The dashboard on a fresh, empty history: both providers configured (an address nothing
    listens on: never asked), nothing tracked yet, a fixed clock."""
    from tui.config import load
    from tui.simulator import SENDO_KEY, SENTDM_KEY

    nowhere = "http://127.0.0.1:9"
    env = {"SENT_DM_API_KEY": SENTDM_KEY, "SENDO_API_KEY": SENDO_KEY}
    env |= {"SENDWATCH_SENTDM_URL": nowhere, "SENDWATCH_SENDO_URL": nowhere}
    settings = load(tmp / "absent.toml", env=env)
    settings = replace(
        settings, history=replace(settings.history, path=str(tmp / "history.sqlite3"))
    )
    store = SQLiteStore(settings.history_path())
    return SendwatchApp(settings, store, demo=True, clock=lambda: EPOCH, start_poller=False)


def still(app: SendwatchApp) -> None:
    """Stop the text cursors blinking, so a picture with an input does not depend on when it is taken."""
    from textual.widgets import Input

    for field in app.screen.query(Input):
        field.cursor_blink = False


def failed_message(tracked: list[SimMessage]) -> SimMessage:
    """A failed Sent.dm campaign message: an error code and a full provider timeline (FAILED
    when the campaign has one, else FILTERED or BLOCKED)."""
    failed = [
        m
        for m in tracked
        if m.provider is Provider.SENTDM
        and m.campaign
        and m.error
        and m.steps[-1][1] in ("FAILED", "FILTERED", "BLOCKED")
        and m.steps[-1][0] <= SETTLE
    ]
    order = ("FAILED", "FILTERED", "BLOCKED")
    return min(failed, key=lambda m: order.index(m.steps[-1][1]))


def quiet(app: SendwatchApp) -> bool:
    """Nothing on the dashboard is being read or waits to be painted."""
    from tui.app.widgets.detail_pane import DetailPane
    from tui.app.widgets.message_list import MessageList
    from tui.app.widgets.status_bar import StatusBar
    from tui.app.widgets.summary import CampaignSummary

    screen = app.dashboard
    summaries = screen.query(CampaignSummary)
    return (
        screen.live_started
        and not screen.query_one(MessageList).busy
        and not screen.query_one(DetailPane).loading
        and screen.query_one(StatusBar).settled
        and all(s.loaded or not s.display for s in summaries)
        and not any(w.is_running for w in app.workers if w.group not in ("poller", "discover"))
    )


async def settle(pilot: Any, timeout: float = 30.0) -> None:
    """Wait until the dashboard is quiet (every read landed, the status line painted), then let
    Textual draw: the same picture each run, without sleeping a fixed time."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause()
        if quiet(app):
            await pilot.pause()  # what it changed is drawn
            if quiet(app):
                return
        await pilot.pause(0.02)
    raise AssertionError("the dashboard did not settle")
