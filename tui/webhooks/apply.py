"""Write one pushed status into the history store, through its public API only.

Synchronous: the server calls `apply_push` in a worker thread, never on the event loop. Everything
one push does happens in one store transaction, holding the message's lock from the first read to
the commit, so a poll answer (or another receiver) writing the same message at the same moment can
never be overwritten by a merge made from a stale read:

- The push's dedup keys (the provider's event ID, the hash of what was signed: see dedup.py) are
  claimed first. A key claimed before means the event was applied already (by this or any other
  receiver on the same history, before a restart too): nothing is written, `Applied.duplicate`.
- A message the store already has is updated with the pushed status, keeping everything the push
  does not carry (recipient, body, the REST payload), and re-scheduled by the poll policy.
- A push older than what is stored (DELIVERED arrived, then a late SENT) only adds its event to the
  timeline: a status never moves backwards within an attempt. A Sent.dm re-queue (QUEUED) of a
  finished message after its attempt's last event starts a new attempt (a resend made elsewhere).
- A message the store does not know yet (a webhook can arrive before GET can read it) is stored
  from the payload and made due for a poll now, so the poller fetches its details within budget.
If the write fails, nothing of it (the claim included) is kept, so the provider's retry applies it.

A batch (`apply_pushes`) gives every push exactly the outcome it would have had applied alone, in
arrival order, but with a statement per kind of row for the whole batch (tui/store/batch.py): on
PostgreSQL each statement is a round trip, and one push used to take about eight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace

from tui.errors import StoreError
from tui.model import Message, MessageError, Provider, Status, opens_attempt
from tui.polling.policy import PollPolicy
from tui.polling.record import record_lookup, schedule_for
from tui.store import FetchOutcome, Store

#: one answer of a batch, as `record_fetch` takes it: (message, next poll, fetched at)
Answer = tuple[Message, "float | None | Callable[[float, float], float | None]", float]

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
    duplicate: bool = (
        False  # applied before (same event ID or same signed content): nothing written
    )


@dataclass(frozen=True)
class Push:
    """One push for `apply_pushes`: the message and its dedup keys (dedup.py)."""

    message: Message
    event_key: str | None = None
    content_key: str | None = None


def merge(known: Message, push: Message) -> Message:
    """The stored message updated with what the push says; what the push lacks is kept."""
    values = {
        f.name: getattr(push, f.name)
        if getattr(push, f.name) not in _EMPTY
        else getattr(known, f.name)
        for f in fields(Message)
        if f.name not in _WHOLE
    }
    error: MessageError | None
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


def apply_push(
    store: Store,
    policy: PollPolicy,
    push: Message,
    now: float,
    *,
    event_key: str | None = None,
    content_key: str | None = None,
) -> Applied:
    """Store one pushed message status, once. Raises StoreUnavailable when the store refuses the write."""
    return apply_pushes(store, policy, [Push(push, event_key, content_key)], now)[0]


def apply_pushes(
    store: Store, policy: PollPolicy, pushes: Sequence[Push], now: float
) -> list[Applied]:
    """Several pushes in one transaction (one commit, one change notice): all stored, or none.

    Set-based: every dedup key claimed in one statement, every stored row read in one, and the
    first fresh push of each message merged in Python and written with the others (a statement per
    kind of row: tui/store/batch.py). What a batch cannot write blind (a re-queue that starts a
    new attempt), and every later push of a message already written in this batch, are then applied
    one by one, in arrival order, inside the same transaction: each push's outcome is the one it
    would have had applied alone, in order."""
    try:
        with store.transaction(lock=[p.message.id for p in pushes]):
            return _apply_batch(store, policy, pushes, now)
    except (StoreError, OSError) as exc:
        raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from None


def _keys(push: Push) -> list[str]:
    return [k for k in (push.event_key, push.content_key) if k]


def _fresh_flags(store: Store, pushes: Sequence[Push], now: float) -> list[bool]:
    """Per push: were all its keys unclaimed (also by an earlier push of this batch)? Every key is
    claimed either way, as claiming them push by push would."""
    claimed = store.claim_keys([k for p in pushes for k in _keys(p)], now=now)
    used: set[str] = set()
    flags = []
    for push in pushes:
        keys = _keys(push)
        flags.append(all(k in claimed and k not in used for k in keys))
        used.update(keys)
    return flags


def _held(status: object, push: Message) -> Status:
    """The status a duplicate's answer reports: the stored row's, else the push's own."""
    held = status if status is not None else push.status.value
    return Status(held) if held in Status._value2member_map_ else Status.UNKNOWN


