"""Pure text formatting for the dashboard: ages, times, status words. No widgets here."""

from __future__ import annotations

from datetime import datetime, timezone

from tui.model import Status

GLYPH = {
    "created": "·", "scheduled": "◷", "queued": "…", "sent": "→", "delivered": "✓",
    "read": "◉", "failed": "✗", "unknown": "?", "waiting": "◌",
}
# Colours are a second channel only: the glyph and the word already say it (NO_COLOR stays readable).
STATUS_STYLE = {
    "created": "dim", "scheduled": "bright_cyan", "queued": "yellow", "sent": "bright_blue", "delivered": "green",
    "read": "bold green", "failed": "bold red", "unknown": "magenta", "waiting": "dim",
}
STATUS_ORDER = ["waiting", *(s.value for s in Status)]


def status_label(status: str) -> str:
    return f"{GLYPH.get(status, '?')} {status}"


def age(seconds: float | None) -> str:
    """Compact relative age: 4s, 3m, 2h, 5d; '-' when unknown."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    if seconds < 86400:
        return f"{seconds // 3600:.0f}h"
    return f"{seconds // 86400:.0f}d"


def gap(seconds: float) -> str:
    """The time between two events: +0.5s, +40s, +3m12s, +2h05m."""
    if seconds < 10:
        return f"+{seconds:.1f}s"
    if seconds < 60:
        return f"+{seconds:.0f}s"
    if seconds < 3600:
        return f"+{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"+{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def clock_time(value: datetime | float | None, *, millis: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    text = value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    return (text[:-3] if millis else text[:-7]) + "Z"


def short_id(message_id: str) -> str:
    return message_id[:8]
