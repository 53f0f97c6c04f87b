"""The dashboard among others: a webhook receiver inside it, other instances' writes shown live.

`--listen [HOST:]PORT` runs `sendwatch listen`'s receiver on the app's own event loop; each event
it stores is shown like a poll answer. A `ChangeWatcher` notices what other instances (another
dashboard, `sendwatch listen` or `sendwatch poll`) wrote to the same history — SQLite's
`data_version` or PostgreSQL's NOTIFY — and re-reads exactly those rows.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tui.app.toasts import toast_text

if TYPE_CHECKING:
    from tui.app.app import SendwatchApp
    from tui.store import Changes
    from tui.webhooks.apply import Applied


class TeamLive:
    """Mixed into `SendwatchApp`."""

    def start_team_live(self: SendwatchApp) -> None:
        loop = asyncio.get_running_loop()  # the app's loop, where changes are applied
        self.run_worker(
            lambda: self._start_watcher(loop), group="team", thread=True, exit_on_error=False
        )
        if self.listen is not None:
            self.run_worker(self._start_receiver(), group="webhooks", exit_on_error=False)

    def _start_watcher(self: SendwatchApp, loop: asyncio.AbstractEventLoop) -> None:
        """In a thread (it reads the store): hand changes to the app's loop without waiting on it."""
        from tui.store.changes import ChangeWatcher

        def deliver(changes: Changes) -> None:
            try:
                loop.call_soon_threadsafe(self._on_store_changes, changes)
            except RuntimeError:
                pass  # the app has closed its loop: nothing left to show it on

        try:
            self.changes = ChangeWatcher(self.store, deliver, since=self.start_rev).start()
        except Exception as exc:  # noqa: BLE001 - live updates from others are a bonus, never fatal
            self.call_from_thread(
                self.report_failure,
                "Watching the history for other instances' changes",
                exc,
                "change watcher",
                "this dashboard still shows its own updates",
            )

    async def _start_receiver(self: SendwatchApp) -> None:
        from tui.webhooks import WebhookCredentials, WebhookReceiver

        host, port = self.listen
        credentials = WebhookCredentials.from_settings(self.settings)
        if not credentials.served():
            self.notify(
                "--listen: no webhook secret or token is configured (SENT_DM_WEBHOOK_SECRET, "
                "SENDO_WEBHOOK_TOKEN), so nothing is received",
                severity="warning",
                timeout=15,
            )
            return
        receiver = WebhookReceiver(
            self.store,
            credentials,
            host=host,
            port=port,
            policy=self.policy,
            on_applied=self._on_webhook_applied,
        )
        try:
            await receiver.start()
        except OSError as exc:
            self.notify(
                toast_text(
                    "Cannot listen on {}:{} ({})", host, port, exc.strerror or type(exc).__name__
                ),
                severity="error",
                timeout=15,
            )
            return
        self.webhooks = receiver
        self.notify(toast_text("Receiving webhooks on {}", receiver.base_url), timeout=6)

    def _on_webhook_applied(self: SendwatchApp, applied: Applied) -> None:
        """A pushed status was stored: show it like a poll answer (within the next flush)."""
        previous = applied.outcome.previous if applied.outcome is not None else applied.status
        self._note_transition(applied.message_id, previous, applied.status)

    def _on_store_changes(self: SendwatchApp, changes: Changes) -> None:
        """Another instance wrote: re-read those rows, or everything after deletes."""
        if self.poller is not None:
            self.poller.wake()  # another instance may have added work (an import, a webhook's new message)
        if changes.truncated:
            self.reload_view()
            selected = self.detail.stored
            if selected is not None:
                self.load_detail(selected.message.id)
        else:
            self._pending.update(changes.ids)

    async def stop_team_live(self: SendwatchApp) -> None:
        watcher = getattr(self, "changes", None)
        if watcher is not None:
            watcher.stop()
        receiver = getattr(self, "webhooks", None)
        if receiver is not None:
            await receiver.stop()
