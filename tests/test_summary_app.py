"""The summary in the app (Pilot, real HTTP to the simulator): its pictures fill a small screen,
and choosing a cohort row filters the message list to that provider, channel and country."""

from __future__ import annotations

import time

from textual.widgets import OptionList

from tui.app.app import SendwatchApp
from tui.app.widgets.message_list import MessageList
from tui.app.widgets.summary import CampaignSummary
from tui.ids import MessageRef
from tui.model import Provider
from tui.store import SQLiteStore

SENDO_CA = ["+14165550121", "+14165550122"]


async def wait_for(pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not met in time")


async def test_choosing_a_cohort_filters_the_list(settings, world) -> None:
    delivered = [(0, "created"), (1, "queued"), (2, "sent"), (3, "delivered")]
    msgs = [
        world.add_message(Provider.SENTDM, [(0, "queued"), (2, "delivered")], created=-5),
        world.add_message(Provider.SENTDM, [(0, "queued"), (2, "delivered")], created=-5),
        *(world.add_message(Provider.SENDO, delivered, to=n, created=-5) for n in SENDO_CA),
        world.add_message(Provider.SENDO, delivered, to="+12125550101", created=-5),
        world.add_message(Provider.SENDO, delivered, to="+14165550123", channel="mms", created=-5),
    ]
    sendo_ca = {m.id for m in msgs[2:4]}
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id, m.provider) for m in msgs], campaign="launch")
    app = SendwatchApp(settings, store, campaign="launch")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: sum(store.status_counts().values()) == 6)
        await wait_for(pilot, lambda: store.status_counts() == {"delivered": 6})
        await pilot.press("s")
        summary = app.screen.query_one(CampaignSummary)
        await wait_for(pilot, lambda: app.screen.maximized is summary)  # small screen: all of it
        cohorts = summary.query_one("#summary-cohorts", OptionList)

        def row(label: str) -> int | None:
            return next(
                (
                    i
                    for i, o in enumerate(cohorts.options)
                    if " ".join(str(o.prompt).split()).startswith(label)
                ),
                None,
            )

        await wait_for(pilot, lambda: row("Sendo sms CA 2") is not None)
        assert row("Sendo mms CA 1") is not None and row("Sendo sms US 1") is not None
        cohorts.focus()
        cohorts.highlighted = row("Sendo sms CA 2")
        await pilot.press("enter")
        listed = app.screen.query_one(MessageList)
        await wait_for(
            pilot,
            lambda: (
                listed.model.filter.country == "CA"
                and not listed.busy
                and listed.model.count() == 2
            ),
        )
        flt = listed.model.filter
        assert (flt.provider, flt.channel, flt.campaign) == ("sendo", "sms", "launch")
        assert {listed.model.cached_row(i).id for i in range(2)} == sendo_ca
        assert app.screen.maximized is None and listed.has_focus  # the list is back
