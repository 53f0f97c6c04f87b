"""Write one pushed status into the history store, through its public API only.

Synchronous (SQLite): the server calls `apply_push` in a worker thread, never on the event loop.

- A message the store already has is updated with the pushed status, keeping everything the push
  does not carry (recipient, body, the REST payload), and re-scheduled by the poll policy.
- A push older than what is stored (DELIVERED arrived, then a late SENT) only adds its event to the
  timeline: a status never moves backwards.
- A message the store does not know yet (a webhook can arrive before GET can read it) is stored
  from the payload and made due for a poll now, so the poller fetches its details within budget.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields, replace

from tui.errors import StoreError
from tui.model import Message, Provider, Status
from tui.polling.policy import PollPolicy
from tui.polling.record import record_lookup
from tui.store import FetchOutcome, Store

#: Fields never merged field-by-field: they describe this push as a whole.
_WHOLE = frozenset(
    {"id", "provider", "status", "provider_status", "error", "events", "raw", "updated_at"}
)
_EMPTY: tuple[object, ...] = (None, "", (), {})


class StoreUnavailable(Exception):
    """The store could not take the write: answer 503 so the provider retries later."""


@dataclass(frozen=True)
class Applied:
    message_id: str
    provider: Provider
    new: bool  # the store did not know the message: stored from the payload, due for a poll now
    stale: bool  # older than the stored status: only the timeline received the event
    status: Status  # the status the store holds now
    outcome: FetchOutcome | None = None


def merge(known: Message, push: Message) -> Message:
    """The stored message updated with what the push says; what the push lacks is kept."""
    values = {
        f.name: getattr(push, f.name)
        if getattr(push, f.name) not in _EMPTY
        else getattr(known, f.name)
        for f in fields(Message)
        if f.name not in _WHOLE
    }
    if push.error is not None:
        error = push.error
    elif push.status is Status.FAILED or push.status is known.status:
        error = known.error  # e.g. a FAILED push without reason after a poll that had one
    else:
        error = None
    updated = max((t for t in (known.updated_at, push.updated_at) if t), default=None)
    # Sendo pushes the whole REST object; Sent.dm's payload is thinner than its GET answer.
    raw = push.raw if push.provider is Provider.SENDO or not known.raw else known.raw
    return replace(
        known,
        **values,
        provider=push.provider,
        status=push.status,
        provider_status=push.provider_status,
        error=error,
        updated_at=updated,
        events=push.events,
        raw=raw,
    )


def apply_push(store: Store, policy: PollPolicy, push: Message, now: float) -> Applied:
    """Store one pushed message status. Raises StoreUnavailable when SQLite refuses the write."""
    try:
        stored = store.get(push.id)
        if stored is None:
            outcome = store.record_fetch(push, next_poll=now, fetched_at=now)
            return Applied(push.id, push.provider, True, False, outcome.current, outcome)
        known = stored.message
        if push.status.rank < known.status.rank:
            store.add_events(push.id, push.events)
            return Applied(push.id, push.provider, False, True, known.status)
        outcome = record_lookup(store, policy, merge(known, push), now)
        if (
            outcome.next_poll is not None
        ):  # not final: its webhooks will tell; poll only as a safety net
            store.cover_by_push(push.id, now + policy.webhook_recheck)
        return Applied(push.id, push.provider, False, False, outcome.current, outcome)
    except (sqlite3.Error, StoreError, OSError) as exc:
        # The SQLite message names no values (parameters are bound), but keep only the class name.
        raise StoreUnavailable(type(exc).__name__) from None
