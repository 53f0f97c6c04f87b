"""The Textual application: composes the regions, wires keys to actions, runs the workers.

Network and disk work never runs on the UI's turn of the event loop: lookups and the poller are
async workers (httpx), store writes go through `asyncio.to_thread` or thread workers. The list
reads small pages from SQLite on demand (an indexed query of a few hundred microseconds).

Behaviour is split into mixins, one module each: `lookup_actions` (find bar, lookups, refresh),
`live` (poll updates, status line, failure toasts), `campaign_actions` (summary, import, export),
`toasts` (every toast is plain text), `workers` (a failed worker is told and cleaned up),
`crash` (the crash log), `terminal` (SIGHUP / a vanished terminal).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input

from tui.app.campaign_actions import CampaignActions
from tui.app.commands import palette_commands
from tui.app.crash import CrashReports
from tui.app.list_model import ListModel
from tui.app.live import LiveUpdates
from tui.app.lookup_actions import LookupActions
from tui.app.send_actions import SendActions
from tui.app.team import TeamLive
from tui.app.terminal import TerminalWatch
from tui.app.toasts import SafeNotify, toast_text
from tui.app.widgets.detail_pane import DetailPane
from tui.app.widgets.message_list import MessageList
from tui.app.widgets.status_bar import StatusBar
from tui.app.workers import WorkerFailures
from tui.config import Settings
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.providers.budget import HealthState
from tui.serialize import message_to_dict
from tui.store import ListFilter, Store

if TYPE_CHECKING:  # imported after the first frame: not needed to draw it
    from tui.polling.poller import Poller
    from tui.providers.lookup import Providers


class SendwatchApp(
    SafeNotify,
    CrashReports,
    WorkerFailures,
    TerminalWatch,
    LookupActions,
    LiveUpdates,
    CampaignActions,
    SendActions,
    TeamLive,
    App[None],
):
    """The dashboard. Its behaviour lives in the mixins (one module each); this class holds the
    layout, the state they share and the small actions."""

    CSS_PATH = Path(__file__).parent / "sendwatch.tcss"  # absolute: subclasses live elsewhere
    TITLE = "sendwatch"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [  # ids are what `[keys]` in the config remaps
        Binding("slash", "find", "Find", id="find"),
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("R", "refresh_all", "Refresh all", show=False, id="refresh_all"),
        Binding("v", "toggle_raw", "Raw", id="raw"),
        Binding("c", "copy_id", "Copy ID", id="copy_id"),
        Binding("C", "copy_json", "Copy JSON", show=False, id="copy_json"),
        Binding("s", "toggle_summary", "Summary", id="summary"),
        Binding("i", "import_ids", "Import", show=False, id="import"),
        Binding("m", "send_message", "Send", show=False, id="send"),
        Binding("o", "toggle_sort", "Sort", show=False, id="sort"),
        Binding("x", "forget", "Forget", show=False, id="forget"),
        Binding("t", "change_theme", "Theme", show=False, id="theme"),
        Binding("escape", "back", "Back", show=False),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        demo: bool = False,
        initial_filter: ListFilter | None = None,
        campaign: str | None = None,
        startup_notes: list[str] | None = None,
        clock: Callable[[], float] = time.time,
        start_poller: bool = True,
        listen: tuple[str, int] | None = None,
        elect: bool = True,
        discover: str | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.demo = demo
        self.clock = clock
        self.policy = PollPolicy.from_settings(settings.polling)
        self.campaign = campaign  # the summary's subject
        self.startup_notes = startup_notes or []
        self.model = ListModel(
            store, initial_filter if initial_filter is not None else ListFilter(campaign=campaign)
        )
        self.providers: Providers | None = None
        self.poller: Poller | None = None
        self.start_poller = start_poller
        self.listen = listen  # (host, port) of a webhook receiver to run inside the app
        self.elect = (
            elect  # share polling with other instances on the same history (one poller per account)
        )
        self.discover = (
            discover  # a Sendo campaign ID whose new messages are picked up while the app runs
        )
        self._pending: set[str] = set()
        self._failures: list[str] = []
        self._last_error: dict[Provider | None, str] = {}
        self._last_health: dict[Provider, HealthState] = {}
        self._counts: dict[str, int] = {}
        self._pending_filter: ListFilter | None = None
        self._view_refreshed = 0.0
        self._behind = 0
        self._last_focus: tuple[str | None, tuple[str, ...]] = (None, ())
        self._poller_restarts = 0
        self._worker_failures: dict[tuple[str, str], float] = {}
        self.known_campaigns: list[tuple[str, int]] = []  # for the palette, refreshed in a thread
        if settings.ui.theme in self.available_themes:
            self.theme = settings.ui.theme
        if settings.keys:
            self.set_keymap(settings.keys)

    # -- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        yield Input(
            placeholder="/ filter: text, status:failed, provider:sendo, error:CODE, or an ID + Enter",
            id="find",
        )
        with Horizontal(id="main"):
            with Vertical(id="list-region"):
                yield MessageList(self.model, clock=self.clock, id="messages")
            yield DetailPane(clock=self.clock, id="detail")
        yield Footer()

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    def on_mount(self) -> None:
        self.start_rev = (
            self.store.current_rev()
        )  # before the first read: later writes reach the change watcher
        for warning in [*self.store.warnings, *self.startup_notes]:
            self.notify(warning, severity="warning", timeout=15)  # plain text: see SafeNotify
        self.query_one(MessageList).reload(keep_selection=False)
        self.query_one(MessageList).focus()
        self._refresh_status()
        if not self.settings.configured_providers() and not self.demo:
            from tui.app.screens.welcome import WelcomeScreen

            self.push_screen(WelcomeScreen(str(self.settings.path)))
        self.watch_terminal()
        self.call_after_refresh(self._go_live)

    def _go_live(self) -> None:
        """After the first frame: provider clients, the poller and the periodic refreshes."""
        from tui.providers.lookup import Providers

        self.providers = Providers(self.settings)
        self._refresh_status()  # "not configured" becomes "ready" at once
        self.start_polling()
        self.set_interval(1.0, self._tick)
        self.set_interval(0.25, self._flush_updates)
        self.set_interval(2.0, self.update_summary)
        self.set_interval(10.0, self.refresh_campaigns)
        self.refresh_campaigns()
        self.count_statuses()
        if self.campaign is not None and self.size.width >= 110:
            self.summary_panel(show=True)  # small terminals: `s` shows it
        self._tick()  # tell the poller what is on screen before it starts
        self.prune_history()
        self.start_team_live()
        if self.discover:
            self.discover_campaign(self.discover)

    async def on_unmount(self) -> None:
        self.unwatch_terminal()
        await self.stop_team_live()
        if self.poller:
            self.poller.stop()
        if self.providers:
            await self.providers.aclose()

    # -- other actions ----------------------------------------------------------------------
    def action_back(self) -> None:
        find = self.query_one("#find", Input)
        listed = self.query_one(MessageList)
        if self.focused is find or self.focused is self.detail:
            listed.focus()
        elif find.value or self.model.filter != ListFilter(campaign=self.model.filter.campaign):
            find.value = ""
            self._apply_filter(ListFilter(campaign=self.model.filter.campaign))

    def action_toggle_raw(self) -> None:
        self.detail.show_raw = not self.detail.show_raw
        self.detail.redraw()

    def action_toggle_sort(self) -> None:
        self.model.set_sort("changed" if self.model.sort == "newest" else "newest")
        self.reload_view()
        self.notify(
            "Sorted by last change" if self.model.sort == "changed" else "Sorted newest first"
        )

    def action_copy_id(self) -> None:
        message_id = self.query_one(MessageList).selected_id
        if message_id:
            self.copy_to_clipboard(message_id)
            self.notify(toast_text("Copied {}", message_id))

    def action_copy_json(self) -> None:
        stored = self.detail.stored
        if stored:
            self.copy_to_clipboard(
                json.dumps(message_to_dict(stored.message, stored.fetched_at), indent=2)
            )
            self.notify("Copied the message as JSON")

    def action_help(self) -> None:
        from tui.app.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_forget(self) -> None:
        message_id = self.query_one(MessageList).selected_id
        if message_id:
            self.forget(message_id)

    @work(group="forget", exit_on_error=False)
    async def forget(self, message_id: str) -> None:
        await asyncio.to_thread(self.store.forget, message_id)
        self.reload_view()
        self.notify(toast_text("Forgot {}", message_id[:8]))

    def action_clear_history(self) -> None:
        from tui.app.screens.confirm import ConfirmScreen

        def done(yes: bool | None) -> None:
            if yes:
                self.clear_history()

        self.push_screen(
            ConfirmScreen("Clear the whole history? Every cached message and event is deleted."),
            done,
        )

    @work(group="forget", exit_on_error=False)
    async def clear_history(self) -> None:
        await asyncio.to_thread(self.store.clear)
        self.reload_view()
        self.notify("History cleared")

    def filter_status(self, status: str | None) -> None:
        self._apply_filter(
            ListFilter(
                statuses=frozenset({status}) if status else frozenset(),
                campaign=self.model.filter.campaign,
            )
        )

    def filter_provider(self, provider: str | None) -> None:
        self._apply_filter(ListFilter(provider=provider, campaign=self.model.filter.campaign))

    @work(group="campaigns", exclusive=True, exit_on_error=False, thread=True)
    def refresh_campaigns(self) -> None:
        """The palette lists campaigns; Textual asks for commands on every keystroke, so no query there."""
        self.known_campaigns = self.store.campaigns()

    @work(group="prune", exit_on_error=False, thread=True)
    def prune_history(self) -> None:
        self.store.prune(
            retention_days=self.settings.history.retention_days,
            max_messages=self.settings.history.max_messages,
            now=self.clock(),
        )

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from palette_commands(self)
