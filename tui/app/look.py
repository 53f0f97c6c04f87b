"""Colours of the dashboard: a second channel only, the glyph and the word already say it (so
NO_COLOR stays readable). Rich style names, for the widgets that build `Text`."""

from __future__ import annotations

from tui.present import WAITING

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
    WAITING: "dim",
}
