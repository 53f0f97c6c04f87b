"""Knowing a webhook event again: the keys the store remembers applied events by, and an in-memory
guard for a single process.

The store is where deduplication happens (tui/store/seen.py, claimed inside the push's own write
transaction by `apply_push`), so every receiver on one history shares it and it survives restarts.
Each push has two keys, and a push is a duplicate when either was seen:
  * `event_key`: the provider's event ID (Sent.dm's `X-Webhook-Event-ID`, the same on retries;
    Sendo's envelope `id`);
  * `content_key`: what authenticates the request — Sent.dm's signed content (`X-Webhook-ID`,
    `X-Webhook-Timestamp` and the body), Sendo's body — so a captured request re-sent with another
    (unsigned) event ID header is still known.
Keys are SHA-256 hashes: fixed length, whatever the untrusted input.

`SeenEvents` is the older per-process memory; the store's claim makes it redundant.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))  # length-prefixed: parts never run into each other
        h.update(part)
    return h.hexdigest()


def event_key(provider: str, event_id: str) -> str:
    """The key of a provider's event ID."""
    return f"{provider}:event:{_digest(event_id.encode('utf-8', 'surrogatepass'))}"


def content_key(provider: str, *signed: bytes | str) -> str:
    """The key of what authenticated a request: Sent.dm (webhook_id, timestamp, body); Sendo (body)."""
    parts = [p if isinstance(p, bytes) else p.encode("utf-8", "surrogatepass") for p in signed]
    return f"{provider}:content:{_digest(*parts)}"


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
