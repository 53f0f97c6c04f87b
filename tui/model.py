"""The one normalized message model both providers are mapped into.

Everything above the provider clients (store, scheduler, CLI, UI) speaks only this model, so a
third provider would only need a new mapping, not new screens.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Status(str, enum.Enum):
    """Normalized delivery status. Ordered roughly by progress for sorting."""

    CREATED = "created"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """True when no later status can follow (so it is never polled again)."""
        return self in (Status.READ, Status.FAILED)

    @property
    def is_pending(self) -> bool:
        return self not in (Status.DELIVERED, Status.READ, Status.FAILED)


# Raw provider strings -> normalized status. Keys are already folded by `fold_status`.
_STATUS_MAP: dict[str, Status] = {
    "created": Status.CREATED,
    "accepted": Status.CREATED,
    "scheduled": Status.SCHEDULED,
    "queued": Status.QUEUED,
    "processed": Status.QUEUED,  # Sent.dm activities: processed by Sent, not yet handed on
    "processing": Status.QUEUED,
    "sending": Status.QUEUED,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.READ,
    "opened": Status.READ,  # Sendo
    "failed": Status.FAILED,
    "failed_after_too_many_attempts": Status.FAILED,  # Sendo
    "undelivered": Status.FAILED,
    "rejected": Status.FAILED,
}


def fold_status(raw: str) -> str:
    """Case-insensitive, `-` and `_` alike, surrounding blanks ignored."""
    return raw.strip().lower().replace("-", "_").replace(" ", "_")


def normalize_status(raw: object) -> Status:
    """Map any provider status string to a `Status`; anything unrecognised is UNKNOWN, never an error."""
    if not isinstance(raw, str):
        return Status.UNKNOWN
    return _STATUS_MAP.get(fold_status(raw), Status.UNKNOWN)


class Provider(str, enum.Enum):
    SENTDM = "sentdm"
    SENDO = "sendo"

    @property
    def label(self) -> str:
        return {"sentdm": "Sent.dm", "sendo": "Sendo"}[self.value]


class EventSource(str, enum.Enum):
    PROVIDER = "provider"  # reported by the provider's own event/activity list
    OBSERVED = "observed"  # a transition this app saw itself between two polls


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

    def key(self) -> tuple[str, str, float]:
        """Identity used to deduplicate events across polls."""
        return (self.source.value, fold_status(self.provider_status), round(self.timestamp.timestamp(), 3))


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
    metadata: dict[str, Any] = field(default_factory=dict)
    error: MessageError | None = None
    events: tuple[Event, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)

    def last_event_time(self) -> datetime | None:
        """The newest time the provider said anything about this message."""
        times = [t for t in (self.updated_at, self.sent_at, self.created_at) if t]
        times += [e.timestamp for e in self.events if e.source is EventSource.PROVIDER]
        return max(times) if times else None
