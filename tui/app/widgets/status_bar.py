"""The top status line: each provider's health, counts by status, and how far polling is behind.

A provider with several accounts shows its worst account's health, then each account's own glyph
by name (`Sent.dm ● ok (default ● eu ▲ rate-limited)`): budgets and rate limits are per account.

It owns its numbers: `recount()` reads the counts of the list's view and the polling backlog in a
worker (at most once a second), and its own once-a-second tick reads the monitor's in-memory state
(health, who polls, a restarting loop, webhooks). It is repainted only when its text changes, and
it always fits its width without cutting a word: when the full line is too long, whole details are
dropped in a fixed order (the catch-up estimate, the health details, the words after an `ok`
glyph, the total, the backlog, the counts) — never half a word.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual import events, work
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker

from tui import present
from tui.app.failures import worker_failure
from tui.app.look import STATUS_STYLE
from tui.app.widgets.alert_watch import AlertWatch
from tui.model import Provider
from tui.providers.budget import Health, HealthState
from tui.store import ListFilter, Store
from tui.textsafe import safe_text

if TYPE_CHECKING:
    from tui.services.monitor import Monitor, ProviderState
    from tui.webhooks import WebhookReceiver

HEALTH_LOOK = {
    HealthState.OK: ("●", "green"),
    HealthState.UNKNOWN: ("○", "dim"),
    HealthState.RATE_LIMITED: ("▲", "yellow"),
    HealthState.AUTH_REJECTED: ("✗", "bold red"),
    HealthState.OFFLINE: ("✗", "red"),
    HealthState.SLOW: ("▲", "yellow"),
    HealthState.NOT_CONFIGURED: ("–", "dim"),
}
QUIET_STATES = (
    HealthState.OK,
    HealthState.UNKNOWN,
)  # their glyph alone says it when space is short


@dataclass(frozen=True)
class Detail:
    """How much of the line to show; each step down drops one kind of detail."""

    eta: bool = True
    health_detail: bool = True
    quiet_words: bool = True
    total: bool = True
    behind: bool = True
    counts: bool = True


LEVELS = [
    Detail(),
    Detail(eta=False),
    Detail(eta=False, health_detail=False),
    Detail(eta=False, health_detail=False, quiet_words=False),
    Detail(eta=False, health_detail=False, quiet_words=False, total=False),
    Detail(eta=False, health_detail=False, quiet_words=False, total=False, behind=False),
    Detail(
        eta=False, health_detail=False, quiet_words=False, total=False, behind=False, counts=False
    ),
]


def health_text(
    provider: Provider,
    health: Health,
    now: float,
    detail: Detail = Detail(),
    extra: str = "",
    accounts: list[tuple[str, Health]] | None = None,
) -> Text:
    glyph, style = HEALTH_LOOK[health.state]
    text = Text()
    text.append(f"{provider.label} ", style="bold")
    if detail.quiet_words or health.state not in QUIET_STATES:
        text.append(f"{glyph} {health.state.value}", style=style)
    else:
        text.append(glyph, style=style)
    if accounts and len(accounts) > 1:  # several accounts: each one's own health, by name
        text.append_text(accounts_text(accounts, detail))
    if not detail.health_detail:
        return text
    if health.state is HealthState.RATE_LIMITED and health.until and health.until > now:
        text.append(f" until {present.clock_time(health.until)[11:19]}", style=style)
    elif health.state is HealthState.OFFLINE and health.since:
        text.append(f" since {present.clock_time(health.since)[11:19]}", style=style)
        if health.until and health.until > now:
            text.append(f", retry in {present.age(health.until - now)}", style="dim")
    elif health.state is HealthState.SLOW and health.detail:  # our words: "3 answers over 30 s"
        text.append(f" ({safe_text(health.detail, single_line=True, limit=60)})", style="dim")
    if extra:  # who polls, a restarting loop, webhooks: plain words we wrote
        text.append(f" · {extra}", style="dim")
    return text


def accounts_text(accounts: list[tuple[str, Health]], detail: Detail) -> Text:
    """` (eu ● us ✗ auth rejected)`: a glyph per account, words where it is not fine."""
    text = Text(" (", style="dim")
    for i, (name, health) in enumerate(accounts):
        glyph, style = HEALTH_LOOK[health.state]
        if i:
            text.append(" ")
        text.append(f"{safe_text(name, single_line=True, limit=32)} ", style="dim")
        quiet = health.state in QUIET_STATES or not detail.health_detail
        text.append(glyph if quiet else f"{glyph} {health.state.value}", style=style)
    text.append(")", style="dim")
    return text


def provider_extra(state: ProviderState, now: float) -> str:
    """Who polls this account, a restarting loop, webhooks gone silent, in a few words."""
    words = []
    loop = state.loop
    if loop is not None and loop.state == "restarting" and loop.retry_at:
        words.append(f"poll loop restarting in {max(1, round(loop.retry_at - now))}s")
    elif loop is not None and loop.state in ("stalled", "slow"):  # the poller's own words
        why = f": {safe_text(loop.reason, single_line=True, limit=50)}" if loop.reason else ""
        words.append(f"polling {loop.state}{why}")
    elif state.lease.startswith("polled by"):
        words.append(state.lease)
    if state.push == "silent":
        words.append("webhooks silent: polling")
    if state.delivery:  # the reconciler: the provider failing to deliver, gaps being repaired
        words.append(safe_text(state.delivery, single_line=True, limit=80))
    return ", ".join(words)


def webhook_extra(receiver: WebhookReceiver, provider: Provider, now: float) -> str:
    """`webhooks 12, last 30s ago` (ages round down to 10 s: the line changes rarely)."""
    if provider not in receiver.credentials.served():
        return ""
    stats = receiver.stats[provider]
    if stats.last_event_at is None:
        return "webhooks: none yet"
    ago = max(0.0, now - stats.last_event_at)
    last = "<10s" if ago < 10 else present.age(ago // 10 * 10)
    return f"webhooks {stats.received}, last {last} ago"


@dataclass
class StatusSnapshot:
    health: dict[Provider, Health]
    counts: dict[str, int]
    behind: int = 0
    eta_seconds: float | None = None
    demo: bool = False
    #: per provider, what else to say: "polled by host:pid", "restarting in 4s", "webhooks 3s ago"
    extras: dict[Provider, str] = field(default_factory=dict)
    #: per provider with several accounts, each account's name and health
    accounts: dict[Provider, list[tuple[str, Health]]] = field(default_factory=dict)
    #: the alert rules firing now ("⚠ failure-rate, stuck"), from the alert watch
    alert: str | None = None


def status_line(snap: StatusSnapshot, now: float, detail: Detail = Detail()) -> Text:
    """The whole line at one level of detail (plain text stays literal: no markup is parsed)."""
    line = Text()
    if snap.demo:
        line.append(" DEMO ", style="reverse bold")
        line.append(" ")
    if snap.alert:
        line.append(snap.alert, style="bold reverse yellow")
        line.append(" ")
    parts = [
        health_text(
            provider,
            snap.health[provider],
            now,
            detail,
            snap.extras.get(provider, ""),
            snap.accounts.get(provider),
        )
        for provider in Provider
    ]
    total = sum(snap.counts.values())
    if detail.counts and total:
        counts = Text()
        for status in present.STATUS_ORDER:
            n = snap.counts.get(status, 0)
            if n:
                if counts:
                    counts.append(" ")
                counts.append(f"{present.glyph(status)}{n:,}", style=STATUS_STYLE.get(status, ""))
        if detail.total:
            counts.append(f" of {total:,}", style="dim")
        parts.append(counts)
    if detail.behind and snap.behind:
        eta = (
            f", ~{present.age(snap.eta_seconds)} to catch up"
            if detail.eta and snap.eta_seconds
            else ""
        )
        parts.append(Text(f"{snap.behind:,} due{eta}", style="yellow"))
    for i, part in enumerate(parts):
        if i:
            line.append(" │ ", style="dim")
        line.append_text(part)
    return line


def fit(snap: StatusSnapshot, now: float, width: int) -> Text:
    """The most detailed line that fits `width`."""
    line = status_line(snap, now)
    for detail in LEVELS:
        line = status_line(snap, now, detail)
        if cell_len(line.plain) <= width:
            break
    return line


class StatusBar(Static):
    """Repaints at most once per `MIN_GAP` seconds (counts change many times a second during a
    campaign; nobody reads that fast, and each repaint is a line of bytes over SSH), and only when
    the fitted text differs from what is on screen; a provider's health changing shows at once."""

    MIN_GAP = 1.0
    WORKER_LABELS = {"counts": "Counting statuses"}

    def __init__(
        self,
        store: Store,
        configured: Iterable[Provider],
        *,
        clock: Callable[[], float] = time.time,
        demo: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.store = store
        self.configured = frozenset(configured)
        self.monitor: Monitor | None = None  # set once the dashboard is live
        self.clock = clock
        self.demo = demo
        self.filter = ListFilter()  # the list's view: what the counts count
        self.receiver: WebhookReceiver | None = None  # the dashboard's own, when it listens
        self.counts: dict[str, int] = {}
        self.behind = 0
        self.shown: Text | None = None
        self.counting = False
        self._snap: StatusSnapshot | None = None
        self._painted_at = float("-inf")
        self._counted_at = float("-inf")
        self._later: Timer | None = None
        self.alert: str | None = None  # what the alert watch last said fires
        self.alerts: AlertWatch | None = None  # mounted once the monitor is live (not in the demo)

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh_line)
        self.refresh_line()

    @property
    def settled(self) -> bool:
        """Nothing is being counted and nothing waits to be painted (tests wait for this)."""
        return not self.counting and self._later is None and self.shown is not None

    # -- numbers ------------------------------------------------------------------------------
    def recount(self, delay: float = 0.0) -> None:
        """Count the view and the backlog again, after `delay` and at most once a second; a newer
        call (a keystroke, a poll answer) replaces a waiting one."""
        self.counting = True
        self._count(delay)

    @work(group="counts", exclusive=True, exit_on_error=False)
    async def _count(self, delay: float) -> None:
        wait = max(delay, self._counted_at + 1.0 - time.monotonic())
        if wait > 0:
            await asyncio.sleep(wait)
        self._counted_at = time.monotonic()
        store, flt, now = self.store, self.filter, self.clock()
        self.counts, self.behind = await asyncio.to_thread(
            lambda: (store.status_counts(flt), store.backlog(now))
        )
        self.counting = False
        self.refresh_line()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS)
        if failure is not None:
            self.counting = False
            self.post_message(failure)

    # -- the line -------------------------------------------------------------------------------
    def snapshot(self) -> StatusSnapshot:
        now = self.clock()
        monitor = self.monitor
        if monitor is None:  # before the live part: what the settings say
            ready, absent = Health(HealthState.UNKNOWN), Health(HealthState.NOT_CONFIGURED)
            health = {p: ready if p in self.configured else absent for p in Provider}
            return StatusSnapshot(health, self.counts, self.behind, None, self.demo)
        if self.alerts is None and monitor.ready and not self.demo:
            self.alerts = AlertWatch(monitor, clock=self.clock)
            self.mount(self.alerts)
        health = {p: monitor.health(p) for p in Provider}
        extras: dict[Provider, str] = {}
        for p in Provider:
            words = [provider_extra(monitor.provider_state(p), now)]
            if self.receiver is not None:
                words.append(webhook_extra(self.receiver, p, time.time()))
            if text := ", ".join(w for w in words if w):
                extras[p] = text
        rate = monitor.request_rate()
        eta = self.behind / rate if rate and self.behind else None
        accounts = {p: a for p in Provider if len(a := monitor.account_health(p)) > 1}
        return StatusSnapshot(
            health, self.counts, self.behind, eta, self.demo, extras, accounts, self.alert
        )

    def refresh_line(self) -> None:
        """Show the current state (the tick and each recount call this)."""
        self.show(self.snapshot())

    def show(self, snap: StatusSnapshot) -> None:
        """Fit the snapshot to the width; repaint only if the result reads or looks different.
        Counts wait for the next second; a provider's health changing is shown at once."""
        before, self._snap = self._snap, snap
        urgent = (
            before is None
            or before.alert != snap.alert
            or {p: h.state for p, h in before.health.items()}
            != {p: h.state for p, h in snap.health.items()}
        )
        wait = self._painted_at + self.MIN_GAP - time.monotonic()
        if wait > 0 and self.shown is not None and not urgent:
            if self._later is None:
                self._later = self.set_timer(wait, self._paint)
            return
        self._paint()

    def _paint(self) -> None:
        self._later = None
        if self._snap is None:
            return
        width = self.content_region.width or self.size.width or 120
        line = fit(self._snap, self.clock(), width)
        if line != self.shown:
            self.shown = line
            self._painted_at = time.monotonic()
            self.update(line, layout=False)  # one line, always: no screen-wide layout pass

    def on_alert_watch_changed(self, event: AlertWatch.Changed) -> None:
        """A rule started or stopped firing: on the line at once."""
        self.alert = event.status
        self.refresh_line()

    def on_resize(self, event: events.Resize) -> None:
        self._paint()
