"""Read-only mode in the dashboard (`--read-only`, SENDWATCH_READ_ONLY=1, `[ui] read_only`): the
actions that change a provider or the history (send, resend, cancel, forget, clear) are shown
greyed out and refused, saying why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tui.app.toasts import toast_text
from tui.config import Settings

#: the dashboard's actions read-only mode turns off
ACTIONS = frozenset({"send_message", "forget", "clear_history", "act"})


class ReadOnlyGuard:
    def __init__(self, settings: Settings) -> None:
        self.on = settings.ui.read_only
        self.source = settings.read_only_source or "read-only"

    def blocks(self, action: str) -> bool:
        return self.on and action in ACTIONS

    def announce(self, notify: Callable[..., Any]) -> None:
        """Say at start that it is on (nothing when it is off)."""
        if self.on:
            text = "Read-only mode is on ({}): sending, resending, cancelling, forgetting and clearing history are off."
            notify(toast_text(text, self.source), timeout=10)

    def refuse(self, notify: Callable[..., Any], what: str) -> bool:
        """True (after telling why) when `what` is refused; a palette call or a stale key."""
        if self.on:
            notify(
                toast_text("Read-only mode is on ({}): {} is refused.", self.source, what),
                severity="warning",
            )
        return self.on