def _apply_batch(
    store: Store, policy: PollPolicy, pushes: Sequence[Push], now: float
) -> list[Applied]:
    if not pushes:
        return []
    fresh = _fresh_flags(store, pushes, now)
    priors = store.priors(p.message.id for p in pushes)
    outcomes: list[Applied | None] = [None] * len(pushes)
    one_by_one: list[int] = []  # applied alone after the batch, in arrival order
    written: set[str] = set()  # messages with a fresh push in this batch
    answers: list[tuple[int, Answer, Message | None]] = []  # (push, answer, stored message)
    stale: list[tuple[int, Message]] = []  # older than stored: their events only
    for i, push in enumerate(pushes):
        msg = push.message
        if msg.id in written:
            one_by_one.append(i)
            continue
        if not fresh[i]:
            outcomes[i] = Applied(
                msg.id,
                msg.provider,
                False,
                False,
                _held(priors[msg.id].status, msg),
                duplicate=True,
            )
            continue
        written.add(msg.id)
        known = priors[msg.id].message()
        if known is None:
            answers.append((i, (msg, now, now), None))
        elif msg.status.rank < known.status.rank and not _reopens(known, msg):
            stale.append((i, known))
        else:
            merged = merge(known, msg)
            answers.append((i, (merged, schedule_for(policy, merged, now), now), known))
    timeline_only = [(pushes[i].message.id, pushes[i].message.events) for i, _ in stale]
    recorded = store.record_batch([a for _, a, _ in answers], priors, timeline_only)
    covers = []
    for (i, _, known), outcome in zip(answers, recorded, strict=True):
        msg = pushes[i].message
        if outcome is None:
            one_by_one.append(i)
        elif known is None:
            outcomes[i] = Applied(msg.id, msg.provider, True, False, outcome.current, outcome)
        elif _reopens(known, msg) and outcome.current is not msg.status:  # an old re-queue
            outcomes[i] = Applied(msg.id, msg.provider, False, True, outcome.current, outcome)
        else:
            if outcome.next_poll is not None:  # not final: its webhooks will tell
                covers.append((msg.id, now + policy.webhook_recheck))
            outcomes[i] = Applied(msg.id, msg.provider, False, False, outcome.current, outcome)
    for i, known in stale:
        msg = pushes[i].message
        outcomes[i] = Applied(msg.id, msg.provider, False, True, known.status)
    store.cover_batch(covers)
    for i in sorted(one_by_one):
        outcomes[i] = _apply(store, policy, pushes[i], now, fresh[i])
    done = [o for o in outcomes if o is not None]
    if len(done) != len(pushes):
        raise RuntimeError("a push of the batch was left without an outcome")
    return done


def _reopens(known: Message, msg: Message) -> bool:
    """A Sent.dm re-queue of a finished message: maybe a new attempt (a resend made elsewhere)."""
    return msg.provider is Provider.SENTDM and any(
        opens_attempt(known.status, e) for e in msg.events
    )


def _apply(store: Store, policy: PollPolicy, push: Push, now: float, fresh: bool) -> Applied:
    """One push, its keys already claimed (`fresh`: none was seen before), on its own."""
    msg = push.message
    if not fresh:
        row = store.row(msg.id)
        status = _held(row.status if row is not None else None, msg)
        return Applied(msg.id, msg.provider, False, False, status, duplicate=True)
    stored = store.get(msg.id)
    if stored is None:
        outcome = store.record_fetch(msg, next_poll=now, fetched_at=now)
        return Applied(msg.id, msg.provider, True, False, outcome.current, outcome)
    known = stored.message
    reopens = _reopens(known, msg)
    if msg.status.rank < known.status.rank and not reopens:
        store.add_events(msg.id, msg.events)
        return Applied(msg.id, msg.provider, False, True, known.status)
    outcome = record_lookup(store, policy, merge(known, msg), now)
    if reopens and outcome.current is not msg.status:  # an old re-queue, not a new attempt
        return Applied(msg.id, msg.provider, False, True, outcome.current, outcome)
    if (
        outcome.next_poll is not None
    ):  # not final: its webhooks will tell; poll only as a safety net
        store.cover_by_push(msg.id, now + policy.webhook_recheck)
    return Applied(msg.id, msg.provider, False, False, outcome.current, outcome)
