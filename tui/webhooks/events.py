"""Provider push bodies -> one normalized `Push`: what happened to which message, and when.

Bodies are untrusted even when authentic: fields are read leniently (a wrong type is None), and
only what the documented shape requires (an object, a status, a message ID) makes a body invalid,
as does a time that names no representable instant (year 1 at +14:00): a clear 400, not a 500.
`parse_sentdm` and `parse_sendo` raise nothing but `BadPayload` (property-tested).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from tui.coerce import as_str
from tui.ids import is_message_id
from tui.model import Event, EventSource, Message, MessageError, Provider, Status, normalize_status
from tui.providers import sendo as sendo_api
from tui.timeparse import parse_time

#: Sendo event types that report a status change; the others are acknowledged without acting.
SENDO_STATUS_TYPES = frozenset({"message.status"})
_SENDO_TIMES = ("createdAt", "sentAt", "updatedAt", "scheduledAt")


class BadPayload(ValueError):
    """Not the documented JSON (400). The reason names fields, never their values."""


@dataclass(frozen=True)
class Push:
    """One authentic event, normalized. `message` is None for a family we acknowledge but ignore."""

    provider: Provider
    kind: str  # e.g. `message.delivered`, `templates.approved`, `recipient.optout` (for counters/logs)
    event_id: str | None  # deduplication key (stable across the provider's retries)
    message: Message | None
    at: datetime  # when the message reached this status


def load_object(body: bytes) -> dict[str, Any]:
    """Parse the raw body as one JSON object, or raise BadPayload."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadPayload("body is not JSON") from None
    if not isinstance(data, dict):
        raise BadPayload("body is not a JSON object")
    return data


def _time(value: object, name: str) -> datetime | None:
    """`parse_time`, except that a time outside what a datetime can hold is refused (400)."""
    try:
        parsed = parse_time(value)
    except (OverflowError, ValueError):
        raise BadPayload(f"`{name}` is out of range") from None
    if parsed is None and isinstance(value, str) and _overflows(value):
        raise BadPayload(f"`{name}` is out of range")
    return parsed


def _overflows(text: str) -> bool:
    """A well-formed ISO time whose offset carries it past year 1 or 9999 in UTC."""
    try:
        local = datetime.fromisoformat(text.strip()[:64])
    except ValueError:
        return False
    try:
        local.astimezone(UTC)
    except OverflowError:
        return True
    return False


def _when(*candidates: tuple[object, str], received: float) -> datetime:
    for value, name in candidates:
        parsed = _time(value, name)
        if parsed is not None:
            return parsed
    return datetime.fromtimestamp(received, tz=UTC)


def _acknowledged_at(value: object, received: float) -> datetime:
    """When an event we only acknowledge happened: its times are never a reason to refuse it."""
    try:
        return _when((value, "timestamp"), received=received)
    except BadPayload:
        return datetime.fromtimestamp(received, tz=UTC)


def _message_id(value: object) -> str:
    text = as_str(value, 200)
    if not text or not is_message_id(text.strip()):
        raise BadPayload("message id missing or not a message ID")
    return text.strip().lower()


def _event(
    status: Status, word: str, at: datetime, kind: str, reason_code: str | None, reason: str | None
) -> Event:
    detail = ": ".join(part for part in (reason_code, reason) if part)
    description = f"pushed by webhook ({kind})" + (f": {detail}" if detail else "")
    return Event(status, word, at, description[:2000], EventSource.WEBHOOK, reason_code, reason)


def parse_sentdm(body: bytes, event_id: str | None, received: float) -> Push:
    """Sent.dm: `{field, event|sub_type, payload{message_status, message_id, …}, timestamp}`."""
    envelope = load_object(body)
    subtype = as_str(envelope.get("event"), 100) or as_str(envelope.get("sub_type"), 100) or ""
    family = as_str(envelope.get("field"), 100) or subtype.partition(".")[0]
    kind = subtype or family or "?"
    if family != "message":
        return Push(
            Provider.SENTDM,
            kind[:100],
            event_id,
            None,
            _acknowledged_at(envelope.get("timestamp"), received),
        )
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        raise BadPayload("`payload` is not an object")
    word = as_str(payload.get("message_status"), 100)
    if not word or not word.strip():
        raise BadPayload("`payload.message_status` is missing")
    word = word.strip()
    message_id = _message_id(payload.get("message_id"))
    at = _when(
        (payload.get("updated_at"), "payload.updated_at"),
        (envelope.get("timestamp"), "timestamp"),
        received=received,
    )
    status = normalize_status(word)
    reason_code = as_str(payload.get("reason_code"), 200)
    reason = as_str(payload.get("reason"), 2000)
    message = Message(
        id=message_id,
        provider=Provider.SENTDM,
        status=status,
        provider_status=word,
        body=as_str(payload.get("body")),
        channel=as_str(payload.get("channel"), 50),
        template_id=as_str(payload.get("template_id"), 200),
        template_name=as_str(payload.get("template_name"), 500),
        scheduled_at=_time(payload.get("scheduled_at"), "payload.scheduled_at"),
        updated_at=at,
        error=MessageError(reason_code, reason) if (reason_code or reason) else None,
        events=(_event(status, word, at, kind, reason_code, reason),),
        raw={"webhook": envelope},
    )
    return Push(Provider.SENTDM, kind[:100], event_id, message, at)


def parse_sendo(body: bytes, received: float) -> Push:
    """Sendo: `{id, type, timestamp, message{…the REST message object, null for absent keys…}}`."""
    envelope = load_object(body)
    kind = as_str(envelope.get("type"), 100) or "?"
    event_id = as_str(envelope.get("id"), 200)
    if kind not in SENDO_STATUS_TYPES:
        return Push(
            Provider.SENDO,
            kind,
            event_id,
            None,
            _acknowledged_at(envelope.get("timestamp"), received),
        )
    inner = envelope.get("message")
    if not isinstance(inner, dict):
        raise BadPayload("`message` is not an object")
    _message_id(inner.get("id"))
    if not (as_str(inner.get("status"), 100) or "").strip():
        raise BadPayload("`message.status` is missing")
    for name in _SENDO_TIMES:  # refused here with their name, before the REST parser sees them
        _time(inner.get(name), f"message.{name}")
    try:
        parsed = sendo_api.parse_message({"message": inner})
    except (ValueError, OverflowError):
        raise BadPayload("`message` has no usable id, status or times") from None
    at = _when(
        (inner.get("updatedAt"), "message.updatedAt"),
        (envelope.get("timestamp"), "timestamp"),
        received=received,
    )
    error = parsed.error
    pushed = _event(
        parsed.status,
        parsed.provider_status,
        at,
        kind,
        error.code if error else None,
        error.message if error else None,
    )
    message = replace(
        parsed,
        events=(*parsed.events, pushed),
        updated_at=parsed.updated_at or at,
        raw={"message": inner},
    )
    return Push(Provider.SENDO, kind, event_id, message, at)
