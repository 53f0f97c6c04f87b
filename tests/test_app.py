"""The dashboard driven through Textual's Pilot, against the simulator over real HTTP."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
from textual.widgets import Input

from tui.app.app import SendwatchApp
from tui.app.query import parse_query
from tui.app.widgets.detail_pane import DetailPane
from tui.app.widgets.message_list import MessageList
from tui.app.widgets.status_bar import StatusBar
from tui.config import Secret, Settings
from tui.ids import MessageRef
from tui.model import Provider
from tui.simulator.demo import HOSTILE_BODY
from tui.store import SQLiteStore


def quick(settings: Settings) -> Settings:
    """Polling intervals short enough that live updates show within a test's patience."""
    polling = replace(
        settings.polling,
        min_interval=0.2,
        selected_interval=0.2,
        visible_interval=0.2,
        max_interval=1.0,
    )
    network = replace(settings.network, breaker_threshold=3, breaker_cooldown=0.3)
    return replace(settings, polling=polling, network=network)


def make_app(settings: Settings, **kw) -> SendwatchApp:
    store = SQLiteStore(settings.history_path())
    return SendwatchApp(settings, store, **kw)


async def wait_for(pilot, condition, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if condition():
            return
    raise AssertionError("condition not met in time")


def toasts(app: SendwatchApp) -> list[str]:
    """The text of every toast drawn on the current screen (rendered as the user sees it)."""
    from textual.widgets._toast import Toast

    return [toast.render().plain for toast in app.screen.query(Toast)]


def detail_text(app: SendwatchApp) -> str:
    return app.query_one(DetailPane).plain


async def listed_ready(pilot) -> MessageList:
    """The list once its view is read and shown (reads are in threads: wait, do not assume)."""
    listed = pilot.app.query_one(MessageList)
    await wait_for(pilot, lambda: listed.ready and not listed.busy)
    return listed


async def type_text(pilot, text: str) -> None:
    """Type in the find bar; a filter has been applied and shown when this returns."""
    app = pilot.app
    find = app.query_one("#find", Input)
    find.value = text
    query = parse_query(text, app.dashboard.find.base)
    if query.ref is None:
        listed = app.query_one(MessageList)
        await wait_for(pilot, lambda: listed.model.filter == query.filter and not listed.busy)
    else:
        await pilot.pause()


async def test_startup_shows_cached_history_without_network(settings, world, tmp_path) -> None:
    m = world.add_message(
        Provider.SENDO, [(0, "created"), (1, "sent"), (2, "delivered")], created=-10
    )
    store = SQLiteStore(settings.history_path())
    from tui.polling.policy import PollPolicy
    from tui.polling.record import record_lookup
    from tui.providers.lookup import Providers

    providers = Providers(settings)
    msg = await providers.fetch(MessageRef(m.id))
    await providers.aclose()
    record_lookup(store, PollPolicy(), msg, time.time())
    store.close()
    offline = settings.with_provider(Provider.SENDO, base_url="http://127.0.0.1:9").with_provider(
        Provider.SENTDM, base_url="http://127.0.0.1:9"
    )
    app = make_app(offline)
    async with app.run_test(size=(120, 30)) as pilot:
        listed = await listed_ready(pilot)
        assert listed.model.count() == 1 and listed.selected_id == m.id
        await wait_for(pilot, lambda: m.body in detail_text(app))


@pytest.mark.parametrize("provider", [Provider.SENTDM, Provider.SENDO])
async def test_lookup_by_id_hits_each_provider(settings, world, provider) -> None:
    m = world.add_message(provider, created=-30)
    app = make_app(settings, start_poller=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("slash")
        assert app.focused is app.query_one("#find", Input)
        await type_text(pilot, m.id.upper())
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.query_one(MessageList).selected_id == m.id)
        await wait_for(
            pilot, lambda: provider.label in detail_text(app) and m.to in detail_text(app)
        )
        assert app.store.provider_of(m.id) is provider


async def test_lookup_not_found_and_invalid(settings) -> None:
    app = make_app(settings, start_poller=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("slash")
        await type_text(pilot, "00000000-0000-4000-8000-000000000000")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "not found at Sent.dm or Sendo" in detail_text(app))
        await type_text(pilot, "sentdm:12345")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "not a message ID" in detail_text(app))
        assert app.query_one(MessageList).model.count() == 0


