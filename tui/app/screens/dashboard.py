"""The dashboard screen: composes the regions, routes what they report up, sets views down.

Widgets own their state and reads and post what happened; `LiveMonitor`'s news arrives as
messages. This screen decides what follows (a filter typed -> the list's view, a highlighted row ->
the detail pane's message, a stored answer -> a redrawn row). Import and send are screens of their
own; the history as a whole (clear, export, prune, poll all now) is `History`'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker

from tui.app.failures import worker_failure
from tui.app.keys import DASHBOARD_KEYS
from tui.app.list_model import read_ahead
from tui.app.options import DashboardOptions
from tui.app.read_only import ReadOnlyGuard
from tui.app.toasts import part, toast_text
from tui.app.widgets.actions import REFUSED_WORDS, MessageActions
from tui.app.widgets.detail_pane import DetailPane
from tui.app.widgets.find_bar import FindBar
from tui.app.widgets.message_list import MessageList
from tui.app.widgets.status_bar import StatusBar
from tui.config import Settings
from tui.errors import SendwatchError
from tui.ids import MessageRef
from tui.store import ListFilter, Store

if TYPE_CHECKING:  # loaded once the first frame is on screen (start-up is measured)
    from tui.app import messages
    from tui.app.screens.import_ids import ImportDone
    from tui.app.widgets.history import History
    from tui.app.widgets.live import LiveMonitor
    from tui.app.widgets.summary import CampaignSummary
    from tui.providers.actions import Action
    from tui.services.monitor import Monitor

#: a lookup still unanswered after this long is kept as waiting and left to the poller
LOOKUP_DEADLINE = 30.0
LOOKING_UP = "Looking up"


class DashboardScreen(Screen[None]):
    BINDINGS = DASHBOARD_KEYS  # ids are what `[keys]` in the config remaps
    WORKER_LABELS = {"lookup": "Lookup"}

    def __init__(self, settings: Settings, store: Store, options: DashboardOptions) -> None:
        super().__init__()
        self.settings = settings
        self.guard = ReadOnlyGuard(settings)
        self.store = store
        self.options = options
        self.campaign = options.campaign
        self.live: LiveMonitor | None = None  # the monitor's part, mounted after the first frame
        self.history: History | None = None
        self.live_started = False  # the monitor's provider clients exist
        self.summary: CampaignSummary | None = None  # mounted the first time it is wanted
        first = options.initial_filter or ListFilter(campaign=self.campaign)
        # read while the rest of start-up runs (the command line starts it even earlier)
        self._first_view = options.first_view or read_ahead(store, first)
        self._first_rev: int | None = None

    # -- layout and lifecycle ----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        clock, base = self.options.clock, ListFilter(campaign=self.campaign)
        configured = self.settings.configured_providers()
        demo = self.options.demo
        yield StatusBar(self.store, configured, clock=clock, demo=demo, id="status-bar")
        yield FindBar(id="find")
        with Horizontal(id="main"):
            with Vertical(id="list-region"):
                first = self.options.initial_filter or base
                ahead = self._first_view
                yield MessageList(self.store, first, clock=clock, first_view=ahead, id="messages")
            yield DetailPane(self.store, clock=clock, id="detail")
        yield MessageActions(self.store, lambda: self.monitor, id="actions")
        yield Footer()

    @property
    def message_list(self) -> MessageList:
        return self.query_one(MessageList)

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    @property
    def find(self) -> FindBar:
        return self.query_one(FindBar)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def on_mount(self) -> None:
        self.find.base = ListFilter(campaign=self.campaign)
        self.message_list.focus()
        self.guard.announce(self.notify)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only mode: what changes something is shown greyed out (None), not run."""
        return None if self.guard.blocks(action) else True

    def on_message_list_ready(self, event: MessageList.Ready) -> None:
        """The first view is read: once it is on screen, go live and load the rest."""
        self._first_rev = event.rev
        self.call_after_refresh(self._go_live)

    def _go_live(self) -> None:
        """After the first frame: the live part (from the revision the first view was read at)
        and a campaign's summary. Not when the app is already leaving."""
        if not self.is_attached or not self.app.is_running:  # leaving: the screen may be detached
            return
        self.bring_live()
        if self.campaign is not None and self.size.width >= 110:
            self.summary_panel(show=True)  # small terminals: `s` shows it

    def bring_live(self) -> tuple[LiveMonitor, History]:
        """The monitor's part and the history's upkeep, mounted once: after the first frame, or
        sooner when a key needs them (nothing of theirs, not even an import, delays that frame)."""
        if self.live is None or self.history is None:
            from tui.app.widgets.history import History
            from tui.app.widgets.live import LiveMonitor

            settings, store, clock = self.settings, self.store, self.options.clock
            live = LiveMonitor(
                settings, store, self.options.live, since=self._first_rev, clock=clock
            )
            history = History(settings, store, live.monitor, clock=clock)
            self.live, self.history = live, history
            self.mount(live, history)
            self.status.monitor = self.detail.monitor = live.monitor
        return self.live, self.history

    @property
    def monitor(self) -> Monitor:
        return self.bring_live()[0].monitor

    def on_live_monitor_started(self, event: LiveMonitor.Started) -> None:
        """The provider clients exist: the status line says "ready" at once, and a campaign's
        summary can estimate when polling catches up (it knows the request rate now)."""
        self.live_started = True
        self.status.receiver = event.receiver
        self.status.refresh_line()
        if self.summary is not None:
            self.summary.refresh_summary()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS)
        if failure is None:
            return
        if event.worker.group == "lookup" and (self.detail.notice or "").startswith(LOOKING_UP):
            self.detail.show_notice(toast_text("Lookup failed: {}", failure.error))
        self.post_message(failure)

    # -- what the widgets report ----------------------------------------------------------------
    def on_message_list_highlighted(self, event: MessageList.Highlighted) -> None:
        self.detail.show_message(event.message_id)

    def on_message_list_opened(self, event: MessageList.Opened) -> None:
        self.detail.focus()

    def on_message_list_view_changed(self, event: MessageList.ViewChanged) -> None:
        self.status.filter = event.filter
        self.status.recount(delay=0.3)

    def on_message_list_viewed(self, event: MessageList.Viewed) -> None:
        if self.live is not None:
            self.live.tell_focus(event.selected, event.visible)

    def on_find_bar_filter_changed(self, event: FindBar.FilterChanged) -> None:
        if event.filter != self.message_list.model.filter:
            self.message_list.show(event.filter)
        if event.submitted:
            self.message_list.focus()

    def on_find_bar_lookup_requested(self, event: FindBar.LookupRequested) -> None:
        self.look_up(event.ref)

    def on_find_bar_refused(self, event: FindBar.Refused) -> None:
        if event.error is not None:
            self._show_error(event.error)
        else:
            self.notify(event.problem, severity="warning")

    def on_detail_pane_refreshed(self, event: DetailPane.Refreshed) -> None:
        self.message_list.note_changed([event.message_id])

    def on_detail_pane_forgotten(self, event: DetailPane.Forgotten) -> None:
        self.message_list.show()

    def on_campaign_summary_filter_chosen(self, event: CampaignSummary.FilterChosen) -> None:
        self.minimize()  # a summary filling the screen gives the list back
        self.message_list.show(event.view(self.message_list.model.filter.campaign))
        self.message_list.focus()

    # -- what the monitor reports (LiveMonitor has told the user what needs telling) ---------------
    def on_answer_stored(self, message: messages.AnswerStored) -> None:
        self._changed([message.event.message_id])

    def on_store_changed(self, message: messages.StoreChanged) -> None:
        """Another instance wrote: re-read those rows, or everything after deletes."""
        changes = message.event.changes
        if changes.truncated:
            self.message_list.show()
            self.detail.reload()
            self.status.recount()
        else:
            self._changed(changes.ids)

    def _changed(self, ids: list[str]) -> None:
        self.message_list.note_changed(ids)
        self.detail.note_changed(ids)
        self.status.recount()

    def on_health_changed(self, message: messages.HealthChanged) -> None:
        self.status.refresh_line()

    # -- looking up ---------------------------------------------------------------------------
    def action_find(self) -> None:
        self.find.focus()

    @work(group="lookup", exclusive=True, exit_on_error=False)
    async def look_up(self, ref: MessageRef) -> None:
        """Enter on an ID: select it if history has it (refreshing it), else ask the providers."""
        from tui.services.find import find_message
        from tui.services.lookup import describe_wait

        where = ref.provider.label if ref.provider else "every configured provider"
        looking = toast_text(LOOKING_UP + " {} at {}…", ref, where)
        self.detail.show_notice(looking)
        try:
            found = await find_message(
                self.monitor,
                ref,
                timeout=LOOKUP_DEADLINE,
                on_wait=lambda info: self.detail.show_notice(
                    f"{looking}\n{part(describe_wait(info))}"
                ),
            )
        except SendwatchError as exc:
            self._show_error(exc)
            return
        self.reveal(found.message_id)
        if found.known:
            self.detail.refresh_message(found.message_id)
        if found.waiting:
            self.notify(found.waiting, severity="warning", timeout=12)
        for note in found.notes:
            self.notify(toast_text("{}", part(note, 300)), severity="warning", timeout=8)

    def reveal(self, message_id: str) -> None:
        """Select a message: in the campaign's view if it is there, else among every message."""
        self.find.clear_quietly()
        self.message_list.show(self.find.base, select=message_id, fallback=ListFilter())
        self.message_list.focus()

    def _show_error(self, exc: SendwatchError) -> None:
        text = part(exc, 600)
        self.detail.show_notice(text)
        self.notify(text, severity="error", timeout=10)

    # -- keys on the selected message -----------------------------------------------------------
    def action_refresh(self) -> None:
        if self.message_list.selected_id:
            self.detail.refresh_message(self.message_list.selected_id)

    def action_toggle_raw(self) -> None:
        self.detail.toggle_raw()

    def action_copy_id(self) -> None:
        self.detail.copy_id()

    def action_copy_json(self) -> None:
        self.detail.copy_json()

    def action_forget(self) -> None:
        if not self.guard.refuse(self.notify, "forgetting a message"):
            self.detail.forget()

    def action_act(self, action: Action, every: bool = False) -> None:
        """e/E resend, u/U cancel (Sent.dm): the selected message / every eligible one in view."""
        if not self.guard.refuse(self.notify, REFUSED_WORDS[action]):
            view = self.message_list.model.filter if every else None
            self.query_one(MessageActions).ask(action, self.message_list.selected_id, view)

    def on_message_actions_acted(self, event: MessageActions.Acted) -> None:
        self._changed(event.ids)

    # -- views --------------------------------------------------------------------------------
    def action_back(self) -> None:
        if self.app.focused in (self.find, self.detail):
            self.message_list.focus()
        elif self.find.value or self.message_list.model.filter != self.find.base:
            self.find.clear_quietly()
            self.message_list.show(self.find.base)

    def action_toggle_sort(self) -> None:
        sort = "changed" if self.message_list.model.sort == "newest" else "newest"
        self.message_list.show(sort=sort)
        self.notify("Sorted by last change" if sort == "changed" else "Sorted newest first")

    def show_filter(self, status: str | None = None, provider: str | None = None) -> None:
        """Only this status or provider (the palette's filters), in the campaign shown."""
        statuses = frozenset({status}) if status else frozenset()
        campaign = self.message_list.model.filter.campaign
        self.message_list.show(ListFilter(statuses=statuses, provider=provider, campaign=campaign))

    def show_campaign(self, name: str | None) -> None:
        """Only this campaign's messages (None: every message), with its summary."""
        self.campaign = name if name is not None else self.campaign
        self.find.base = ListFilter(campaign=name)
        self.find.clear_quietly()
        self.message_list.show(self.find.base)
        if name is not None:
            self.summary_panel(show=True)

    def summary_panel(self, show: bool | None = None) -> CampaignSummary:
        """The summary panel, mounted the first time it is wanted (keeps start-up light)."""
        if self.summary is None:
            from tui.app.widgets.summary import CampaignSummary

            rate, clock = self.monitor.request_rate, self.options.clock
            self.summary = CampaignSummary(self.store, rate=rate, clock=clock, id="summary")
            self.summary.display = False
            self.query_one("#list-region").mount(self.summary, before=0)
        panel = self.summary
        if show is not None:
            panel.display = show
        panel.campaign = self.message_list.model.filter.campaign or self.campaign
        panel.refresh_summary()
        return panel

    def action_toggle_summary(self) -> None:
        self.summary_panel(show=not self.summary_panel().display)

    # -- the history as a whole ------------------------------------------------------------------
    def action_refresh_all(self) -> None:
        self.bring_live()[1].poll_all_now()

    def action_clear_history(self) -> None:
        from tui.app.screens.confirm import ConfirmScreen

        if self.guard.refuse(self.notify, "clearing the history"):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.bring_live()[1].clear()

        question = "Clear the whole history? Every cached message and event is deleted."
        self.app.push_screen(ConfirmScreen(question), answered)

    def action_export(self, fmt: str = "csv") -> None:
        self.bring_live()[1].export(fmt, self.message_list.model.filter)

    def on_history_changed(self, event: History.Changed) -> None:
        self.message_list.show()

    # -- import and send (screens of their own) ---------------------------------------------------
    def action_import_ids(self) -> None:
        from tui.app.screens.import_ids import ImportScreen

        self.app.push_screen(ImportScreen(self.store, self.monitor), self._imported)

    def _imported(self, done: ImportDone | None) -> None:
        if done is None:
            return
        self.bring_live()[1].refresh_campaigns()  # the palette offers it at once
        self.show_campaign(done.campaign)
        if done.listing is not None:
            self.bring_live()[0].keep_listing(done.listing, done.campaign)

    def action_send_message(self) -> None:
        from tui.app.screens.send import SendScreen

        if self.guard.refuse(self.notify, "sending"):
            return
        configured = self.settings.configured_providers()
        if not configured:
            hint = "No provider is configured: add a key first (see `sendwatch config path`)"
            self.notify(hint, severity="warning")
            return
        self.app.push_screen(SendScreen(configured, self.monitor), self._sent)

    def _sent(self, first_id: str | None) -> None:
        """The send screen told what was sent: show the first new message."""
        if first_id is not None:
            self.reveal(first_id)
