"""Robust timestamp parsing for provider payloads.

Sent.dm sends 7 fractional digits (`...50.1755079+00:00`), more than `datetime.fromisoformat`
accepts on every Python; Sendo sends `Z`. Anything unparsable becomes None, never an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:[.,](?P<frac>\d+))?\s*(?P<tz>Z|z|[+-]\d{2}:?\d{2})?$",
    re.ASCII,  # `\d` is 0-9 only: other scripts' digits are not a provider's timestamp
)


def parse_time(value: object) -> datetime | None:
    """Parse an ISO 8601 string (or epoch number) into an aware UTC datetime, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or len(value) > 64:
        return None
    match = _ISO.match(value.strip())
    if not match:
        return None
    frac = (match["frac"] or "")[:6].ljust(6, "0") if match["frac"] else ""
    tz = match["tz"] or "+00:00"
    if tz in ("Z", "z"):
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    text = f"{match['date']}T{match['time']}{'.' + frac if frac else ''}{tz}"
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        return None


def to_iso(value: datetime | None) -> str | None:
    """Serialize for JSON output: ISO 8601 UTC with `Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def age(seconds: float | None) -> str:
    """Compact relative age: 4s, 3m, 2h, 5d; '-' when unknown (the screen, the status line, logs)."""
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
