"""The one path for toasts and other short labels that can carry text we did not write.

`App.notify` parses its message as Textual markup by default: a `[/]` typed in the find bar or sent
by a provider raised `MarkupError` while the toast was drawn and ended the app. Here every toast is
plain text (`markup=False`) with control characters neutralized by `safe_text`, and `SafeNotify`
overrides `notify` so that even a future careless call cannot turn markup on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content

from tui.textsafe import safe_text

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

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


class SafeNotify:
    """Mixed into the App before `App`: every toast is plain text, whatever the caller passes."""

    def notify(  # type: ignore[override]
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,  # accepted for signature compatibility, always treated as False
    ) -> None:
        super().notify(  # type: ignore[misc]
            safe_text(message, limit=MESSAGE_LIMIT),
            title=safe_text(title, single_line=True, limit=80),
            severity=severity,
            timeout=timeout,
            markup=False,
        )
