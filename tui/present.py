"""How sendwatch says things, in one place: status glyphs and words, times, ages, gaps between
events, failure reasons, provider names, who saw a timeline event.

Plain strings only (no Rich, no Textual), so `sendwatch get`, `export` and the dashboard read the
same: `⊘ cancelled` everywhere, `30007: Filtered` everywhere, `+3m12s` everywhere. Colour is the
dashboard's second channel and lives there; every word here already says it without colour.
Untrusted parts (a provider's word, a reason) are made printable with `safe_text`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tui.model import STATUS_WORDS, EventSource, Provider, Status, fold_status, status_word
from tui.polling.policy import no_receipt
from tui.textsafe import safe_text
from tui.timeline import TimelineEntry
from tui.timeparse import age

__all__ = [
    "GLYPH",
    "NO_RECEIPT",
    "SOURCE_MARK",
    "STATUS_ORDER",
    "WAITING",
    "age",
    "clock_time",
    "gap",
    "glyph",
    "is_no_receipt",
    "list_age",
    "provider_label",
    "reason",
    "seen_note",
    "short_id",
    "status_label",
    "unknown_status",
]

#: a tracked ID no provider has answered for yet (not a `Status`: nothing is known of it)
WAITING = "waiting"
GLYPH: dict[str, str] = {
    Status.CREATED.value: "·",
    Status.SCHEDULED.value: "◷",
    Status.QUEUED.value: "…",
    Status.SENT.value: "→",
    Status.DELIVERED.value: "✓",
    Status.READ.value: "◉",
    Status.FAILED.value: "✗",
    Status.CANCELLED.value: "⊘",
    Status.RECEIVED.value: "↙",
    Status.UNKNOWN.value: "?",
    WAITING: "◌",
}
#: the order counts are listed in (status line, summary)
STATUS_ORDER = [WAITING, *(s.value for s in Status)]
NO_RECEIPT = "sent, no receipt"
#: who said a timeline row: the provider itself, its webhook, or sendwatch between two polls
SOURCE_MARK = {EventSource.PROVIDER: "●", EventSource.WEBHOOK: "▲", EventSource.OBSERVED: "◇"}


def glyph(status: Status | str) -> str:
    """The glyph of a normalized status (`?` for anything else)."""
    return GLYPH.get(status.value if isinstance(status, Status) else status, "?")


def status_label(status: Status | str, provider_status: str | None = None) -> str:
    """Glyph and word, e.g. `✗ blocked`: the glyph follows the normalized status, the word is the
    provider's where it says more. The word can come from a provider: it is made printable."""
    word = safe_text(status_word(status, provider_status), single_line=True, limit=24)
    return f"{glyph(status)} {word}"


def reason(code: object, message: object) -> str:
    """A failure reason on one line, `code: text` (or whichever of the two exists); "" for none."""
    parts = [
        safe_text(str(part).strip(), single_line=True)
        for part in (code, message)
        if part is not None and str(part).strip()
    ]
    return ": ".join(parts)


def gap(seconds: float) -> str:
    """The time between two events: `+0.5s`, `+40s`, `+3m12s`, `+2h05m`."""
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"+{seconds:.1f}s"
    if seconds < 60:
        return f"+{seconds:.0f}s"
    if seconds < 3600:
        return f"+{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"+{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def list_age(seconds: float | None) -> str:
    """`age` for the list's columns: under a minute in 5 s steps (`now`, `5s` … `55s`), so a row
    polled every few seconds does not repaint every second (over SSH each repaint is latency)."""
    if seconds is None or seconds >= 60:
        return age(seconds)
    seconds = max(0.0, seconds)
    return "now" if seconds < 5 else f"{int(seconds) // 5 * 5}s"


def attempt_title(number: int, started: datetime) -> str:
    """`Attempt 2 · resent 14:02`: where a resent message's attempt begins in a timeline."""
    how = "sent" if number == 1 else "resent"
    return f"Attempt {number} · {how} {clock_time(started)[11:16]}"


def clock_time(value: datetime | float | None, *, millis: bool = False) -> str:
    """`2026-01-01 00:00:02Z` (or `…02.000Z`) in UTC; `-` when unknown."""
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=UTC)
    text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return (text[:-3] if millis else text[:-7]) + "Z"


def is_no_receipt(
    provider: Provider | str | None, status: Status | str, last_changed: float | None, now: float
) -> bool:
    """A Sendo message stuck in `sent` long enough that a receipt is not coming (the policy's rule)."""
    return last_changed is not None and no_receipt(provider, status, now - last_changed)


def provider_label(provider: Provider | str | None) -> str:
    """`Sent.dm`, `Sendo`, or `?` for a provider not known (yet) or not ours."""
    if isinstance(provider, Provider):
        return provider.label
    try:
        return Provider(provider).label
    except ValueError:
        return "?"


def short_id(message_id: str) -> str:
    """The first 8 characters: enough to tell messages apart on a screen."""
    return message_id[:8]


def seen_note(entry: TimelineEntry) -> str:
    """Who saw a timeline row, and how much later than it happened."""
    if entry.source is EventSource.OBSERVED:
        return "seen by sendwatch"
    if entry.source is EventSource.WEBHOOK:
        return "pushed by webhook"
    after = entry.seen_after
    return f"seen {gap(after)[1:]} later" if after is not None else ""


def unknown_status(word: str, *, waiting: bool = True) -> str | None:
    """Why `word` is not a status one can filter on, or None when it is one: a normalized status,
    a provider's own word such as `blocked`, or (the dashboard's) `waiting`."""
    folded = fold_status(word)
    if folded in Status._value2member_map_ or folded in STATUS_WORDS:
        return None
    if waiting and folded == WAITING:
        return None
    return (
        f"unknown status {word[:40]!r} "
        f"(one of: {', '.join(s.value for s in Status)}, or a provider's word: blocked, "
        "filtered, expired, routed, …)"
    )
