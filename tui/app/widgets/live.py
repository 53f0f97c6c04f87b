"""The dashboard's live part, without a look of its own: it runs the monitor and tells the user
what the monitor reports.

The screen mounts it once the first view is on screen (nothing here is needed for the first
frame, not even its imports); mounted, it starts the monitor, runs its long-running parts in
workers of their own (the poll loops, a Sendo campaign's listing, telling the poller what is on
screen), asks it every second what changed (provider health), builds the webhook receiver for `--listen`, and stops it all when it is
unmounted. The monitor's events reach it as messages (`tui.app.messages`): it toasts what needs
the user (a watched message failing, a provider refusing the key, a loop restarting…) and lets
every message bubble on to the screen, which redraws what changed.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker

from tui.app import messages
from tui.app.failures import BackgroundFailure, worker_failure
from tui.app.options import LiveOptions
from tui.app.toasts import failure_toasts, part, toast_text
from tui.config import Settings
from tui.model import Provider
from tui.services.monitor import Monitor
from tui.services.monitor_events import MonitorEvent
from tui.store import Store

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from tui.webhooks import WebhookReceiver

#: failures that arrive together are told together (grouped by code beyond three)
FAILURE_GATHER = 0.25


class LiveMonitor(Widget):
    DEFAULT_CSS = "LiveMonitor { display: none; }"
    WORKER_LABELS = {
        "start": "Starting the provider clients",
        "poller": "Polling",
        "discover": "Listing the Sendo campaign",
        "focus": "Polling what is on screen",
        "notify": "Failure notice",
    }

    class Started(Message):
        """The provider clients exist: lookups, refreshes and sends can go out."""

        def __init__(self, receiver: WebhookReceiver | None) -> None:
            self.receiver = receiver  # the webhook receiver inside the app, if it listens
            super().__init__()

    def __init__(
        self,
        settings: Settings,
        store: Store,
        options: LiveOptions,
        *,
        since: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`since`: the store revision the first view was read at (others' later writes are news)."""
        super().__init__()
        self.options = options
        self.since = since
        self.receiver: WebhookReceiver | None = None  # the one inside the app (`--listen`)
        # the monitor's events become messages of this widget (post_message is thread-safe);
        # those nobody here stops bubble on to the screen
        self.monitor = Monitor(
            settings,
            store,
            on_event=self._post_news,
            clock=clock,
            polling=options.poll,
            elect=options.elect,
        )
        self._focus: tuple[str | None, tuple[str, ...]] = (None, ())
        self._newly_failed: list[str] = []
        self._last_error: dict[Provider | None, str] = {}

    def _post_news(self, event: MonitorEvent) -> None:
        """The monitor's sink: on its loop or from the change watcher's thread (thread-safe)."""
        self.post_message(messages.news(event))

    # -- running the monitor ------------------------------------------------------------------
    def on_mount(self) -> None:
        self._start()

    async def _attach_receiver(self, host: str, port: int) -> None:
        """`--listen`: the webhook receiver, built here (its modules load in a thread)."""
        webhooks = await asyncio.to_thread(importlib.import_module, "tui.webhooks")
        monitor = self.monitor
        credentials = webhooks.WebhookCredentials.from_settings(monitor.settings)
        if not credentials.served():
            self.notify(
                "--listen: no webhook secret or token is configured (SENT_DM_WEBHOOK_SECRET, "
                "SENDO_WEBHOOK_TOKEN), so nothing is received",
                severity="warning",
                timeout=15,
            )
            return
        self.receiver = webhooks.WebhookReceiver(
            monitor.store,
            credentials,
            host=host,
            port=port,
            policy=monitor.policy,
            on_applied=monitor.pushed,
        )
        monitor.receiver = self.receiver

    @work(group="start", exit_on_error=False)
    async def _start(self) -> None:
        if self.options.listen is not None:
            await self._attach_receiver(*self.options.listen)
        await self.monitor.start(self.since)
        self._poll()
        self.set_interval(1.0, self.monitor.check)  # health changes, a failing change watcher
        self.tell_focus(*self._focus)
        if self.options.discover:
            self.keep_listing(self.options.discover, self.options.campaign)
        self.post_message(self.Started(self.receiver))

    @work(group="poller", exit_on_error=False)
    async def _poll(self) -> None:
        await self.monitor.poll()

    @work(group="discover", exit_on_error=False)
    async def keep_listing(self, campaign_id: str, name: str | None) -> None:
        """List a Sendo campaign every minute while the app runs: messages sent later join it."""
        await self.monitor.keep_listing(campaign_id, name)

    def tell_focus(self, selected: str | None, visible: tuple[str, ...]) -> None:
        """What is on screen: the poller asks those more often (the newest focus wins)."""
        self._focus = (selected, visible)
        if self.monitor.ready:
            self._set_focus(selected, visible)

    @work(group="focus", exclusive=True, exit_on_error=False)
    async def _set_focus(self, selected: str | None, visible: tuple[str, ...]) -> None:
        await self.monitor.set_focus(selected, visible)

    async def on_unmount(self) -> None:
        await self.monitor.stop()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS)
        if failure is not None:
            self.post_message(failure)

    # -- telling the user (the messages bubble on to the screen) ----------------------------------
    def on_answer_stored(self, message: messages.AnswerStored) -> None:
        """A watched message failing is toasted (several at once, together); a delivery if asked."""
        event = message.event
        if event.newly_failed:
            if not self._newly_failed:
                self.set_timer(FAILURE_GATHER, self._tell_failures)
            self._newly_failed.append(event.message_id)
        elif event.newly_delivered and self.monitor.settings.polling.notify_delivered:
            self.notify(toast_text("{} delivered", event.message_id[:8]))

    def _tell_failures(self) -> None:
        failed, self._newly_failed = self._newly_failed, []
        if failed:
            self.tell_failures(failed)

    @work(group="notify", exit_on_error=False)
    async def tell_failures(self, ids: list[str]) -> None:
        store = self.monitor.store
        rows = await asyncio.to_thread(lambda: [r for i in ids if (r := store.row(i)) is not None])
        for text in failure_toasts(rows):
            self.notify(text, severity="error", timeout=8)

    def on_poll_failed(self, message: messages.PollFailed) -> None:
        """Only what needs the user (auth, a provider really down, answers off the documented API),
        once per kind of trouble until the provider answers again."""
        event = message.event
        if not event.needs_user:
            return
        text = part(event.error, 500)
        key = text.split(";")[0]
        if self._last_error.get(event.provider) != key:
            self._last_error[event.provider] = key
            auth = "auth" in type(event.error).__name__.lower()
            severity: SeverityLevel = "error" if event.provider is None or auth else "warning"
            self.notify(text, severity=severity, timeout=10)

    def on_health_changed(self, message: messages.HealthChanged) -> None:
        event = message.event
        if event.recovered:
            self.notify(f"{event.provider.label} is answering again.")
            self._last_error.pop(event.provider, None)

    def on_loop_crashed(self, message: messages.LoopCrashed) -> None:
        owner = message.event.owner
        name = owner.label if owner else "unresolved IDs"
        self.post_message(
            BackgroundFailure(
                f"Polling ({name})",
                message.event.error,
                f"poll loop for {name}",
                "it restarts by itself shortly",
            )
        )

    def on_receiver_started(self, message: messages.ReceiverStarted) -> None:
        self.notify(toast_text("Receiving webhooks on {}", message.event.base_url), timeout=6)

    def on_receiver_unavailable(self, message: messages.ReceiverUnavailable) -> None:
        self.notify(toast_text("Webhooks: {}", message.event.reason), severity="error", timeout=15)

    def on_watcher_failed(self, message: messages.WatcherFailed) -> None:
        label = "Watching the history for other instances' changes"
        error, errors = message.event.error, message.event.errors
        if error is not None:
            extra = "this dashboard still shows its own updates"
            self.post_message(BackgroundFailure(label, error, "change watcher", extra))
        else:
            self.notify(f"{label} failed {errors} times; retrying", severity="warning")

    def on_campaign_listing_failed(self, message: messages.CampaignListingFailed) -> None:
        event = message.event
        self.notify(
            toast_text(
                "Listing Sendo campaign {} failed: {}", event.campaign_id, part(event.error, 300)
            ),
            severity="warning",
        )
