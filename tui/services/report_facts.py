"""What `sendwatch report` needs of one message, read from its stored snapshot (report.py folds it).

Every time is the provider's own (epoch seconds): its creation time, its DELIVERED event, and when
the message entered its current status. Reading never raises: a snapshot that says less gives
fewer facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tui.coerce import as_dict, as_list
from tui.model import Status
from tui.store.facts import PROVIDER_SOURCES, epoch, snapshot_facts


def short_text(value: object, limit: int = 200) -> str | None:
    """A non-empty string field of a snapshot (capped: it is provider text), else None."""
    return value[:limit] if isinstance(value, str) and value else None


@dataclass(frozen=True)
class MessageFacts:
    """What the report needs of one message; times are epoch seconds, all the provider's own."""

    provider: str
    status: str  # a `Status` value
    waiting: bool = False  # tracked, never answered
    provider_status: str | None = None
    channel: str | None = None
    to: str | None = None
    region: str | None = None  # Sent.dm's region_code, when it gave one
    price: float | None = None
    segments: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    created: float | None = None
    delivered: float | None = None  # the provider's DELIVERED time
    entered: float | None = None  # when it entered its current status (scheduled: release time)

    @classmethod
    def from_snapshot(cls, snap: Mapping[str, Any]) -> MessageFacts:
        """From a stored snapshot (`message_to_dict` with the merged timeline); never raises."""
        provider = short_text(snap.get("provider"))
        if snap.get("fetched_at") is None or provider is None:
            return cls(provider or "", Status.UNKNOWN.value, waiting=True)
        status = short_text(snap.get("status")) or Status.UNKNOWN.value
        if status not in Status._value2member_map_:
            status = Status.UNKNOWN.value
        price, segments, region, entered = snapshot_facts(snap)
        error = as_dict(snap.get("error"))
        said = [
            e
            for e in as_list(snap.get("events"))
            if isinstance(e, dict) and e.get("source") in PROVIDER_SOURCES
        ]
        delivered = next((e for e in said if e.get("status") == "delivered"), {})
        last = next((e for e in reversed(said) if e.get("status") == status), {})
        return cls(
            provider=provider,
            status=status,
            provider_status=short_text(snap.get("provider_status")),
            channel=short_text(snap.get("channel")),
            to=short_text(snap.get("to")),
            region=region,
            price=price,
            segments=segments,
            error_code=short_text(error.get("code")),
            error_message=short_text(error.get("message"), 500),
            created=epoch(snap.get("created_at")),
            delivered=epoch(delivered.get("timestamp")),
            entered=entered if status == "scheduled" else epoch(last.get("timestamp")) or entered,
        )
