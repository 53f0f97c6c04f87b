"""The detail pane, the status line, the find bar and the campaign summary, each on its own in a
tiny app over a real history file: what they show, what they post, how they fail. No dashboard."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.message import Message as TextualMessage
from textual.widget import Widget
from textual.widgets import OptionList

from tui.app.failures import BackgroundFailure
from tui.app.widgets.detail_pane import DetailPane
from tui.app.widgets.find_bar import FindBar
from tui.app.widgets.status_bar import LEVELS, StatusBar, StatusSnapshot, status_line
from tui.app.widgets.summary import CampaignSummary
from tui.config import load
from tui.ids import MessageRef
from tui.model import Message, MessageError, Provider, Status
from tui.providers.budget import Health, HealthState
from tui.services.monitor import Monitor
from tui.store import ListFilter, SQLiteStore

NOW = 1_767_225_600.0
A = "8ba7b830-9dad-11d1-80b4-00c04fd430c8"
B = "9ba7b830-9dad-11d1-80b4-00c04fd430c8"
HOSTILE = "[bold red]1234[/] [link=https://evil.example]x[/link] \x1b[2J"


class Host(App[None]):
    """One widget and every message it posts."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget
        self.posted: list[TextualMessage] = []

    def compose(self) -> ComposeResult:
        yield self.widget


def hook(app: Host):
    return lambda message: app.posted.append(message)