async def test_find_filters_the_list(settings, world) -> None:
    msgs = [
        world.add_message(
            Provider.SENTDM, [(0, "queued"), (1, "failed")], error=("30003", "x"), created=-5
        ),
        world.add_message(Provider.SENDO, [(0, "created"), (1, "delivered")], created=-5),
        world.add_message(
            Provider.SENDO, [(0, "created"), (1, "delivered")], created=-5, body="special offer"
        ),
    ]
    app = make_app(settings)
    app.store.track([MessageRef(m.id, m.provider) for m in msgs])
    async with app.run_test(size=(120, 30)) as pilot:
        listed = app.query_one(MessageList)
        await wait_for(pilot, lambda: app.store.status_counts() == {"failed": 1, "delivered": 2})
        await pilot.press("slash")
        await type_text(pilot, "status:failed")
        assert listed.model.count() == 1 and listed.model.cached_row(0).id == msgs[0].id
        await type_text(pilot, "special")
        assert listed.model.count() == 1 and listed.model.cached_row(0).id == msgs[2].id
        await type_text(pilot, "provider:sendo")
        assert listed.model.count() == 2
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: listed.model.count() == 3 and not listed.busy)
        assert app.query_one("#find", Input).value == ""


async def test_refresh_selected_asks_the_provider(settings, world, sim) -> None:
    m = world.add_message(Provider.SENTDM, [(0, "queued"), (1, "sent")], created=-5)
    app = make_app(settings, start_poller=False)
    app.store.track([MessageRef(m.id, Provider.SENTDM)])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        before = len(sim.requests_for(m.id))
        await pilot.press("r")
        await wait_for(pilot, lambda: app.store.get(m.id) is not None)
        # the message and its activity log: two requests
        assert len(sim.requests_for(m.id)) == before + 2
        await wait_for(pilot, lambda: "Message sent via SMS" in detail_text(app))


def live(world) -> None:
    """Make the frozen world's wall clock read 'now' (the policy gives up on week-old messages)."""
    world.epoch = time.time() - world.now()


async def test_message_progresses_on_screen_without_a_keypress(settings, world) -> None:
    live(world)
    m = world.add_message(
        Provider.SENDO, [(0, "created"), (1, "queued"), (3, "sent"), (6, "delivered")]
    )
    world.advance(1.5)
    app = make_app(quick(settings))
    app.store.track([MessageRef(m.id, Provider.SENDO)])
    async with app.run_test(size=(120, 30)) as pilot:
        listed = app.query_one(MessageList)
        await wait_for(
            pilot, lambda: (r := listed.model.cached_row(0)) is not None and r.status == "queued"
        )
        world.advance(2)
        await wait_for(pilot, lambda: listed.model.cached_row(0).status == "sent")
        world.advance(3)
        await wait_for(pilot, lambda: listed.model.cached_row(0).status == "delivered")
        await wait_for(pilot, lambda: "✓ delivered" in detail_text(app))
        events = [
            e.provider_status.lower()
            for e in app.store.get(m.id).message.events
            if e.source.value == "observed"
        ]
        assert events == ["queued", "sent", "delivered"]


async def test_auth_rejected_is_shown_with_the_fix(settings, world) -> None:
    m = world.add_message(Provider.SENDO, created=-5)
    bad = quick(settings).with_provider(Provider.SENDO, api_key=Secret("wrong-sendo-key-0000"))
    app = make_app(bad)
    app.store.track([MessageRef(m.id, Provider.SENDO)])
    async with app.run_test(size=(140, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: "auth rejected" in str(app.query_one(StatusBar).render()))
        await wait_for(pilot, lambda: any("SENDO_API_KEY" in n for n in toasts(app)))
        assert all("wrong-sendo-key" not in n for n in toasts(app))


async def test_provider_down_then_recovers(settings, world, sim) -> None:
    live(world)
    m = world.add_message(Provider.SENTDM, [(0, "queued"), (1, "sent")], created=-5)
    sim.set_fault(Provider.SENTDM, "down")
    app = make_app(quick(settings))
    app.store.track([MessageRef(m.id, Provider.SENTDM)])
    async with app.run_test(size=(140, 30)) as pilot:
        bar = app.query_one(StatusBar)
        await wait_for(pilot, lambda: "offline" in str(bar.render()))
        assert app.store.get(m.id) is None
        sim.set_fault(Provider.SENTDM, None)
        await wait_for(pilot, lambda: app.store.get(m.id) is not None, timeout=12)
        await wait_for(pilot, lambda: "Sent.dm ● ok" in str(bar.render()))


async def test_markup_and_escapes_in_a_body_are_shown_literally(settings, world) -> None:
    m = world.add_message(
        Provider.SENDO,
        [(0, "created"), (1, "failed")],
        body=HOSTILE_BODY,
        error=("[red]E1[/red]", "bad \x1b]0;pwned\x07 title"),
        created=-5,
    )
    app = make_app(settings)
    app.store.track([MessageRef(m.id, Provider.SENDO)])
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: "[bold red]1234[/]" in detail_text(app))
        shown = detail_text(app)
        assert "[link=https://evil.example]click[/link]" in shown and "[red]E1[/red]" in shown
        assert "\x1b" not in shown and "\x07" not in shown and "\\x1b[2J" in shown
        listed = app.query_one(MessageList)

        def first_line() -> str:
            return "".join(seg.text for seg in listed.render_line(1))

        await wait_for(pilot, lambda: "[red]E1[/red]" in first_line())
        assert "\x1b" not in first_line()
        svg = app.export_screenshot()
        assert "pwned" in svg and "\x1b" not in svg


