"""The Textual application: composes the regions, wires keys to actions, runs the workers.

Network and disk work never runs on the UI's turn of the event loop: lookups and the poller are
async workers (httpx), store writes go through `asyncio.to_thread` or thread workers. The list
reads small pages from SQLite on demand (an indexed query of a few hundred microseconds).
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
from tui.app.list_model import PAGE_SIZE, ListModel
from tui.app.query import parse_query
from tui.app.widgets.detail_pane import DetailPane
from tui.app.widgets.message_list import MessageList
from tui.app.widgets.status_bar import StatusBar, StatusSnapshot
from tui.config import Settings
from tui.errors import NotFoundError, RateLimitedError, SendwatchError, UnavailableError
from tui.ids import MessageRef, looks_like_id, parse_ref
from tui.model import Provider, Status
from tui.polling.policy import PollPolicy, Priority
from tui.polling.record import record_lookup
from tui.providers.budget import Health, HealthState
from tui.serialize import message_to_dict
from tui.store.history import HistoryStore, ListFilter
from tui.textsafe import safe_text


if TYPE_CHECKING:  # imported after the first frame: not needed to draw it
    from tui.polling.poller import Poller, PollUpdate
    from tui.providers.lookup import Providers


class SendwatchApp(CampaignActions, App[None]):
    CSS_PATH = Path(__file__).parent / "sendwatch.tcss"  # absolute: subclasses live elsewhere
    TITLE = "sendwatch"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [  # ids are what `[keys]` in the config remaps
        Binding("slash", "find", "Find/lookup", id="find"),
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("R", "refresh_all", "Refresh all", show=False, id="refresh_all"),
        Binding("v", "toggle_raw", "Raw", id="raw"),
        Binding("c", "copy_id", "Copy ID", id="copy_id"),
        Binding("C", "copy_json", "Copy JSON", show=False, id="copy_json"),
        Binding("s", "toggle_summary", "Summary", id="summary"),
        Binding("i", "import_ids", "Import", show=False, id="import"),
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
        store: HistoryStore,
        *,
        demo: bool = False,
        initial_filter: ListFilter | None = None,
        campaign: str | None = None,
        startup_notes: list[str] | None = None,
        clock: Callable[[], float] = time.time,
        start_poller: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.demo = demo
        self.clock = clock
        self.policy = PollPolicy.from_settings(settings.polling)
        self.campaign = campaign  # the summary's subject
        self.startup_notes = startup_notes or []
        self.model = ListModel(store, initial_filter if initial_filter is not None else ListFilter(campaign=campaign))
        self.providers: Providers | None = None
        self.poller: Poller | None = None
        self.start_poller = start_poller
        self._pending: set[str] = set()
        self._failures: list[str] = []
        self._last_error: dict[Provider | None, str] = {}
        self._last_health: dict[Provider, HealthState] = {}
        self._counts: dict[str, int] = {}
        self._pending_filter: ListFilter | None = None
        self._view_refreshed = 0.0
        self._behind = 0
        self._last_focus: tuple[str | None, tuple[str, ...]] = (None, ())
        if settings.ui.theme in self.available_themes:
            self.theme = settings.ui.theme
        if settings.keys:
            self.set_keymap(settings.keys)

    # -- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        yield Input(placeholder="/ filter (text, status:failed, provider:sendo, error:CODE) — or paste an ID + Enter",
                    id="find")
        with Horizontal(id="main"):
            with Vertical(id="list-region"):
                yield MessageList(self.model, clock=self.clock, id="messages")
            yield DetailPane(clock=self.clock, id="detail")
        yield Footer()

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    def on_mount(self) -> None:
        for warning in [*self.store.warnings, *self.startup_notes]:
            self.notify(safe_text(warning), severity="warning", timeout=15)
        self.query_one(MessageList).reload(keep_selection=False)
        self.query_one(MessageList).focus()
        self._refresh_status()
        if not self.settings.configured_providers() and not self.demo:
            from tui.app.screens.welcome import WelcomeScreen

            self.push_screen(WelcomeScreen(str(self.settings.path)))
        self.call_after_refresh(self._go_live)

    def _go_live(self) -> None:
        """After the first frame: provider clients, the poller and the periodic refreshes."""
        from tui.polling.poller import Poller
        from tui.providers.lookup import Providers

        self.providers = Providers(self.settings)
        self.poller = Poller(self.store, self.providers, self.policy, on_update=self._on_poll_update, on_error=self._on_poll_error)
        self.set_interval(1.0, self._tick)
        self.set_interval(0.25, self._flush_updates)
        self.set_interval(2.0, self.update_summary)
        self.count_statuses()
        if self.campaign is not None and self.size.width >= 110:
            self.summary_panel(show=True)  # small terminals: `s` shows it
        self._tick()  # tell the poller what is on screen before it starts
        if self.start_poller and self.providers.clients:
            self.run_worker(self.poller.run(), group="poller", exclusive=True, exit_on_error=False)
        self.prune_history()

    async def on_unmount(self) -> None:
        if self.poller:
            self.poller.stop()
        if self.providers:
            await self.providers.aclose()

    # -- list and detail --------------------------------------------------------------------
    def on_message_list_highlighted(self, event: MessageList.Highlighted) -> None:
        self.load_detail(event.message_id)

    def on_message_list_opened(self, event: MessageList.Opened) -> None:
        self.query_one(DetailPane).focus()

    @work(group="detail", exclusive=True, exit_on_error=False)
    async def load_detail(self, message_id: str | None) -> None:
        if message_id is None:
            self.detail.show(None)
            return
        stored = await asyncio.to_thread(self.store.get, message_id)
        if stored is None:
            row = await asyncio.to_thread(self.store.row, message_id)
            waiting = f"{message_id}: waiting for the first answer from the provider."
            if row and row.last_error:
                waiting += f"\nLast attempt: {safe_text(row.last_error, single_line=True, limit=300)}"
            self.detail.show(None, waiting)
            return
        if self.query_one(MessageList).selected_id == message_id:
            self.detail.show(stored)

    # -- find / lookup ----------------------------------------------------------------------
    def action_find(self) -> None:
        self.query_one("#find", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "find":
            return
        query = parse_query(event.value, ListFilter(campaign=self.model.filter.campaign))
        if query.ref is None:
            self._apply_filter(query.filter)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "find":
            return
        query = parse_query(event.value, ListFilter(campaign=self.model.filter.campaign))
        if query.problem:
            self.notify(query.problem, severity="warning")
        if query.ref is None and looks_like_id(event.value):
            try:
                parse_ref(event.value)
            except SendwatchError as exc:
                self._show_error(exc)
                return
        if query.ref is not None:
            self.goto_id(query.ref)
            return
        self._apply_filter(query.filter)
        self.query_one(MessageList).focus()

    def _apply_filter(self, flt: ListFilter) -> None:
        if flt != self.model.filter and flt != self._pending_filter:
            self.reload_view(flt)

    def reload_view(self, flt: ListFilter | None = None) -> None:
        """Re-read the list (a new filter or sort, rows added or removed) in the background."""
        flt = self.model.filter if flt is None else flt
        self._pending_filter = flt
        self.filter_list(flt)

    @work(group="filter", exclusive=True, exit_on_error=False)
    async def filter_list(self, flt: ListFilter) -> None:
        await self._load_view(flt)

    async def _load_view(self, flt: ListFilter) -> None:
        """Count and read the first page of a view in threads: typing never waits for a scan.
        The only way the list is re-read after start-up (callers set `_pending_filter` first)."""
        listed = self.query_one(MessageList)
        selected, sort = listed.selected_id, self.model.sort

        # count and first page in parallel (separate reader connections); the selection stays
        # where it is if it is on the first page, otherwise the new view starts at its top
        count, first = await asyncio.gather(asyncio.to_thread(self.store.count, flt),
                                            asyncio.to_thread(self.store.page, flt, 0, PAGE_SIZE, sort))
        position = next((i for i, row in enumerate(first) if row.id == selected), None)
        if self._pending_filter != flt:
            return  # a newer filter was asked for meanwhile
        self.model.prime(flt, count, first)
        listed.reload(position=position, primed=True)
        self._pending_filter = None
        self.count_statuses()

    @work(group="lookup", exclusive=True, exit_on_error=False)
    async def goto_id(self, ref: MessageRef) -> None:
        """Enter on an ID: select it if history has it (refreshing it), else look it up."""
        row = await asyncio.to_thread(self.store.row, ref.id)
        if row is None or (ref.provider is not None and row.provider not in (None, ref.provider.value)):
            await self._lookup(ref)
            return
        await self._show_message(ref.id)
        self.refresh_selected()

    async def _show_message(self, message_id: str) -> None:
        """Re-read the view (clearing the filter if it hides the message) and select the message."""
        position = await asyncio.to_thread(self.store.position, message_id, self.model.filter, self.model.sort)
        flt = self.model.filter if position is not None else ListFilter()
        if position is None:
            position = await asyncio.to_thread(self.store.position, message_id, flt, self.model.sort)
        self._pending_filter = flt
        await self._load_view(flt)
        self.query_one("#find", Input).value = ""
        listed = self.query_one(MessageList)
        listed.select_id(message_id, position)
        listed.focus()

    async def _lookup(self, ref: MessageRef) -> None:
        if self.providers is None:
            return
        self.detail.show(None, f"Looking up {ref} at {ref.provider.label if ref.provider else 'every configured provider'}…")
        try:
            msg = await self.providers.fetch(ref)
        except SendwatchError as exc:
            self._show_error(exc)
            return
        await asyncio.to_thread(record_lookup, self.store, self.policy, msg, self.clock(), Priority.SELECTED)
        await self._show_message(msg.id)
        if self.poller:
            self.poller.wake()

    def _show_error(self, exc: SendwatchError) -> None:
        text = safe_text(str(exc))
        self.detail.show(None, text)
        self.notify(text, severity="error", timeout=10)

    # -- refresh ----------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.refresh_selected()

    @work(group="refresh", exclusive=True, exit_on_error=False)
    async def refresh_selected(self) -> None:
        if self.providers is None:
            return
        message_id = self.query_one(MessageList).selected_id
        if not message_id:
            return
        provider = await asyncio.to_thread(self.store.provider_of, message_id)
        try:
            msg = await self.providers.fetch(MessageRef(message_id, provider))
            if msg.provider is Provider.SENTDM:
                client = self.providers.client(Provider.SENTDM)
                activities = await client.fetch_activities(message_id)  # type: ignore[attr-defined]
                await asyncio.to_thread(self.store.add_events, message_id, activities)
        except SendwatchError as exc:
            self.notify(safe_text(str(exc)), severity="error", timeout=8)
            return
        await asyncio.to_thread(record_lookup, self.store, self.policy, msg, self.clock(), Priority.SELECTED)
        self._pending.add(message_id)
        self.load_detail(message_id)

    def action_refresh_all(self) -> None:
        self.refresh_all()

    @work(group="refresh-all", exclusive=True, exit_on_error=False)
    async def refresh_all(self) -> None:
        count = await asyncio.to_thread(self.store.make_all_due, self.clock())
        self.notify(f"{count} pending messages queued for a poll now (final ones are never re-asked).")
        if self.poller:
            self.poller.wake()

    # -- live updates from the poller -------------------------------------------------------
    def _on_poll_update(self, update: PollUpdate) -> None:
        # every answer moves "last polled", so its row is re-read even when the status did not change
        self._pending.add(update.message_id)
        if update.current is Status.FAILED and update.previous not in (None, Status.FAILED):
            self._failures.append(update.message_id)
        elif update.current is Status.DELIVERED and update.previous not in (None, Status.DELIVERED) and self.settings.polling.notify_delivered:
            self.notify(f"{update.message_id[:8]} delivered")

    def _on_poll_error(self, provider: Provider | None, exc: SendwatchError) -> None:
        """Background trouble: a toast only when it needs the user (auth, a provider really down,
        answers that are not the documented API); single retryable failures only show in the status line."""
        client = self.providers.clients.get(provider) if self.providers and provider else None
        if isinstance(exc, (UnavailableError, RateLimitedError, NotFoundError)) and not (client and client.budget.circuit_open):
            return
        text = safe_text(str(exc))
        key = text.split(";")[0]
        if self._last_error.get(provider) != key:
            self._last_error[provider] = key
            self.notify(text, severity="error" if provider is None or "auth" in type(exc).__name__.lower() else "warning", timeout=10)

    def _flush_updates(self) -> None:
        if self._pending:
            ids, self._pending = self._pending, set()
            self.apply_updates(ids)
        if self._failures:
            failures, self._failures = self._failures, []
            self.notify_failures(failures)

    @work(group="updates", exit_on_error=False)
    async def apply_updates(self, ids: set[str]) -> None:
        rows = await asyncio.to_thread(lambda: {i: r for i in ids if (r := self.store.row(i)) is not None})
        listed = self.query_one(MessageList)
        if not listed.rows_changed(rows) and self._pending_filter is None:
            now = time.monotonic()
            if now - self._view_refreshed >= 1.0:  # re-read a filtered view at most once a second
                self._view_refreshed = now
                self.reload_view()
            else:
                self._pending.update(ids)  # not dropped: the next flush re-reads the view
        if listed.selected_id in ids:
            self.load_detail(listed.selected_id)
        self.count_statuses()

    @work(group="notify", exit_on_error=False)
    async def notify_failures(self, ids: list[str]) -> None:
        rows = await asyncio.to_thread(lambda: [r for i in ids if (r := self.store.row(i)) is not None])
        if len(rows) <= 3:
            for r in rows:
                code = safe_text(f"{r.error_code or ''} {r.error_message or ''}".strip(), single_line=True, limit=120)
                self.notify(f"{r.id[:8]} to {safe_text(r.to or '?', single_line=True, limit=20)} failed: {code or 'no reason given'}",
                            severity="error", timeout=8)
        else:
            codes: dict[str, int] = {}
            for r in rows:
                codes[r.error_code or "?"] = codes.get(r.error_code or "?", 0) + 1
            top = ", ".join(f"{safe_text(c, limit=20)} ×{n}" for c, n in sorted(codes.items(), key=lambda kv: -kv[1])[:4])
            self.notify(f"{len(rows)} messages failed ({top})", severity="error", timeout=8)

    # -- status line ------------------------------------------------------------------------
    @work(group="counts", exclusive=True, exit_on_error=False)
    async def count_statuses(self) -> None:
        now = self.clock()
        self._counts = await asyncio.to_thread(self.store.status_counts, self.model.filter)
        self._behind = await asyncio.to_thread(self.store.backlog, now)
        self._refresh_status()

    def _refresh_status(self) -> None:
        health = {p: self.providers.health(p) if self.providers else Health(HealthState.NOT_CONFIGURED) for p in Provider}
        for provider, h in health.items():
            before = self._last_health.get(provider)
            if before in (HealthState.OFFLINE, HealthState.AUTH_REJECTED, HealthState.RATE_LIMITED) and h.state is HealthState.OK:
                self.notify(f"{provider.label} is answering again.")
                self._last_error.pop(provider, None)
            self._last_health[provider] = h.state
        rate = self.providers.request_rate() if self.providers else 0.0
        eta = self._behind / rate if rate and self._behind else None
        self.query_one(StatusBar).show(StatusSnapshot(health, self._counts, self._behind, eta, self.demo))

    def _tick(self) -> None:
        self._refresh_status()
        listed = self.query_one(MessageList)
        listed.tick()
        if self.detail.stored:
            self.detail.redraw()
        focus = (listed.selected_id, tuple(listed.visible_ids()))
        if focus != self._last_focus and self.poller:
            self._last_focus = focus
            self.run_worker(self.poller.set_focus(focus[0], focus[1]), group="focus", exclusive=True, exit_on_error=False)

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
        self.notify("Sorted by last change" if self.model.sort == "changed" else "Sorted newest first")

    def action_copy_id(self) -> None:
        message_id = self.query_one(MessageList).selected_id
        if message_id:
            self.copy_to_clipboard(message_id)
            self.notify(f"Copied {message_id}")

    def action_copy_json(self) -> None:
        stored = self.detail.stored
        if stored:
            self.copy_to_clipboard(json.dumps(message_to_dict(stored.message, stored.fetched_at), indent=2))
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
        self.notify(f"Forgot {message_id[:8]}")

    def action_clear_history(self) -> None:
        from tui.app.screens.confirm import ConfirmScreen

        def done(yes: bool | None) -> None:
            if yes:
                self.clear_history()

        self.push_screen(ConfirmScreen("Clear the whole history? Every cached message and event is deleted."), done)

    @work(group="forget", exit_on_error=False)
    async def clear_history(self) -> None:
        await asyncio.to_thread(self.store.clear)
        self.reload_view()
        self.notify("History cleared")

    def filter_status(self, status: str | None) -> None:
        self._apply_filter(ListFilter(statuses=frozenset({status}) if status else frozenset(), campaign=self.model.filter.campaign))

    def filter_provider(self, provider: str | None) -> None:
        self._apply_filter(ListFilter(provider=provider, campaign=self.model.filter.campaign))

    @work(group="prune", exit_on_error=False, thread=True)
    def prune_history(self) -> None:
        self.store.prune(retention_days=self.settings.history.retention_days,
                         max_messages=self.settings.history.max_messages, now=self.clock())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from palette_commands(self)
