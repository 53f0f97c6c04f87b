"""The one normalized message model both providers are mapped into.

Everything above the provider clients (store, scheduler, CLI, UI) speaks only this model, so a
third provider would only need a new mapping, not new screens.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any


class Status(str, enum.Enum):
    """Normalized delivery status: the contract of `get --json`, `export` and the filters."""

    CREATED = "created"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RECEIVED = "received"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """True when no later status can follow (so it is never polled again)."""
        return self in FINAL_STATUSES

    @property
    def is_pending(self) -> bool:
        """Still on its way: neither delivered nor finished."""
        return self is not Status.DELIVERED and not self.is_final

    @property
    def rank(self) -> int:
        """Progress order used so a status never moves backwards; -1 for `unknown` (never wins)."""
        return _RANK[self]


FINAL_STATUSES = frozenset({Status.READ, Status.FAILED, Status.CANCELLED, Status.RECEIVED})
_RANK = {
    Status.UNKNOWN: -1,
    Status.CREATED: 0,
    Status.SCHEDULED: 1,
    Status.QUEUED: 2,
    Status.SENT: 3,
    Status.DELIVERED: 4,
    Status.READ: 5,
    Status.FAILED: 6,
    Status.CANCELLED: 6,
    Status.RECEIVED: 6,
}

# Every documented provider status (folded by `fold_status`) -> normalized status. See
# docs/providers.md: Sent.dm v3 (ACCEPTED..RECEIVED) and Sendo v1 (CREATED..EXPIRED); the last
# few are older renders and descriptions that some accounts still send.
_STATUS_MAP: dict[str, Status] = {
    "accepted": Status.CREATED,  # Sent.dm legacy
    "created": Status.CREATED,  # Sendo
    "queued": Status.QUEUED,
    "processed": Status.QUEUED,  # Sent.dm: processed, queued for sending
    "routed": Status.QUEUED,  # Sent.dm: routed to a channel/carrier
    "scheduled": Status.SCHEDULED,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.READ,
    "failed": Status.FAILED,
    "blocked": Status.FAILED,  # Sent.dm: refused before sending
    "filtered": Status.FAILED,  # Sent.dm: filtered, never resendable
    "expired": Status.FAILED,  # Sendo: failed after too many attempts
    "cancelled": Status.CANCELLED,  # Sent.dm: a scheduled send called off
    "canceled": Status.CANCELLED,
    "received": Status.RECEIVED,  # Sent.dm: inbound
    # Descriptions and older renders seen in the seed documents:
    "opened": Status.READ,
    "failed_after_too_many_attempts": Status.FAILED,
    "processing": Status.QUEUED,
    "sending": Status.QUEUED,
    "undelivered": Status.FAILED,
    "rejected": Status.FAILED,
}

#: Every provider word sendwatch knows (for `status:` filters and `export --status`).
STATUS_WORDS = frozenset(_STATUS_MAP)

# Provider words that say more than their normalized status; shown instead of it (`✗ blocked`).
TELLING_WORDS = frozenset({"blocked", "filtered", "expired", "routed", "processed"})


def fold_status(raw: str) -> str:
    """Case-insensitive, `-` and `_` alike, surrounding blanks ignored."""
    return raw.strip().lower().replace("-", "_").replace(" ", "_")


def normalize_status(raw: object) -> Status:
    """Map any provider status string to a `Status`; anything unrecognised is UNKNOWN, never an error."""
    if not isinstance(raw, str):
        return Status.UNKNOWN
    return _STATUS_MAP.get(fold_status(raw), Status.UNKNOWN)


def status_word(status: Status | str, provider_status: str | None) -> str:
    """The word to show: the provider's where it says more (`blocked`), else the normalized one."""
    value = status.value if isinstance(status, Status) else status
    folded = fold_status(provider_status or "")
    if folded in TELLING_WORDS:
        return folded
    if value == Status.UNKNOWN.value and folded:
        return folded[:24]
    return value


class Provider(str, enum.Enum):
    SENTDM = "sentdm"
    SENDO = "sendo"

    @property
    def label(self) -> str:
        return {"sentdm": "Sent.dm", "sendo": "Sendo"}[self.value]


class EventSource(str, enum.Enum):
    PROVIDER = "provider"  # reported by the provider's own event/activity list
    OBSERVED = "observed"  # a transition this app saw itself between two polls
    WEBHOOK = "webhook"  # pushed by the provider to `sendwatch listen`


@dataclass(frozen=True)
class MessageError:
    code: str | None
    message: str | None


@dataclass(frozen=True)
class Event:
    status: Status
    provider_status: str
    timestamp: datetime
    description: str = ""
    source: EventSource = EventSource.PROVIDER
    reason_code: str | None = None  # Sent.dm: on FAILED/BLOCKED/FILTERED events
    reason: str | None = None
    #: which delivery attempt of the message it belongs to (a Sent.dm resend starts another)
    attempt: int = 1

    def key(self) -> tuple[str, str, float]:
        """Identity used to deduplicate events across polls."""
        return (
            self.source.value,
            fold_status(self.provider_status),
            round(self.timestamp.timestamp(), 3),
        )


@dataclass(frozen=True)
class Message:
    """One message as a provider last reported it. Times are timezone-aware (UTC)."""

    id: str
    provider: Provider
    status: Status
    provider_status: str
    to: str | None = None
    from_: str | None = None
    body: str | None = None
    header: str | None = None
    footer: str | None = None
    buttons: Any = None
    channel: str | None = None
    template_id: str | None = None
    template_name: str | None = None
    template_category: str | None = None
    campaign: str | None = None
    direction: str | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    updated_at: datetime | None = None
    scheduled_at: datetime | None = None
    price: float | None = None
    active_contact_price: float | None = None
    segments: int | None = None
    media: tuple[str, ...] = ()
    subject: str | None = None  # Sent.dm MMS/RCS subject
    header_media: str | None = None  # Sent.dm message_body.headerMedia.url
    metadata: dict[str, Any] = field(default_factory=dict)
    error: MessageError | None = None
    events: tuple[Event, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)
    #: the current delivery attempt (1, or more after resends: the same ID re-queued)
    attempt: int = 1

    def last_event_time(self) -> datetime | None:
        """The newest time the provider said anything about this message."""
        times = [t for t in (self.updated_at, self.sent_at, self.created_at) if t]
        times += [e.timestamp for e in self.events if e.source is EventSource.PROVIDER]
        return max(times) if times else None


#: provider words that open a new attempt when they follow a finished status (a Sent.dm resend
#: re-queues the same ID: DELIVERED/FAILED/BLOCKED/READ -> QUEUED)
ATTEMPT_OPENERS = frozenset({"queued", "accepted"})


def opens_attempt(before: Status, event: Event) -> bool:
    """True when `event` starts a new attempt after a message that had reached `before`."""
    finished = before is not Status.UNKNOWN and not before.is_pending
    return finished and fold_status(event.provider_status) in ATTEMPT_OPENERS


def label_attempts(events: tuple[Event, ...] | list[Event]) -> tuple[Event, ...]:
    """The events (time order) numbered by attempt: each re-queue after a finished status counts one."""
    labelled: list[Event] = []
    attempt, last = 1, Status.UNKNOWN
    for event in sorted(events, key=lambda e: e.timestamp):
        if labelled and opens_attempt(last, event):
            attempt += 1
        labelled.append(replace(event, attempt=attempt) if event.attempt != attempt else event)
        if event.status is not Status.UNKNOWN:
            last = event.status
    return tuple(labelled)
