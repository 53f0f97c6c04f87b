"""What the poller tells its callers and keeps per loop: answers stored, counters, the focus.

Plain values, apart from `Poller` so its callers (the app's monitor, `poll`, `wait`, metrics) can
name them without the loop's machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.config_accounts import Account
from tui.model import Message, Provider, Status
from tui.polling.policy import Priority

Owner = Account | None  # one loop per account; None: the loop for IDs of no known provider yet


@dataclass(frozen=True)
class PollUpdate:
    """Sent to the UI after an answer was stored."""

    message_id: str
    provider: Provider
    previous: Status | None
    current: Status
    changed: bool
    at: float
    message: Message | None = None  # the answer stored (metrics time deliveries from it)
    account: str | None = None  # the account that answered (its configured name)


@dataclass
class LoopStats:
    requests: int = 0
    answers: int = 0
    errors: int = 0
    screen: int = 0  # requests spent on the selected row and rows on screen
    last_answer: float | None = None
    last_error: str = ""


@dataclass
class Focus:
    """What the user is looking at: polled more often than the rest."""

    selected: str | None = None
    visible: frozenset[str] = frozenset()

    def priority(self, message_id: str) -> Priority:
        if message_id == self.selected:
            return Priority.SELECTED
        return Priority.VISIBLE if message_id in self.visible else Priority.NORMAL


def describe(exc: BaseException) -> str:
    """A short, single-line account of an unexpected error (the UI shows it as plain text)."""
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
