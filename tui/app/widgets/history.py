"""The history as a whole, without a look of its own: what is done to all of it at once.

Queue every pending message for a poll now, clear it (after the screen asked), export a view to a
file, prune what is older than the settings keep, and keep the list of campaigns the command
palette offers (Textual asks for commands on every keystroke: no query there). Each is a worker
reading or writing in a thread, labelled for when it fails; `Changed` tells the screen to re-read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual import work
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker

from tui.app.failures import worker_failure
from tui.app.toasts import toast_text
from tui.config import Settings
from tui.services.monitor import Monitor
from tui.store import ListFilter, Store

#: how often the palette's list of campaigns is read again
CAMPAIGNS_EVERY = 10.0


class History(Widget):
    DEFAULT_CSS = "History { display: none; }"
    WORKER_LABELS = {
        "refresh-all": "Queueing every pending message",
        "clear": "Clearing the history",
        "export": "Export",
        "prune": "Pruning old history",
        "campaigns": "Listing campaigns",
    }

    class Changed(Message):
        """Messages were removed: whatever shows them reads again."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        monitor: Monitor,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.monitor = monitor
        self.clock = clock
        self.campaigns: list[tuple[str, int]] = []  # (name, messages), for the palette

    def start(self) -> None:
        """Once the dashboard is live: prune, then keep the campaigns' list fresh."""
        self.prune()
        self.refresh_campaigns()
        self.set_interval(CAMPAIGNS_EVERY, self.refresh_campaigns)

    @work(group="campaigns", exclusive=True, exit_on_error=False)
    async def refresh_campaigns(self) -> None:
        self.campaigns = await asyncio.to_thread(self.store.campaigns)

    @work(group="prune", exit_on_error=False)
    async def prune(self) -> None:
        kept, now = self.settings.history, self.clock()
        await asyncio.to_thread(
            lambda: self.store.prune(
                retention_days=kept.retention_days, max_messages=kept.max_messages, now=now
            )
        )

    @work(group="refresh-all", exclusive=True, exit_on_error=False)
    async def poll_all_now(self) -> None:
        count = await asyncio.to_thread(self.store.make_all_due, self.clock())
        self.notify(
            f"{count} pending messages queued for a poll now (final ones are never re-asked)."
        )
        self.monitor.wake()

    @work(group="clear", exit_on_error=False)
    async def clear(self) -> None:
        await asyncio.to_thread(self.store.clear)
        self.post_message(self.Changed())
        self.notify("History cleared")

    @work(group="export", exit_on_error=False)
    async def export(self, fmt: str, flt: ListFilter) -> None:
        """The view, as CSV or JSON, to a dated file in `exports/` next to the history."""
        from tui.services.exports import export_to_folder

        folder = self.settings.history_path().parent / "exports"
        try:
            count, target = await asyncio.to_thread(export_to_folder, self.store, flt, fmt, folder)
        except OSError as exc:
            self.notify(toast_text("Export failed: {}", exc.strerror), severity="error")
            return
        self.notify(toast_text("Exported {} messages to {}", count, target), timeout=12)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS)
        if failure is not None:
            self.post_message(failure)
