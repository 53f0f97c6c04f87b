"""The top status line: each provider's health, counts by status, and how far polling is behind."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from tui.app.format import GLYPH, STATUS_ORDER, STATUS_STYLE, age, clock_time
from tui.model import Provider
from tui.providers.budget import Health, HealthState

HEALTH_LOOK = {
    HealthState.OK: ("●", "green"),
    HealthState.UNKNOWN: ("○", "dim"),
    HealthState.RATE_LIMITED: ("▲", "yellow"),
    HealthState.AUTH_REJECTED: ("✗", "bold red"),
    HealthState.OFFLINE: ("✗", "red"),
    HealthState.NOT_CONFIGURED: ("–", "dim"),
}


def health_text(provider: Provider, health: Health, now: float) -> Text:
    glyph, style = HEALTH_LOOK[health.state]
    text = Text()
    text.append(f"{provider.label} ", style="bold")
    text.append(f"{glyph} {health.state.value}", style=style)
    if health.state is HealthState.RATE_LIMITED and health.until and health.until > now:
        text.append(f" until {clock_time(health.until)[11:19]}", style=style)
    elif health.state is HealthState.OFFLINE and health.since:
        text.append(f" since {clock_time(health.since)[11:19]}", style=style)
        if health.until and health.until > now:
            text.append(f", retry in {age(health.until - now)}", style="dim")
    return text


@dataclass
class StatusSnapshot:
    health: dict[Provider, Health]
    counts: dict[str, int]
    behind: int = 0
    eta_seconds: float | None = None
    demo: bool = False


class StatusBar(Static):
    _shown: Text | None = None

    def show(self, snap: StatusSnapshot) -> None:
        now = time.time()
        line = Text()
        if snap.demo:
            line.append(" DEMO ", style="reverse bold")
            line.append(" ")
        for provider in Provider:
            line.append_text(health_text(provider, snap.health[provider], now))
            line.append("  │ ", style="dim")
        total = sum(snap.counts.values())
        for status in STATUS_ORDER:
            n = snap.counts.get(status, 0)
            if n:
                line.append(f"{GLYPH[status]}{n} ", style=STATUS_STYLE[status])
        line.append(f"of {total}", style="dim")
        if snap.behind:
            line.append("  │ ", style="dim")
            eta = f", ~{age(snap.eta_seconds)} to catch up" if snap.eta_seconds else ""
            line.append(f"{snap.behind} due{eta}", style="yellow")
        if line != self._shown:
            self._shown = line
            self.update(line)
