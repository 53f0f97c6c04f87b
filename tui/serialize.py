"""The one JSON shape of a message: `get --json`, `export --format json` and the store all use it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tui.coerce import as_dict, as_float, as_int, as_list, as_str
from tui.model import Event, EventSource, Message, MessageError, Provider, Status, normalize_status
from tui.reasons import explain
from tui.timeline import TimelineEntry, merge_events
from tui.timeparse import parse_time, to_iso


def event_to_dict(event: Event | TimelineEntry) -> dict[str, Any]:
    """One event; a merged timeline entry adds `observed_at`/`pushed_at` where sendwatch saw it."""
    out: dict[str, Any] = {
        "status": event.status.value,
        "provider_status": event.provider_status,
        "timestamp": to_iso(event.timestamp),
        "description": event.description,
        "source": event.source.value,
        "reason_code": event.reason_code,
        "reason": event.reason,
        "attempt": event.attempt,
    }
    if isinstance(event, TimelineEntry):
        out["observed_at"] = to_iso(event.observed_at)
        out["pushed_at"] = to_iso(event.pushed_at)
    return out


def events_to_dicts(events: tuple[Event, ...] | list[Event]) -> list[dict[str, Any]]:
    """The public events list: one entry per status reached (see `tui.timeline`)."""
    return [event_to_dict(e) for e in merge_events(events)]


def message_to_dict(
    msg: Message, fetched_at: datetime | None, *, raw: bool = False, store: bool = False
) -> dict[str, Any]:
    """The public JSON of a message; `store=True` keeps every event unmerged (the history's snapshot)."""
    out: dict[str, Any] = {
        "id": msg.id,
        "provider": msg.provider.value,
        "status": msg.status.value,
        "provider_status": msg.provider_status,
        "to": msg.to,
        "from": msg.from_,
        "body": msg.body,
        "header": msg.header,
        "footer": msg.footer,
        "buttons": msg.buttons,
        "channel": msg.channel,
        "template": {
            "id": msg.template_id,
            "name": msg.template_name,
            "category": msg.template_category,
        },
        "campaign": msg.campaign,
        "direction": msg.direction,
        "created_at": to_iso(msg.created_at),
        "sent_at": to_iso(msg.sent_at),
        "updated_at": to_iso(msg.updated_at),
        "scheduled_at": to_iso(msg.scheduled_at),
        "price": msg.price,
        "active_contact_price": msg.active_contact_price,
        "segments": msg.segments,
        "media": list(msg.media),
        "subject": msg.subject,
        "header_media": msg.header_media,
        "metadata": msg.metadata,
        "error": {
            "code": msg.error.code,
            "message": msg.error.message,
            "advice": explain(msg.provider, msg.error.code),
        }
        if msg.error
        else None,
        "attempt": msg.attempt,
        "events": [event_to_dict(e) for e in msg.events] if store else events_to_dicts(msg.events),
        "fetched_at": to_iso(fetched_at),
    }
    if raw:
        out["raw"] = msg.raw
    return out


def event_from_dict(data: Any) -> Event | None:
    data = as_dict(data)
    when = parse_time(data.get("timestamp"))
    raw_status = as_str(data.get("provider_status"), 100) or as_str(data.get("status"), 100)
    if when is None or raw_status is None:
        return None
    try:
        source = EventSource(data.get("source", "provider"))
    except ValueError:
        source = EventSource.PROVIDER
    return Event(
        normalize_status(raw_status),
        raw_status,
        when,
        as_str(data.get("description"), 2000) or "",
        source,
        reason_code=as_str(data.get("reason_code"), 200) or None,
        reason=as_str(data.get("reason"), 2000) or None,
        attempt=max(1, as_int(data.get("attempt")) or 1),
    )


def message_from_dict(data: Any) -> Message:
    """Rebuild a Message from `message_to_dict` output (e.g. the cache). Raises ValueError if unusable."""
    data = as_dict(data)
    try:
        provider = Provider(data.get("provider"))
        status = Status(data.get("status"))
    except ValueError:
        raise ValueError("cached message has no valid provider or status") from None
    message_id = as_str(data.get("id"), 200)
    if not message_id:
        raise ValueError("cached message has no id")
    template = as_dict(data.get("template"))
    error = as_dict(data.get("error")) if data.get("error") else None
    events = tuple(e for e in (event_from_dict(x) for x in as_list(data.get("events"))) if e)
    return Message(
        id=message_id,
        provider=provider,
        status=status,
        provider_status=as_str(data.get("provider_status"), 100) or status.value,
        to=as_str(data.get("to")),
        from_=as_str(data.get("from")),
        body=as_str(data.get("body")),
        header=as_str(data.get("header")),
        footer=as_str(data.get("footer")),
        buttons=data.get("buttons"),
        channel=as_str(data.get("channel")),
        template_id=as_str(template.get("id")),
        template_name=as_str(template.get("name")),
        template_category=as_str(template.get("category")),
        campaign=as_str(data.get("campaign")),
        direction=as_str(data.get("direction")),
        created_at=parse_time(data.get("created_at")),
        sent_at=parse_time(data.get("sent_at")),
        updated_at=parse_time(data.get("updated_at")),
        scheduled_at=parse_time(data.get("scheduled_at")),
        price=as_float(data.get("price")),
        active_contact_price=as_float(data.get("active_contact_price")),
        segments=as_int(data.get("segments")),
        media=tuple(x for x in (as_str(m) for m in as_list(data.get("media"))) if x),
        subject=as_str(data.get("subject")),
        header_media=as_str(data.get("header_media")),
        metadata=as_dict(data.get("metadata")),
        error=MessageError(as_str(error.get("code")), as_str(error.get("message")))
        if error
        else None,
        events=events,
        raw=as_dict(data.get("raw")),
        attempt=max(1, as_int(data.get("attempt")) or 1),
    )
