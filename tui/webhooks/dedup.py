"""Knowing a webhook event again: the keys the store remembers applied events by.

The store is where deduplication happens (tui/store/seen.py, claimed inside the push's own write
transaction by `apply_push`), so every receiver on one history shares it and it survives restarts.
Each push has two keys, and a push is a duplicate when either was seen:
  * `event_key`: the provider's event ID (Sent.dm's `X-Webhook-Event-ID`, the same on retries;
    Sendo's envelope `id`);
  * `content_key`: what authenticates the request — Sent.dm's signed content (`X-Webhook-ID`,
    `X-Webhook-Timestamp` and the body), Sendo's body — so a captured request re-sent with another
    (unsigned) event ID header is still known.
Keys are SHA-256 hashes: fixed length, whatever the untrusted input.

There is no per-process memory in front of the store: concurrent copies of one event are written
in one batch or serialized on the message's lock, and the claim sorts them out either way.
"""

from __future__ import annotations

import hashlib


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
