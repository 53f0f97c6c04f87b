"""Store what one ask of a provider came to, and schedule the next: shared by the poller, lookups,
`sendwatch get` and the app, so an answer — or a failure — is recorded the same way everywhere."""

from __future__ import annotations

from collections.abc import Callable

from tui.errors import SendwatchError
from tui.model import Message, Provider, label_attempts
from tui.polling.policy import PollPolicy, Priority
from tui.store import FetchOutcome, Store
from tui.textsafe import safe_text

#: longest failure text kept on a message (the store's column holds 500)
FAILURE_TEXT = 300


def attempt_start(msg: Message) -> float | None:
    """Where a message's age runs from: the first event of its current attempt once it was resent
    (a resend is a new send, days after the first maybe: docs/providers.md §1), else its creation."""
    # numbered again: a push merged into what was known carries its events unnumbered
    events = label_attempts(msg.events) if msg.provider is Provider.SENTDM else msg.events
    current = max((e.attempt for e in events), default=1)
    if current > 1:
        return min(e.timestamp for e in events if e.attempt == current).timestamp()
    return msg.created_at.timestamp() if msg.created_at else None


def schedule_for(
    policy: PollPolicy, msg: Message, now: float, priority: Priority = Priority.NORMAL
) -> Callable[[float, float], float | None]:
    """The next poll of `msg` given when it last changed and was first seen (the store knows
    those): the one schedule of a poll answer, a lookup and a webhook push."""
    created = attempt_start(msg)

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

    return schedule


def record_lookup(
    store: Store,
    policy: PollPolicy,
    msg: Message,
    now: float,
    priority: Priority = Priority.NORMAL,
    account: str | None = None,
) -> FetchOutcome:
    """Store an answer (from the poller, a lookup, `r`, `sendwatch get`) and schedule its next poll;
    `account`: the account that answered, recorded as the message's owner."""
    outcome = store.record_fetch(
        msg, next_poll=schedule_for(policy, msg, now, priority), fetched_at=now
    )
    if account is not None:
        store.set_accounts([(msg.id, account)])  # a read, and a write only when it changed
    return outcome


def record_failed_ask(
    store: Store, policy: PollPolicy, message_id: str, error: SendwatchError, now: float
) -> int:
    """Record that asking for `message_id` failed, and when to ask again (`policy.after_failure`).

    Returns how many asks in a row have now failed for it. The error is kept as one line of
    plain text (it may quote what a provider sent: no control character, no NUL, bounded)."""
    row = store.row(message_id)
    errors = (row.poll_errors if row else 0) + 1
    text = safe_text(str(error), single_line=True, limit=FAILURE_TEXT)
    store.record_failure(message_id, text, next_poll=policy.after_failure(error, errors, now))
    return errors
