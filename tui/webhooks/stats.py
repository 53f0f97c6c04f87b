"""Per-provider counters the dashboard's status line reads ("webhooks: 12 events, last 3 s ago").

Updated on the event loop only (the receiver's handlers), read on the same loop by the app, so
plain integers are enough; no lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tui.model import Provider
from tui.timeparse import age


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
class WebhookStats:
    providers: dict[Provider, ProviderStats] = field(
        default_factory=lambda: {p: ProviderStats() for p in Provider}
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
        return text
