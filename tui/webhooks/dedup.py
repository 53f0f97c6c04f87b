"""Remember event IDs already applied, so a provider's retry of a delivered event is a no-op.

Bounded (least recently seen dropped first) with a TTL: providers retry for hours, not days, so a
day of memory is plenty and the receiver's memory stays flat whatever the traffic. An ID is only
remembered once its event was stored: a retry after a 503 must be applied, not skipped.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SeenEvents:
    capacity: int = 100_000
    ttl: float = 86_400.0
    clock: Callable[[], float] = time.monotonic
    _seen: OrderedDict[tuple[str, str], float] = field(default_factory=OrderedDict, repr=False)
    _in_flight: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def claim(self, provider: str, event_id: str) -> bool:
        """True if this event should be applied now; False if it was (or is being) applied already."""
        key = (provider, event_id)
        now = self.clock()
        self._expire(now)
        if key in self._in_flight:
            return False
        stamp = self._seen.get(key)
        if stamp is not None and now - stamp <= self.ttl:
            self._seen.move_to_end(key)
            return False
        self._in_flight.add(key)
        return True

    def done(self, provider: str, event_id: str, *, applied: bool) -> None:
        """Finish a claim: remember the ID if it was stored, forget the claim if it was not."""
        key = (provider, event_id)
        self._in_flight.discard(key)
        if applied:
            self._seen[key] = self.clock()
            self._seen.move_to_end(key)
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)

    def _expire(self, now: float) -> None:
        while self._seen:
            key, stamp = next(iter(self._seen.items()))
            if now - stamp <= self.ttl:
                break
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)
