"""Live updates: the poller's answers and errors, the status line, failure toasts, the once-a-second tick.

Provider text in toasts (error codes and messages, recipients) goes through `toasts.toast_text`, so it
is shown literally and can never be parsed as markup.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from textual import work
from textual.css.query import NoMatches

from tui.app.format import age
from tui.app.toasts import part, toast_text
from tui.app.widgets.message_list import MessageList
from tui.app.widgets.status_bar import StatusBar, StatusSnapshot
from tui.errors import NotFoundError, RateLimitedError, SendwatchError, UnavailableError
from tui.model import Provider, Status
from tui.providers.budget import Health, HealthState

if TYPE_CHECKING:
    from tui.app.app import SendwatchApp
    from tui.polling.poller import PollUpdate

#: an unexpected failure of the poll loops restarts them this many times, waiting longer each time
POLLER_RESTARTS = 5


class LiveUpdates:
    """Mixed into `SendwatchApp`."""

    # -- the poller -------------------------------------------------------------------------
    def start_polling(self: SendwatchApp) -> None:
        from tui.polling.poller import Poller

        if self.poller is not None:
            self.poller.stop()  # a failed run may have left sibling loops running: they end now
        from tui.polling.election import lease_for

        leases = (
            {
                owner: lease_for(self.settings, self.store, owner)
                for owner in (*self.providers.clients, None)
            }
            if self.elect
            else {}
        )
        self.poller = Poller(
            self.store,
            self.providers,
            self.policy,
            on_update=self._on_poll_update,
            on_error=self._on_poll_error,
            on_crash=self._on_poll_crash,
            clock=self.clock,
            leases=leases,
        )
        self._last_focus = (None, ())  # tell the new poller what is on screen at the next tick
        if self.start_poller and self.providers and self.providers.clients:
            self.run_worker(self.poller.run(), group="poller", exclusive=True, exit_on_error=False)

    def _recover_poller(self: SendwatchApp, error: BaseException) -> str:
        if time.monotonic() - getattr(self, "_poller_failed_at", 0.0) > 600:
            self._poller_restarts = (
                0  # ten quiet minutes: an old failure no longer counts against it
            )
        self._poller_failed_at = time.monotonic()
        self._poller_restarts += 1
        if self._poller_restarts > POLLER_RESTARTS:
            return "polling stopped; restart sendwatch"
        delay = min(60.0, 2.0**self._poller_restarts)
        self.set_timer(delay, self.start_polling)
        return f"polling restarts in {delay:.0f} s"

    def _on_poll_crash(self: SendwatchApp, provider: Provider | None, error: BaseException) -> None:
        """A provider's poll loop raised something unexpected; the poller restarts it after a backoff."""
        name = provider.label if provider else "unresolved IDs"
        self.report_failure(
            f"Polling ({name})", error, f"poll loop for {name}", "it restarts by itself shortly"
        )

    def _on_poll_update(self: SendwatchApp, update: PollUpdate) -> None:
        # every answer moves "last polled", so its row is re-read even when the status did not change
        self._note_transition(update.message_id, update.previous, update.current)

    def _note_transition(
        self: SendwatchApp, message_id: str, previous: Status | None, current: Status
    ) -> None:
        """A stored answer (poll or webhook): redraw its row; toast a new failure (or delivery, if asked)."""
        self._pending.add(message_id)
        if current is Status.FAILED and previous not in (None, Status.FAILED):
            self._failures.append(message_id)
        elif (
            current is Status.DELIVERED
            and previous not in (None, Status.DELIVERED)
            and self.settings.polling.notify_delivered
        ):
            self.notify(toast_text("{} delivered", message_id[:8]))

    def _on_poll_error(self: SendwatchApp, provider: Provider | None, exc: SendwatchError) -> None:
        """Background trouble: a toast only when it needs the user (auth, a provider really down,
        answers that are not the documented API); single retryable failures only show in the status line."""
        client = self.providers.clients.get(provider) if self.providers and provider else None
        if isinstance(exc, (UnavailableError, RateLimitedError, NotFoundError)) and not (
            client and client.budget.circuit_open
        ):
            return
        text = part(exc, 500)
        key = text.split(";")[0]
        if self._last_error.get(provider) != key:
            self._last_error[provider] = key
            self.notify(
                text,
                severity="error"
                if provider is None or "auth" in type(exc).__name__.lower()
                else "warning",
                timeout=10,
            )

    def _flush_updates(self: SendwatchApp) -> None:
        if self._pending:
            ids, self._pending = self._pending, set()
            self.apply_updates(ids)
        if self._failures:
            failures, self._failures = self._failures, []
            self.notify_failures(failures)

    @work(group="updates", exit_on_error=False)
    async def apply_updates(self: SendwatchApp, ids: set[str]) -> None:
        rows = await asyncio.to_thread(
            lambda: {i: r for i in ids if (r := self.store.row(i)) is not None}
        )
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
    async def notify_failures(self: SendwatchApp, ids: list[str]) -> None:
        rows = await asyncio.to_thread(
            lambda: [r for i in ids if (r := self.store.row(i)) is not None]
        )
        if len(rows) <= 3:
            for r in rows:
                reason = (
                    f"{r.error_code or ''} {r.error_message or ''}".strip() or "no reason given"
                )
                self.notify(
                    toast_text(
                        "{} to {} failed: {}", r.id[:8], part(r.to or "?", 20), part(reason, 120)
                    ),
                    severity="error",
                    timeout=8,
                )
        else:
            codes: dict[str, int] = {}
            for r in rows:
                codes[r.error_code or "?"] = codes.get(r.error_code or "?", 0) + 1
            top = ", ".join(
                f"{part(c, 20)} ×{n}" for c, n in sorted(codes.items(), key=lambda kv: -kv[1])[:4]
            )
            self.notify(
                toast_text("{} messages failed ({})", len(rows), top), severity="error", timeout=8
            )

    # -- status line ------------------------------------------------------------------------
    @work(group="counts", exclusive=True, exit_on_error=False)
    async def count_statuses(self: SendwatchApp, delay: float = 0.0) -> None:
        """Recount at most once a second, after `delay`: a newer call (keystroke, poll flush) replaces this one."""
        wait = max(delay, getattr(self, "_counted_at", 0.0) + 1.0 - time.monotonic())
        if wait > 0:
            await asyncio.sleep(wait)
        self._counted_at = time.monotonic()
        now = self.clock()
        self._counts = await asyncio.to_thread(self.store.status_counts, self.model.filter)
        self._behind = await asyncio.to_thread(self.store.backlog, now)
        self._refresh_status()

    def _refresh_status(self: SendwatchApp) -> None:
        health = {
            p: self.providers.health(p) if self.providers else Health(HealthState.NOT_CONFIGURED)
            for p in Provider
        }
        for provider, h in health.items():
            before = self._last_health.get(provider)
            if (
                before in (HealthState.OFFLINE, HealthState.AUTH_REJECTED, HealthState.RATE_LIMITED)
                and h.state is HealthState.OK
            ):
                self.notify(f"{provider.label} is answering again.")
                self._last_error.pop(provider, None)
            self._last_health[provider] = h.state
        rate = self.providers.request_rate() if self.providers else 0.0
        eta = self._behind / rate if rate and self._behind else None
        extras = {p: text for p in Provider if (text := self._status_extra(p))}
        try:
            bar = self.query_one(StatusBar)
        except NoMatches:
            return  # the app is closing: its widgets are gone before its timers
        bar.show(StatusSnapshot(health, self._counts, self._behind, eta, self.demo, extras))

    def _status_extra(self: SendwatchApp, provider: Provider) -> str:
        """Who polls this account and how its webhooks do, in a few words (ages round to 10 s)."""
        words = []
        poller = self.poller
        if poller is not None:
            loop = poller.loop_health.get(provider)
            lease = poller.lease_state.get(provider, "")
            if loop is not None and loop.state == "restarting" and loop.retry_at:
                words.append(
                    f"poll loop restarting in {max(1, round(loop.retry_at - self.clock()))}s"
                )
            elif lease.startswith("polled by"):
                words.append(lease)
            if poller.push_state.get(provider) == "silent":
                words.append("webhooks silent: polling")
        receiver = getattr(self, "webhooks", None)
        if receiver is not None and provider in receiver.credentials.served():
            stats = receiver.stats[provider]
            if stats.last_event_at is None:
                words.append("webhooks: none yet")
            else:
                ago = max(0.0, time.time() - stats.last_event_at)
                words.append(
                    f"webhooks {stats.received}, last {'<10s' if ago < 10 else age(ago // 10 * 10)} ago"
                )
        return ", ".join(words)

    def _tick(self: SendwatchApp) -> None:
        self._refresh_status()
        try:
            listed = self.query_one(MessageList)
        except NoMatches:
            return  # closing
        listed.tick()
        if self.detail.stored:
            self.detail.tick()
        focus = (listed.selected_id, tuple(listed.visible_ids()))
        if (
            focus != self._last_focus and self.poller and self.start_poller
        ):  # no poller running: nothing to tell
            self._last_focus = focus
            self.run_worker(
                self.poller.set_focus(focus[0], focus[1]),
                group="focus",
                exclusive=True,
                exit_on_error=False,
            )
