"""Counters the dashboard's status line and `listen` read ("webhooks: 12 events, last 3 s ago").

Updated on the event loop only (the receiver's handlers and its connections), read on the same loop
by the app, so plain integers are enough; no lock.

Refused attempts (a bad signature, a connection that never sends a request, a full receiver) are
counted here and logged as one summary line a minute at most: anyone who can reach the port can
cause them, so a line each would let them flood the log.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tui.model import Provider
from tui.timeparse import age

log = logging.getLogger("sendwatch.webhooks")

#: Seconds between two summary lines of refused attempts.
SUMMARY_INTERVAL = 60.0


@dataclass
class ProviderStats:
    served: bool = False
    received: int = 0  # authentic, well-formed events (applied + duplicates + ignored + failed)
    applied: int = 0  # written to the store
    duplicates: int = 0  # an event ID seen before: acknowledged, not applied again
    ignored: int = 0  # families/types we acknowledge without acting (templates, optout, …)
    rejected: int = 0  # 401 / 400 / 408 / 413
    failed: int = 0  # the store could not take it (503) or an error of ours (500)
    last_event_at: float | None = None  # wall-clock time of the last authentic event


@dataclass
class Refusals:
    """Attempts by reason (our own fixed wording: never a value from the request).

    `count` adds one; a summary of what was refused since the last line is logged when a minute
    has passed (checked on each count and on `flush`, which the receiver calls on its tick)."""

    heading: str = "webhook receiver refused"
    level: int = logging.INFO
    interval: float = SUMMARY_INTERVAL
    clock: Callable[[], float] = time.monotonic
    totals: Counter[str] = field(default_factory=Counter)
    _window: Counter[str] = field(default_factory=Counter, repr=False)
    _logged_at: float | None = field(default=None, repr=False)

    def count(self, reason: str) -> None:
        self.totals[reason] += 1
        self._window[reason] += 1
        self.flush()

    def flush(self, *, force: bool = False) -> None:
        """Log the window's summary if there is one and a line is due (or `force`)."""
        if not self._window:
            return
        now = self.clock()
        if not force and self._logged_at is not None and now - self._logged_at < self.interval:
            return
        parts = ", ".join(f"{n} {reason}" for reason, n in self._window.most_common())
        log.log(self.level, "%s: %s", self.heading, parts)
        self._window.clear()
        self._logged_at = now

    def __getitem__(self, reason: str) -> int:
        return self.totals[reason]

    @property
    def total(self) -> int:
        return sum(self.totals.values())


@dataclass
class WebhookStats:
    providers: dict[Provider, ProviderStats] = field(
        default_factory=lambda: {p: ProviderStats() for p in Provider}
    )
    refusals: Refusals = field(default_factory=Refusals)
    in_flight: int = 0  # requests past their body now: being verified, parsed or written
    #: Authentic events the store could not take (answered 503): the same summary, as warnings.
    unstored: Refusals = field(
        default_factory=lambda: Refusals("webhook events not stored", logging.WARNING)
    )

    def __getitem__(self, provider: Provider) -> ProviderStats:
        return self.providers[provider]

    @property
    def received(self) -> int:
        return sum(p.received for p in self.providers.values())

    @property
    def last_event_at(self) -> float | None:
        times = [p.last_event_at for p in self.providers.values() if p.last_event_at is not None]
        return max(times) if times else None

    def summary(self, now: float | None = None) -> str:
        """One short phrase for the status line: `webhooks: 12 events, last 3 s ago`."""
        now = time.time() if now is None else now
        count = self.received
        text = f"webhooks: {count} event{'s' if count != 1 else ''}"
        last = self.last_event_at
        if last is not None:
            text += f", last {age(now - last)} ago"
        failed = sum(p.failed for p in self.providers.values())
        if failed:
            text += f", {failed} not stored"
        refused = self.refusals.total
        if refused:
            text += f", {refused} refused"
        return text
