"""What a simulated message looks like on the wire, per provider, at a moment of world time.

One module builds every body (REST answers and webhook payloads) so GET and the webhooks can
never disagree about a message. Shapes follow docs/providers.md and the `sentdm` SDK's types.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

from tui.simulator.accounts import owner_id
from tui.simulator.catalog import SENTDM_DESCRIPTIONS, SENTDM_REASONED, channel_label
from tui.simulator.world import Error, SimMessage, SimWorld, campaign_id

CONTACT_ID = "550e8400-e29b-41d4-a716-446655440002"


def sentdm_time(epoch: float) -> str:
    """Sent.dm style: 7 fractional digits and an explicit offset."""
    dt = datetime.fromtimestamp(epoch, tz=UTC)
    frac = f"{epoch % 1:.7f}"[2:]
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac}+00:00"


def sentdm_webhook_time(epoch: float) -> str:
    """The webhook payload's `yyyy-MM-ddTHH:mm:ssZ`."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sendo_time(epoch: float) -> str:
    dt = datetime.fromtimestamp(epoch, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{int(epoch % 1 * 1000):03d}Z"


def envelope(data: Any, error: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sent.dm's `{success, data, error, meta}` around every answer."""
    return {
        "success": error is None,
        "data": data,
        "error": error,
        "meta": {
            "request_id": f"req_{random.getrandbits(40):010x}",
            "timestamp": sentdm_time(time.time()),
            "version": "v3",
        },
    }


def sentdm_error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """`details` is the SDK's `{field: [messages]}` for validation errors, else null."""
    details = {field: [message]} if field else None
    return {
        "code": code,
        "message": message,
        "details": details,
        "doc_url": f"https://docs.sent.dm/errors/{code}",
    }


def _reason(msg: SimMessage, status: str, error: Error | None) -> dict[str, str]:
    """Sent.dm's reason fields for a FAILED/BLOCKED/FILTERED status (none for legacy messages)."""
    if status not in SENTDM_REASONED or not error or msg.legacy_reason:
        return {}
    return {"reason_code": error[0], "reason": error[1]}


def _description(msg: SimMessage, status: str, error: Error | None) -> str:
    if status in SENTDM_REASONED and error and msg.legacy_reason:
        return f"{error[0]}: {error[1]}"  # older messages: the code only here
    return SENTDM_DESCRIPTIONS.get(status, status.title()).format(via=channel_label(msg.channel))


def _seen(msg: SimMessage, now: float) -> list[tuple[int, float, str]]:
    """(index, world time, STATUS) of every step reached by `now`, oldest first."""
    return [
        (i, msg.created + off, st)
        for i, (off, st) in enumerate(msg.steps)
        if msg.created + off <= now
    ]


def sentdm_events(world: SimWorld, msg: SimMessage, now: float) -> list[dict[str, Any]]:
    """Oldest first, as on the message; each with the reason of the attempt it belongs to."""
    events = []
    for i, t, st in _seen(msg, now):
        error = msg.attempt_of(i)[0]
        events.append(
            {
                "status": st,
                "timestamp": sentdm_time(world.wall(t)),
                "description": _description(msg, st, error),
                **_reason(msg, st, error),
            }
        )
    return events


def sentdm_body(msg: SimMessage) -> dict[str, Any]:
    """`message_body`: every member present (null when unused), like the SDK describes."""
    return {
        "header": msg.header,
        "content": msg.body,
        "footer": msg.footer,
        "buttons": msg.buttons,
        "headerMedia": msg.header_media,
        "media": msg.media,
        "subject": msg.subject,
    }


def sentdm_data(world: SimWorld, msg: SimMessage, now: float | None = None) -> dict[str, Any]:
    """`GET /v3/messages/{id}` `data`."""
    now = world.now() if now is None else now
    _, status = msg.status_at(now)
    data: dict[str, Any] = {
        "id": msg.id,
        "customer_id": owner_id(msg),
        "contact_id": CONTACT_ID,
        "phone": msg.to,
        "phone_international": msg.phone_international
        or f"+1 {msg.to[2:5]}-{msg.to[5:8]}-{msg.to[8:]}",
        "region_code": msg.region or "US",
        "direction": msg.direction.lower(),
        "channel": msg.channel,
        "template_id": msg.template[0] or None,
        "template_name": msg.template[1] or None,
        "template_category": msg.template[2] or None,
        "message_body": sentdm_body(msg),
        "status": status,
        "created_at": sentdm_time(world.wall(msg.created)),
        "price": msg.price,  # the latest attempt's (a resent message is billed per attempt)
        "active_contact_price": 0.015,
        **_reason(msg, status, msg.error),
        "events": sentdm_events(world, msg, now),
    }
    if msg.scheduled_at is not None:  # only messages that are or were held have the key
        data["scheduled_at"] = sentdm_time(world.wall(msg.scheduled_at))
    return data


def sentdm_activities(
    world: SimWorld, msg: SimMessage, page: int, page_size: int
) -> dict[str, Any]:
    """`GET /v3/messages/{id}/activities` `data`: newest first, prices as 4-decimal strings.

    Every activity carries the price of the attempt it belongs to; each attempt starts with one
    QUEUED activity, so a resent message's cost is the sum of its QUEUED activities' prices.
    """
    now = world.now()
    acts = []
    seen = _seen(msg, now)
    for (i, _, _), event in zip(
        reversed(seen), reversed(sentdm_events(world, msg, now)), strict=True
    ):
        act = {
            "status": event["status"],
            "description": event["description"],
            "from": msg.from_,
            "timestamp": event["timestamp"],
            "price": f"{msg.attempt_of(i)[1] or 0.0:.4f}",
            "active_contact_price": "0.0150",
        }
        act.update({k: event[k] for k in ("reason_code", "reason") if k in event})
        if event["status"] in ("SCHEDULED", "CANCELLED") and msg.scheduled_at is not None:
            act["scheduled_at"] = sentdm_time(world.wall(msg.scheduled_at))
        acts.append(act)
    chunk, meta = paginate(acts, page, page_size)
    return {"message_id": msg.id, "activities": chunk, "pagination": meta}


def paginate(
    items: list[Any], page: int, page_size: int, *, cursors: bool = False
) -> tuple[list[Any], dict[str, Any]]:
    """One 1-based page of `items` and Sent.dm's `pagination` (`cursors: null` where listed)."""
    total = len(items)
    pages = max(1, -(-total // page_size))
    meta: dict[str, Any] = {
        "page": page,
        "page_size": page_size,
        "total_count": total,
        "total_pages": pages,
        "has_more": page < pages,
    }
    if cursors:
        meta["cursors"] = None
    return items[(page - 1) * page_size : page * page_size], meta


def sendo_data(
    world: SimWorld, msg: SimMessage, now: float | None = None, *, nulls: bool = False
) -> dict[str, Any]:
    """Sendo's message object; optional keys absent (REST) or null (`nulls`, webhooks)."""
    now = world.now() if now is None else now
    seen = msg.visible_steps(now)
    updated, status = msg.status_at(now)
    sent = next((t for t, st in seen if st == "SENT"), None)
    optional: dict[str, Any] = {
        "sentAt": sendo_time(world.wall(sent)) if sent is not None else None,
        "updatedAt": sendo_time(world.wall(updated)) if len(seen) > 1 else None,
        "scheduledAt": sendo_time(world.wall(msg.scheduled_at))
        if msg.scheduled_at is not None
        else None,
        "mediaUrls": msg.media_urls or None,
        "errorCode": None,
        "errorMessage": None,
    }
    if status == "FAILED" and msg.error:
        optional["errorCode"] = (
            int(msg.error[0]) if msg.numeric_code and msg.error[0].isdigit() else msg.error[0]
        )
        optional["errorMessage"] = msg.error[1]
    out: dict[str, Any] = {
        "id": msg.id,
        "type": "MMS" if msg.channel == "mms" else "SMS",
        "createdAt": sendo_time(world.wall(msg.created)),
        "direction": msg.direction,
        "from": msg.from_,
        "to": msg.to,
        "body": msg.body,
        "numSegments": 1 + len(msg.body) // 160,
        "campaignId": campaign_id(msg.campaign),
        "metadata": msg.metadata,
        "status": status,
    }
    out.update({k: v for k, v in optional.items() if v is not None or nulls})
    return out


def sentdm_webhook_payload(
    world: SimWorld, msg: SimMessage, at: float, status: str
) -> dict[str, Any]:
    """The `payload` of a Sent.dm `message.*` webhook for the step reached at world time `at`."""
    error = msg.attempt_of(msg.step_index(at, status))[0] if msg.attempts else msg.error
    payload: dict[str, Any] = {
        "message_status": status,
        "message_id": msg.id,
        "account_id": owner_id(msg),
        "channel": msg.channel,
        "template_id": msg.template[0] or None,
        "template_name": msg.template[1] or None,
        "body": msg.body[:3072] if status in ("QUEUED", "SENT", "DELIVERED", "READ") else None,
        **_reason(msg, status, error),
        "updated_at": sentdm_webhook_time(world.wall(at)),
        "outbound_number": msg.from_,
    }
    if status in ("SCHEDULED", "CANCELLED") and msg.scheduled_at is not None:
        payload["scheduled_at"] = sentdm_webhook_time(world.wall(msg.scheduled_at))
    if status == "SCHEDULED":
        payload["schedule_reason"] = "scheduled"
    return payload