async def test_layouts_80x24_and_no_color(settings, world, monkeypatch) -> None:
    m = world.add_message(
        Provider.SENTDM, [(0, "queued"), (1, "failed")], error=("30003", "x"), created=-5
    )
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(settings)
    app.store.track([MessageRef(m.id, Provider.SENTDM)])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.store.get(m.id) is not None)
        assert app.no_color and app.screen.has_class("-narrow")
        detail, listed = app.query_one(DetailPane), app.query_one(MessageList)
        # both usable, stacked (the detail pane is laid out once its first message is read: wait
        # for that, not for the poller, which may answer first)
        await wait_for(pilot, lambda: listed.region.height >= 6 and detail.region.height >= 6)
        assert detail.region.y > listed.region.y
        await wait_for(pilot, lambda: "✗ failed" in "".join(s.text for s in listed.render_line(1)))
    app = make_app(settings)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("-wide")
        assert app.query_one(DetailPane).region.x > app.query_one(MessageList).region.x


async def test_help_palette_and_quit(settings) -> None:
    app = make_app(settings, start_poller=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in (
            "Look up a message ID",
            "Refresh selected",
            "Copy ID",
            "Clear history",
            "Filter: failed",
            "Theme",
        ):
            assert wanted in titles
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0 or app.return_code is None
    assert not app.is_running


async def test_welcome_when_nothing_is_configured(tmp_path) -> None:
    from tui.config import load

    settings = load(tmp_path / "none.toml", env={})
    settings = replace(
        settings, history=replace(settings.history, path=str(tmp_path / "h.sqlite3"))
    )
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "WelcomeScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ != "WelcomeScreen"


async def test_enter_on_an_id_hidden_by_the_filter_shows_it(settings, world, sim) -> None:
    inside = world.add_message(Provider.SENDO, [(0, "created"), (1, "delivered")], created=-5)
    outside = world.add_message(
        Provider.SENTDM, [(0, "queued"), (1, "failed")], error=("30007", "x"), created=-5
    )
    app = make_app(settings, start_poller=False, campaign="launch")
    app.store.track([MessageRef(inside.id, Provider.SENDO)], campaign="launch")
    app.store.track([MessageRef(outside.id, Provider.SENTDM)])
    async with app.run_test(size=(120, 30)) as pilot:
        listed = await listed_ready(pilot)
        assert listed.model.count() == 1
        await pilot.press("slash")
        await type_text(pilot, outside.id)
        await pilot.press("enter")
        await wait_for(pilot, lambda: listed.selected_id == outside.id)
        assert listed.model.count() == 2  # the filter that hid it was cleared
        top = int(listed.scroll_offset.y)
        assert top <= listed.cursor < top + listed.size.height - 1  # and its row is on screen
        await wait_for(
            pilot, lambda: "30007" in detail_text(app)
        )  # and it was refreshed from the provider
        assert len(sim.requests_for(outside.id)) >= 1


async def test_freshness_is_honest_when_nothing_changes(settings, world) -> None:
    """A poll that finds the same status still updates 'polled N s ago' in the list and the detail."""
    live(world)
    m = world.add_message(Provider.SENTDM, [(0, "queued"), (1, "sent")], created=-5)
    app = make_app(quick(settings))
    app.store.track([MessageRef(m.id, Provider.SENTDM)])
    async with app.run_test(size=(120, 30)) as pilot:
        listed = app.query_one(MessageList)
        await wait_for(
            pilot,
            lambda: (r := listed.model.cached_row(0)) is not None and r.last_polled is not None,
        )
        first = listed.model.cached_row(0).last_polled
        await wait_for(pilot, lambda: listed.model.cached_row(0).last_polled > first + 0.5)
        await wait_for(pilot, lambda: app.query_one(DetailPane).stored.last_polled > first + 0.5)


async def test_import_copy_and_export_from_the_app(settings, world, tmp_path) -> None:
    msgs = [
        world.add_message(Provider.SENDO, [(0, "created"), (1, "delivered")], created=-5)
        for _ in range(3)
    ]
    ids = tmp_path / "launch.txt"
    ids.write_text("\n".join(f"sendo:{m.id}" for m in msgs) + "\nnot-an-id\n")
    app = make_app(settings)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.press("i")
        assert type(app.screen).__name__ == "ImportScreen"
        app.screen.query_one("#import-path", Input).value = str(ids)
        app.screen.query_one("#import-name", Input).value = "launch"
        await pilot.press("enter")
        listed = app.query_one(MessageList)
        await wait_for(
            pilot,
            lambda: (
                app.dashboard.message_list.model.filter.campaign == "launch"
                and listed.model.count() == 3
            ),
        )
        await wait_for(pilot, lambda: any("line 4" in n and "3 IDs read" in n for n in toasts(app)))
        await wait_for(
            pilot,
            lambda: (
                app.store.status_counts(app.dashboard.message_list.model.filter) == {"delivered": 3}
            ),
        )
        await pilot.press("c")
        assert app.clipboard == listed.selected_id
        await wait_for(pilot, lambda: app.query_one(DetailPane).stored is not None)
        await pilot.press("C")
        assert json.loads(app.clipboard)["id"] == listed.selected_id
        app.dashboard.action_export("json")
        await wait_for(pilot, lambda: any(n.startswith("Exported 3 messages") for n in toasts(app)))
        exported = next(settings.history_path().parent.glob("exports/*.json"))
        assert {item["id"] for item in json.loads(exported.read_text())} == {m.id for m in msgs}


async def test_summary_counts_and_filter_from_it(settings, world) -> None:
    failed = world.add_message(
        Provider.SENTDM, [(0, "queued"), (1, "failed")], error=("30007", "filtered"), created=-5
    )
    ok = world.add_message(Provider.SENDO, [(0, "created"), (1, "delivered")], created=-5)
    app = make_app(settings, campaign="launch")
    app.store.track(
        [MessageRef(failed.id, Provider.SENTDM), MessageRef(ok.id, Provider.SENDO)],
        campaign="launch",
    )
    async with app.run_test(size=(140, 40)) as pilot:
        from textual.widgets import OptionList

        await wait_for(pilot, lambda: app.store.status_counts() == {"failed": 1, "delivered": 1})
        app.dashboard.summary_panel(show=True)
        options = app.query_one("#summary-filters", OptionList)
        await wait_for(pilot, lambda: any((o.id or "") == "error:30007" for o in options.options))
        summary_text = str(app.query_one("#summary-rates").render())
        assert "settled (2/2)" in summary_text and "failed 50.0%" in summary_text
        options.focus()
        options.highlighted = next(
            i for i, o in enumerate(options.options) if o.id == "error:30007"
        )
        await pilot.press("enter")
        listed = app.query_one(MessageList)
        await wait_for(
            pilot,
            lambda: (
                app.dashboard.message_list.model.filter.error_code == "30007"
                and listed.model.count() == 1
            ),
        )
        assert (
            listed.model.cached_row(0).id == failed.id
            and app.dashboard.message_list.model.filter.campaign == "launch"
        )


async def test_leaving_right_after_the_first_frame_is_clean(settings) -> None:
    """Quit as the first frame with rows is written (the live part is mounted after it, and was
    mounted into a screen already closing: a crash): the app ends cleanly."""
    from benchmarks.startup_child import stop_at_first_frame
    from tui.app.crash import log_file

    app = make_app(settings)
    app.store.track([MessageRef("8ba7b830-9dad-11d1-80b4-00c04fd430c8", Provider.SENDO)])
    stop_at_first_frame(app, lambda: bool(app.query(MessageList)) and listed_drawn(app))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: not app.is_running, timeout=10)
    assert app.return_code in (0, None) and app._exception is None
    assert not log_file().exists()


def listed_drawn(app: SendwatchApp) -> bool:
    listed = app.query_one(MessageList)
    return listed.ready and bool(listed._drawn)
