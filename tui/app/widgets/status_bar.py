"""The top status line: each provider's health, counts by status, and how far polling is behind.

It is repainted only when its text changes (the app asks every second; most seconds nothing is
written). It always fits its width without cutting a word: when the full line is too long, whole
details are dropped in a fixed order (the catch-up estimate, the health details, the words after
an `ok` glyph, the total, the backlog, the counts) — never half a word.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import Static

from tui.app.format import GLYPH, STATUS_ORDER, STATUS_STYLE, age, clock_time
from tui.model import Provider
from tui.providers.budget import Health, HealthState
from tui.textsafe import safe_text

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
    provider: Provider, health: Health, now: float, detail: Detail = Detail(), extra: str = ""
) -> Text:
    glyph, style = HEALTH_LOOK[health.state]
    text = Text()
    text.append(f"{provider.label} ", style="bold")
    if detail.quiet_words or health.state not in QUIET_STATES:
        text.append(f"{glyph} {health.state.value}", style=style)
    else:
        text.append(glyph, style=style)
    if not detail.health_detail:
        return text
    if health.state is HealthState.RATE_LIMITED and health.until and health.until > now:
        text.append(f" until {clock_time(health.until)[11:19]}", style=style)
    elif health.state is HealthState.OFFLINE and health.since:
        text.append(f" since {clock_time(health.since)[11:19]}", style=style)
        if health.until and health.until > now:
            text.append(f", retry in {age(health.until - now)}", style="dim")
    elif (
        health.state is HealthState.SLOW and health.detail
    ):  # words we wrote: "3 answers over 30 s"
        text.append(f" ({safe_text(health.detail, single_line=True, limit=60)})", style="dim")
    if extra:  # who polls, a restarting loop, webhooks: plain words we wrote
        text.append(f" · {extra}", style="dim")
    return text


@dataclass
class StatusSnapshot:
    health: dict[Provider, Health]
    counts: dict[str, int]
    behind: int = 0
    eta_seconds: float | None = None
    demo: bool = False
    #: per provider, what else to say: "polled by host:pid", "restarting in 4s", "webhooks 3s ago"
    extras: dict[Provider, str] = field(default_factory=dict)


def status_line(snap: StatusSnapshot, now: float, detail: Detail = Detail()) -> Text:
    """The whole line at one level of detail (plain text stays literal: no markup is parsed)."""
    line = Text()
    if snap.demo:
        line.append(" DEMO ", style="reverse bold")
        line.append(" ")
    parts = [
        health_text(provider, snap.health[provider], now, detail, snap.extras.get(provider, ""))
        for provider in Provider
    ]
    total = sum(snap.counts.values())
    if detail.counts and total:
        counts = Text()
        for status in STATUS_ORDER:
            n = snap.counts.get(status, 0)
            if n:
                if counts:
                    counts.append(" ")
                counts.append(f"{GLYPH.get(status, '?')}{n:,}", style=STATUS_STYLE.get(status, ""))
        if detail.total:
            counts.append(f" of {total:,}", style="dim")
        parts.append(counts)
    if detail.behind and snap.behind:
        eta = f", ~{age(snap.eta_seconds)} to catch up" if detail.eta and snap.eta_seconds else ""
        parts.append(Text(f"{snap.behind:,} due{eta}", style="yellow"))
    for i, part in enumerate(parts):
        if i:
            line.append(" │ ", style="dim")
        line.append_text(part)
    return line


class StatusBar(Static):
    """Repaints at most once per `MIN_GAP` seconds (counts change many times a second during a
    campaign; nobody reads that fast, and each repaint is a line of bytes over SSH), and only when
    the fitted text differs from what is on screen."""

    MIN_GAP = 1.0
    _shown: Text | None = None
    _snap: StatusSnapshot | None = None
    _painted_at = 0.0
    _later: object | None = None

    def show(self, snap: StatusSnapshot) -> None:
        """Fit the snapshot to the width; repaint only if the result reads or looks different.

        Counts wait for the next second; a provider's health changing (offline, auth rejected,
        answering again) is shown at once."""
        before, self._snap = self._snap, snap
        urgent = before is None or {p: h.state for p, h in before.health.items()} != {
            p: h.state for p, h in snap.health.items()
        }
        wait = self._painted_at + self.MIN_GAP - time.monotonic()
        if wait > 0 and self._shown is not None and not urgent:
            if self._later is None:
                self._later = self.set_timer(wait, self._paint)
            return
        self._paint()

    def _paint(self) -> None:
        self._later = None
        if self._snap is None:
            return
        width = self.content_region.width or self.size.width or 120
        now = time.time()
        for detail in LEVELS:
            line = status_line(self._snap, now, detail)
            if cell_len(line.plain) <= width:
                break
        if line != self._shown:
            self._shown = line
            self._painted_at = time.monotonic()
            self.update(line, layout=False)  # one line, always: no screen-wide layout pass

    def on_resize(self, event: events.Resize) -> None:
        self._paint()