async def until(pilot, condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


@pytest.fixture
def history(tmp_path: Path):
    settings = load(tmp_path / "absent.toml", env={})
    settings = replace(
        settings, history=replace(settings.history, path=str(tmp_path / "h.sqlite3"))
    )
    store = SQLiteStore(settings.history_path())
    failed = Message(
        id=A,
        provider=Provider.SENTDM,
        status=Status.FAILED,
        provider_status="BLOCKED",
        to="+14155550123",
        body=HOSTILE,
        created_at=datetime.fromtimestamp(NOW - 60, tz=UTC),
        error=MessageError("BUSINESS_003", "Insufficient balance"),
    )
    store.track([MessageRef(A, Provider.SENTDM)], campaign="launch", now=NOW - 70)
    store.record_fetch(failed, next_poll=None, fetched_at=NOW - 5)
    store.track([MessageRef(B)], campaign="launch", now=NOW - 70)
    store.record_failure(B, "Sent.dm: cannot reach api.sent.dm", next_poll=NOW + 5)
    yield settings, store
    store.close()


async def test_the_detail_pane_reads_shows_and_acts_on_its_message(history) -> None:
    settings, store = history
    pane = DetailPane(store, clock=lambda: NOW)
    pane.monitor = Monitor(settings, store, on_event=lambda e: None)
    app = Host(pane)
    async with app.run_test(size=(120, 40), message_hook=hook(app)) as pilot:
        pane.show_message(A)
        await until(pilot, lambda: pane.stored is not None)
        assert (
            "✗ blocked" in pane.plain and "Error  BUSINESS_003: Insufficient balance" in pane.plain
        )
        assert "[bold red]1234[/]" in pane.plain and "\\x1b[2J" in pane.plain  # literal
        pane.toggle_raw()
        assert pane.plain.startswith("Raw provider response")
        pane.toggle_raw()
        pane.show_message(B)  # tracked, never answered: says what it waits for
        await until(pilot, lambda: "waiting for the first answer" in pane.plain)
        assert "Last attempt: Sent.dm: cannot reach api.sent.dm" in pane.plain
        pane.show_message(A)
        await until(pilot, lambda: pane.stored is not None)
        pane.copy_id()
        assert app.clipboard == A
        pane.forget()
        await until(pilot, lambda: any(isinstance(m, DetailPane.Forgotten) for m in app.posted))
        assert store.row(A) is None and pane.stored is None


async def test_a_detail_read_that_fails_is_told_not_fatal(history, monkeypatch) -> None:
    settings, store = history

    def broken(message_id: str):
        raise RuntimeError("disk hiccup [/]")

    monkeypatch.setattr(store, "get", broken)
    pane = DetailPane(store, clock=lambda: NOW)
    app = Host(pane)
    async with app.run_test(size=(120, 40), message_hook=hook(app)) as pilot:
        pane.show_message(A)
        await until(pilot, lambda: any(isinstance(m, BackgroundFailure) for m in app.posted))
        failure = next(m for m in app.posted if isinstance(m, BackgroundFailure))
        assert failure.label == "Reading the selected message" and "'detail'" in failure.where
        assert "Could not read this message: disk hiccup [/]" in pane.plain and app.is_running


async def test_the_status_line_counts_its_view_and_fits_its_width(history) -> None:
    settings, store = history
    bar = StatusBar(store, [Provider.SENDO], clock=lambda: NOW, demo=True)  # before the monitor
    app = Host(bar)
    async with app.run_test(size=(80, 24)) as pilot:
        bar.filter = ListFilter(campaign="launch")
        bar.recount()
        await until(pilot, lambda: bar.settled and "of 2" in bar.shown.plain)
        shown = bar.shown.plain
        assert "DEMO" in shown and "Sent.dm – not configured" in shown and "✗1" in shown
        assert "Sendo ○ ready" in shown
        bar.monitor = Monitor(settings, store, on_event=lambda e: None)  # not started: no keys
        bar.refresh_line()
        await until(pilot, lambda: bar.settled and "Sendo – not configured" in bar.shown.plain)
        bar.MIN_GAP = 0.0  # paint now, not at the next second
        health = {p: Health(HealthState.AUTH_REJECTED) for p in Provider}
        counts = {"delivered": 123456, "failed": 789, "sent": 4000}
        bar.show(StatusSnapshot(health, counts, behind=4000, eta_seconds=600, demo=True))
        shown = bar.shown.plain
        assert "auth rejected" in shown and cell_len(shown) <= bar.content_region.width


def test_the_status_line_drops_whole_details_never_half_a_word() -> None:
    health = {
        Provider.SENTDM: Health(HealthState.RATE_LIMITED, until=NOW + 30),
        Provider.SENDO: Health(HealthState.OFFLINE, since=NOW - 50, until=NOW + 40),
    }
    counts = {"waiting": 1200, "queued": 3400, "sent": 25000, "delivered": 61000}
    counts |= {"failed": 9000, "cancelled": 12, "received": 3}
    snap = StatusSnapshot(health, counts, behind=4321, eta_seconds=900, demo=True)
    full = status_line(snap, NOW).plain
    fitted = next(
        line for detail in LEVELS if cell_len((line := status_line(snap, NOW, detail)).plain) <= 78
    )
    assert set(fitted.plain.split()) <= set(full.split())
    assert "rate-limited" in fitted.plain and "offline" in fitted.plain
    assert "⊘12" in full and "↙3" in full


async def test_the_find_bar_says_what_the_text_means(history) -> None:
    find = FindBar()
    find.base = ListFilter(campaign="launch")
    app = Host(find)
    async with app.run_test(size=(100, 10), message_hook=hook(app)) as pilot:
        find.focus()
        find.value = "status:failed [b]x"
        await pilot.pause()
        changed = [m for m in app.posted if isinstance(m, FindBar.FilterChanged)]
        assert changed[-1].filter == ListFilter("[b]x", frozenset({"failed"}), None, "launch")
        assert not changed[-1].submitted
        find.value = f"sendo:{A}"
        await pilot.press("enter")
        asked = [m for m in app.posted if isinstance(m, FindBar.LookupRequested)]
        assert asked[-1].ref == MessageRef(A, Provider.SENDO)
        find.value = "sentdm:12345"
        await pilot.press("enter")
        refused = [m for m in app.posted if isinstance(m, FindBar.Refused)]
        assert refused[-1].error is not None and "not a message ID" in refused[-1].problem
        find.value = "status:bogus"
        await pilot.press("enter")
        refused = [m for m in app.posted if isinstance(m, FindBar.Refused)]
        assert refused[-1].error is None and refused[-1].problem.startswith("unknown status")
        assert [m for m in app.posted if isinstance(m, FindBar.FilterChanged)][-1].submitted
        before = len(app.posted)
        find.clear_quietly()
        await pilot.pause()
        assert find.value == "" and not any(
            isinstance(m, FindBar.FilterChanged) for m in app.posted[before:]
        )


async def test_the_summary_reads_its_campaign_and_filters_from_a_row(history) -> None:
    _, store = history
    panel = CampaignSummary(store, rate=lambda: 2.0, clock=lambda: NOW)
    panel.campaign = "launch"
    app = Host(panel)
    async with app.run_test(size=(120, 30), message_hook=hook(app)) as pilot:
        panel.refresh_summary()
        await until(pilot, lambda: panel.loaded)
        options = panel.query_one(OptionList)
        ids = [o.id for o in options.options]
        assert "status:failed" in ids and "error:BUSINESS_003" in ids
        assert "Campaign launch · 2 messages" in str(panel.query_one("#summary-head").render())
        options.focus()
        options.highlighted = ids.index("error:BUSINESS_003")
        await pilot.press("enter")
        chosen = [m for m in app.posted if isinstance(m, CampaignSummary.FilterChosen)]
        assert (chosen[-1].status, chosen[-1].error_code) == ("failed", "BUSINESS_003")


async def test_leaving_before_the_first_page_is_read_raises_nothing_in_its_thread(tmp_path) -> None:
    """The app leaving (its wait for the first page cancelled) while the page is still being read:
    the reading thread finishes quietly (it used to raise InvalidStateError on a cancelled future)."""
    import asyncio
    import threading

    from tui.app.list_model import read_ahead
    from tui.store import ListFilter, SQLiteStore

    gate, reading = threading.Event(), threading.Event()

    class SlowStore(SQLiteStore):
        def current_rev(self) -> int:
            reading.set()
            gate.wait(30)
            return super().current_rev()

    errors: list[BaseException] = []
    hook, threading.excepthook = threading.excepthook, lambda args: errors.append(args.exc_value)
    store = SlowStore(tmp_path / "history.sqlite3")
    try:
        future = read_ahead(store, ListFilter())
        waiting = asyncio.ensure_future(asyncio.wrap_future(future))
        assert await asyncio.to_thread(reading.wait, 30)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        gate.set()
        await asyncio.to_thread(future.exception, 30)  # the read finished, its result kept
        assert errors == [] and future.result()[1].pages is not None
    finally:
        threading.excepthook = hook
        gate.set()
        store.close()
