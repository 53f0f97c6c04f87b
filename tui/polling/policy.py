"""When is a message worth another request? Pure decisions, no I/O, so they are cheap to test.

The budget is the hard limit (Sent.dm: 200 requests/minute), so intervals grow with the time since a
message last changed: something that changed 20 s ago is likely to change again soon; something
stuck in `sent` for an hour is not. Final states are never asked again; `delivered` only while a
later `read` is still possible, rarely, up to an age cap.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tui.model import Provider, Status

# Channels that report reads after delivery. SMS has no read receipts at Sent.dm.
READ_RECEIPT_CHANNELS = {"whatsapp", "rcs", "messenger", "instagram"}


class Priority(enum.IntEnum):
    """Lower sorts first when the budget cannot cover everything that is due."""

    SELECTED = 0
    VISIBLE = 1
    NORMAL = 2


@dataclass(frozen=True)
class PollPolicy:
    min_interval: float = 5.0
    max_interval: float = 900.0
    selected_interval: float = 2.0
    visible_interval: float = 4.0
    delivered_recheck: float = 600.0
    delivered_max_age: float = 86400.0
    #: interval = growth x seconds since the last change, clamped to [min, max]
    growth: float = 0.25
    #: a message pending this long is given up on (it stays in history, marked stale)
    pending_max_age: float = 7 * 86400.0

    @classmethod
    def from_settings(cls, polling: object) -> "PollPolicy":
        names = ("min_interval", "max_interval", "selected_interval", "visible_interval", "delivered_recheck", "delivered_max_age")
        return cls(**{n: getattr(polling, n) for n in names})

    def can_still_change(self, status: Status, provider: Provider | None, channel: str | None, age: float) -> bool:
        """False when no later status can come (so the message is never polled again)."""
        if status.is_final:
            return False
        if status is Status.DELIVERED:
            if age > self.delivered_max_age:
                return False
            if provider is Provider.SENDO:
                return True  # Sendo documents `opened` after delivery
            return (channel or "").lower() in READ_RECEIPT_CHANNELS
        return age <= self.pending_max_age

    def interval(self, status: Status, since_change: float, priority: Priority = Priority.NORMAL) -> float:
        """Seconds until the next poll of a message that can still change."""
        if status is Status.DELIVERED:
            base = self.delivered_recheck
        else:
            base = min(self.max_interval, max(self.min_interval, since_change * self.growth))
        if priority is Priority.SELECTED:
            return min(base, self.selected_interval)
        if priority is Priority.VISIBLE:
            return min(base, self.visible_interval)
        return base

    def next_poll(
        self,
        status: Status,
        *,
        now: float,
        last_changed: float,
        first_seen: float,
        provider: Provider | None = None,
        channel: str | None = None,
        created: float | None = None,
        priority: Priority = Priority.NORMAL,
    ) -> float | None:
        """Absolute time of the next poll, or None for never."""
        age = now - (created if created is not None else first_seen)
        if not self.can_still_change(status, provider, channel, age):
            return None
        return now + self.interval(status, max(0.0, now - last_changed), priority)

    def after_error(self, errors: int, now: float) -> float:
        """Back off one message that keeps failing: min_interval doubling per error, capped."""
        return now + min(self.max_interval, self.min_interval * (2 ** min(errors, 16)))
