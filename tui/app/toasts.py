"""The one path for toasts and other short labels that can carry text we did not write.

`App.notify` parses its message as Textual markup by default: a `[/]` typed in the find bar or sent
by a provider raised `MarkupError` while the toast was drawn and ended the app. Here every toast is
plain text (`markup=False`) with control characters neutralized by `safe_text`, and the app's
`notify` passes every message through `safe_toast` so that even a careless call cannot turn
markup on.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content

from tui.present import reason
from tui.store import Row
from tui.textsafe import safe_text

#: longest toast text (a pasted megabyte must not become a toast that fills the screen)
MESSAGE_LIMIT = 600
#: default length of one untrusted part inside our wording
PART_LIMIT = 200


def part(value: object, limit: int = PART_LIMIT) -> str:
    """One untrusted value made printable on a single line (never markup: toasts are plain)."""
    return safe_text(value, single_line=True, limit=limit)


def toast_text(wording: str, *parts: object, limit: int = PART_LIMIT) -> str:
    """Our `wording` with `{}` placeholders filled by untrusted `parts`, each neutralized.

    Only `wording` is a format template; a `{` or `[` inside a part is inserted as it is."""
    return wording.format(*(part(p, limit) for p in parts))


def plain(value: object, *, single_line: bool = False, limit: int | None = None) -> Content:
    """A `Content` for a label: shown literally, whatever brackets or escapes `value` holds."""
    return Content(safe_text(value, single_line=single_line, limit=limit))


def markup_literal(value: object, limit: int = PART_LIMIT) -> str:
    """For the few Textual APIs that always parse markup (command palette titles and help):
    the value with every `[` escaped, so it reads back literally. (`textual.markup.escape` is not
    enough: it leaves `[$var]`, `[B]` and `[ b]` to be parsed.)"""
    return part(value, limit).replace("[", "\\[")


def safe_toast(message: object, title: object = "") -> tuple[str, str]:
    """A toast's text and title as plain, printable, bounded strings (`App.notify` uses this)."""
    return safe_text(message, limit=MESSAGE_LIMIT), safe_text(title, single_line=True, limit=80)


def failure_toasts(rows: Sequence[Row]) -> list[str]:
    """What to say about messages that just failed: one toast each up to three, else one toast
    grouping them by code (`12 messages failed (30007 ×9, 30003 ×3)`)."""
    if len(rows) <= 3:
        return [
            toast_text(
                "{} to {} failed: {}",
                r.id[:8],
                part(r.to or "?", 20),
                part(reason(r.error_code, r.error_message) or "no reason given", 120),
            )
            for r in rows
        ]
    codes: dict[str, int] = {}
    for r in rows:
        codes[r.error_code or "?"] = codes.get(r.error_code or "?", 0) + 1
    top = ", ".join(
        f"{part(c, 20)} ×{n}" for c, n in sorted(codes.items(), key=lambda kv: -kv[1])[:4]
    )
    return [toast_text("{} messages failed ({})", len(rows), top)]
