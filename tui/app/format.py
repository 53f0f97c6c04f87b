"""Pure text formatting for the dashboard: ages, times, status words. No widgets here."""

from __future__ import annotations

from datetime import UTC, datetime

from tui.model import Status, status_word
from tui.polling.policy import no_receipt
from tui.timeparse import age

GLYPH = {
    "created": "·",
    "scheduled": "◷",
    "queued": "…",
    "sent": "→",
    "delivered": "✓",
    "read": "◉",
    "failed": "✗",
    "cancelled": "⊘",
    "received": "↙",
    "unknown": "?",
    "waiting": "◌",
}
# Colours are a second channel only: the glyph and the word already say it (NO_COLOR stays readable).
STATUS_STYLE = {
    "created": "dim",
    "scheduled": "bright_cyan",
    "queued": "yellow",
    "sent": "bright_blue",
    "delivered": "green",
    "read": "bold green",
    "failed": "bold red",
    "cancelled": "dim",
    "received": "cyan",
    "unknown": "magenta",
    "waiting": "dim",
}
STATUS_ORDER = ["waiting", *(s.value for s in Status)]
NO_RECEIPT = "sent, no receipt"


def status_label(status: str, provider_status: str | None = None) -> str:
    """Glyph + word, e.g. `✗ blocked`: the glyph follows the normalized status, the word says more."""
    return f"{GLYPH.get(status, '?')} {status_word(status, provider_status)}"


def is_no_receipt(
    provider: str | None, status: str, last_changed: float | None, now: float
) -> bool:
    """A Sendo message stuck in `sent` long enough that a receipt is not coming (the policy's rule)."""
    return last_changed is not None and no_receipt(provider, status, now - last_changed)


def reason(code: str | None, message: str | None) -> str:
    """A failure reason as one compact line: `30007 Message filtered by carrier`."""
    return " ".join(part.strip() for part in (code, message) if part and part.strip())


def list_age(seconds: float | None) -> str:
    """`age` for the list's columns: under a minute in 5 s steps (`now`, `5s` ... `55s`), so a row
    polled every few seconds does not repaint every second (over SSH each repaint is latency)."""
    if seconds is None or seconds >= 60:
        return age(seconds)
    seconds = max(0.0, seconds)
    return "now" if seconds < 5 else f"{int(seconds) // 5 * 5}s"


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
        value = datetime.fromtimestamp(value, tz=UTC)
    text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return (text[:-3] if millis else text[:-7]) + "Z"


def short_id(message_id: str) -> str:
    return message_id[:8]
