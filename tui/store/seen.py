"""Webhook events already applied, remembered in the history itself: shared by every receiver.

A provider retries an event it thinks was not delivered, and anyone holding a captured signed request
can send it again with a different (unsigned) event ID header. So each push is known by two keys: the
provider's event ID and a hash of what was signed (tui/webhooks/dedup.py makes them). Claiming them
is part of the push's own write transaction: two receivers (or one restarted) apply an event once,
and a write that fails un-claims it, so the provider's retry is applied. Keys expire well after the
providers stop retrying (Sendo: about 63 minutes; Sent.dm: about half an hour) and are pruned.
"""

from __future__ import annotations

from collections.abc import Sequence

from tui.store.backend import Backend

#: How long an event key is remembered: three times Sendo's hour of retries.
SEEN_TTL = 3 * 3600.0


class SeenWebhooks(Backend):
    def claim_events(self, keys: Sequence[str], *, now: float, ttl: float = SEEN_TTL) -> bool:
        """True if none of `keys` was claimed (and unexpired) before; all of them are claimed now.

        Runs in the caller's transaction when one is open, so the claim commits with the write."""
        fresh = True
        with self.transaction() as tx:
            for key in keys:
                claimed = tx.execute(
                    "INSERT INTO webhook_seen(key, expires) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                    "SET expires = excluded.expires WHERE webhook_seen.expires < ?",
                    (key, now + ttl, now),
                ).rowcount
                fresh = fresh and claimed > 0
        return fresh

    def seen_count(self, now: float) -> int:
        """How many event keys are remembered and unexpired."""
        return self._count("SELECT count(*) FROM webhook_seen WHERE expires >= ?", (now,))
