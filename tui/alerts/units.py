"""Durations (`90s`, `30m`, `1h`) and percentages (`98`, `98%`) as people type them.

Shared by `sendwatch wait`'s flags and the `[alerts]` config, so both read a value the same way.
Both refuse nan/inf and negative values with a sentence, never a traceback.
"""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: object) -> float:
    """Seconds in `text`: `90s`, `30m`, `1h`, `2d`, `500ms` or a bare number of seconds.

    Raises ValueError with a message meant for the user."""
    if isinstance(text, bool):
        raise ValueError("a duration like 90s, 30m or 1h, not true/false")
    if isinstance(text, int | float):
        value = float(text)
    else:
        match = _DURATION.match(str(text))
        if match is None:
            raise ValueError(f"{str(text)[:40]!r} is not a duration (use e.g. 90s, 30m or 1h)")
        value = float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
    if not math.isfinite(value) or value <= 0:
        raise ValueError("a duration must be more than zero and finite (e.g. 90s, 30m or 1h)")
    return value


def parse_percent(text: object) -> float:
    """A percentage from 0 to 100: `98`, `98%` or `99.5%`. Raises ValueError for the user."""
    if isinstance(text, bool):
        raise ValueError("a percentage like 98 or 98%, not true/false")
    if isinstance(text, int | float):
        value = float(text)
    else:
        raw = str(text).strip().removesuffix("%").strip()
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(
                f"{str(text)[:40]!r} is not a percentage (use e.g. 98 or 98%)"
            ) from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueError("a percentage must be between 0 and 100")
    return value


def format_duration(seconds: float) -> str:
    """`1m12s`, `2h05m`, `45s`: the progress line's elapsed time."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
