"""Sendo API v1: `GET /v1/message/{id}` with a bearer token, `{"message": {...}}` responses.

Sendo has no event list, so the timeline is built from the message's own timestamps here and from
the transitions sendwatch observes between polls (kept by the store).
"""

from __future__ import annotations

from typing import Any

import httpx

from tui.errors import InvalidIdError, NotFoundError
from tui.model import Event, EventSource, Message, MessageError, Provider, Status, normalize_status
from tui.providers.base import ProviderClient
from tui.coerce import as_dict, as_int, as_list, as_str
from tui.timeparse import parse_time


def _timeline(msg: dict[str, Any], status: Status, raw_status: str) -> tuple[Event, ...]:
    events: list[Event] = []
    for key, st, text in (
        ("createdAt", Status.CREATED, "Message created"),
        ("scheduledAt", Status.SCHEDULED, "Scheduled for sending"),
        ("sentAt", Status.SENT, "Message sent"),
    ):
        when = parse_time(msg.get(key))
        if when:
            events.append(Event(st, st.value, when, text, EventSource.PROVIDER))
    updated = parse_time(msg.get("updatedAt"))
    if updated and status not in (Status.CREATED, Status.SCHEDULED, Status.SENT, Status.UNKNOWN):
        events.append(Event(status, raw_status, updated, f"Status {raw_status} (last update)", EventSource.PROVIDER))
    return tuple(sorted(events, key=lambda e: e.timestamp))


def parse_message(payload: Any) -> Message:
    """Map `{"message": {...}}` to a Message. Raises ValueError if it is not one."""
    msg = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(msg, dict):
        raise ValueError("no `message` object")
    message_id = as_str(msg.get("id"), 200)
    raw_status = as_str(msg.get("status"), 100)
    if not message_id or raw_status is None:
        raise ValueError("`message` has no id or status")
    status = normalize_status(raw_status)
    code = as_str(msg.get("errorCode"), 200)
    text = as_str(msg.get("errorMessage"), 2000)
    return Message(
        id=message_id.lower(),
        provider=Provider.SENDO,
        status=status,
        provider_status=raw_status,
        to=as_str(msg.get("to"), 100),
        from_=as_str(msg.get("from"), 100),
        body=as_str(msg.get("body")),
        channel=(as_str(msg.get("type"), 20) or "").lower() or None,
        campaign=as_str(msg.get("campaignId"), 200),
        direction=as_str(msg.get("direction"), 20),
        created_at=parse_time(msg.get("createdAt")),
        sent_at=parse_time(msg.get("sentAt")),
        updated_at=parse_time(msg.get("updatedAt")),
        scheduled_at=parse_time(msg.get("scheduledAt")),
        segments=as_int(msg.get("numSegments")),
        media=tuple(u for u in (as_str(x, 2000) for x in as_list(msg.get("mediaUrls"))) if u),
        metadata=as_dict(msg.get("metadata")),
        error=MessageError(code, text) if (code or text) else None,
        events=_timeline(msg, status, raw_status),
        raw=payload,
    )


class SendoClient(ProviderClient):
    provider = Provider.SENDO
    key_hint = "Set SENDO_API_KEY or providers.sendo.api_key"

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.settings.api_key.reveal()}"}

    def error_code(self, response: httpx.Response) -> str:
        try:
            return as_str(as_dict(response.json()).get("error"), 60) or ""
        except ValueError:
            return ""

    async def fetch(self, message_id: str, *, retries: int | None = None) -> Message:
        response = await self.get(self.message_path("/v1/message/{id}", message_id), retries=retries)
        status = response.status_code
        if status >= 400:
            detail = self.error_code(response)
            if status in (401, 403):
                raise self.auth_error(status, detail)
            if status == 404:
                raise NotFoundError(f"{self.label} has no message {message_id}", provider=self.provider.value)
            if status in (400, 422):
                raise InvalidIdError(f"{self.label} rejected the ID {message_id!r}: {detail or 'invalid'}", provider=self.provider.value)
            raise self.bad_shape(f"HTTP {status} {detail}".strip())
        try:
            return parse_message(self.decode(response))
        except ValueError as exc:
            raise self.bad_shape(str(exc)) from None
