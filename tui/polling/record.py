"""Store an answer and schedule its next poll: shared by the poller, lookups and `sendwatch get`."""

from __future__ import annotations

from tui.model import Message
from tui.polling.policy import PollPolicy, Priority
from tui.store import FetchOutcome, Store


def record_lookup(
    store: Store,
    policy: PollPolicy,
    msg: Message,
    now: float,
    priority: Priority = Priority.NORMAL,
) -> FetchOutcome:
    """Store an answer obtained outside the poller (a lookup, `r`, `sendwatch get`) and schedule it."""
    created = msg.created_at.timestamp() if msg.created_at else None

    def schedule(last_changed: float, first_seen: float) -> float | None:
        return policy.next_poll(
            msg.status,
            now=now,
            last_changed=last_changed,
            first_seen=first_seen,
            provider=msg.provider,
            channel=msg.channel,
            created=created,
            priority=priority,
        )

    return store.record_fetch(msg, next_poll=schedule, fetched_at=now)
