"""Make untrusted provider text safe to put on a terminal.

Control characters (ESC, CSI/OSC introducers, BEL, backspace, C1 controls, bidi overrides) are
replaced by visible escapes, so a message body can never move the cursor, set a title, write to
the clipboard or hide text. Markup is handled separately: the UI always wraps text in `Text`/
`Content` objects, which never parse `[bold]`.
"""

from __future__ import annotations

import re

# C0 except \n and \t, DEL, C1, and Unicode bidi/isolate controls that can reorder what is shown.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(value: object, *, single_line: bool = False, limit: int | None = None) -> str:
    """Return `value` as printable text. `single_line` also shows newlines and tabs as ⏎ / spaces."""
    text = "" if value is None else str(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    text = _UNSAFE.sub(_escape, text.replace("\r\n", "\n"))
    if single_line:
        text = text.replace("\n", "⏎").replace("\t", " ")
    return text
