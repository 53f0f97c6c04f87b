"""Sent.dm API v3: `GET /v3/messages/{id}` and `/activities`, the `{success,data,error,meta}` envelope."""

from __future__ import annotations

from typing import Any

import httpx

from tui.errors import InvalidIdError, NotFoundError
from tui.model import Event, EventSource, Message, MessageError, Provider, normalize_status
from tui.providers.base import ProviderClient
from tui.coerce import as_dict, as_float, as_list, as_str
from tui.timeparse import parse_time


def parse_events(items: Any) -> tuple[Event, ...]:
    """Events or activities; malformed entries are skipped, the rest kept in time order."""
    events: list[Event] = []
    for item in as_list(items):
        item = as_dict(item)
        raw_status = as_str(item.get("status"), 100)
        when = parse_time(item.get("timestamp"))
        if raw_status is None or when is None:
            continue
        events.append(
            Event(
                status=normalize_status(raw_status),
                provider_status=raw_status,
                timestamp=when,
                description=as_str(item.get("description"), 2000) or "",
                source=EventSource.PROVIDER,
            )
        )
    return tuple(sorted(events, key=lambda e: e.timestamp))


def parse_message(data: Any, envelope: Any = None) -> Message:
    """Map the envelope's `data` object to a Message. Raises ValueError if it is not one."""
    if not isinstance(data, dict):
        raise ValueError("`data` is not an object")
    message_id = as_str(data.get("id"), 200)
    raw_status = as_str(data.get("status"), 100)
    if not message_id or raw_status is None:
        raise ValueError("`data` has no id or status")
    body = as_dict(data.get("message_body"))
    events = parse_events(data.get("events"))
    # The failure fields are not in the seed document: accept `error_code`/`error_message` or an
    # `error {code, message}` object, and fall back to the failed event's description.
    nested = as_dict(data.get("error"))
    code = as_str(data.get("error_code") or nested.get("code"), 200)
    text = as_str(data.get("error_message") or nested.get("message"), 2000)
    if not text and normalize_status(raw_status).value == "failed":
        failed_event = next((e for e in reversed(events) if e.status.value == "failed"), None)
        text = failed_event.description if failed_event else None
    error = MessageError(code, text) if (code or text) else None
    return Message(
        id=message_id.lower(),
        provider=Provider.SENTDM,
        status=normalize_status(raw_status),
        provider_status=raw_status,
        to=as_str(data.get("phone"), 100),
        from_=as_str(data.get("from") or data.get("outbound_number"), 100),
        body=as_str(body.get("content")),
        header=as_str(body.get("header")),
        footer=as_str(body.get("footer")),
        buttons=body.get("buttons"),
        channel=as_str(data.get("channel"), 50),
        template_id=as_str(data.get("template_id"), 200),
        template_name=as_str(data.get("template_name"), 500),
        template_category=as_str(data.get("template_category"), 100),
        created_at=parse_time(data.get("created_at")),
        updated_at=max((e.timestamp for e in events), default=None) or parse_time(data.get("updated_at")),
        sent_at=next((e.timestamp for e in events if e.status.value == "sent"), None),
        price=as_float(data.get("price")),
        active_contact_price=as_float(data.get("active_contact_price")),
        metadata={k: v for k, v in (("customer_id", data.get("customer_id")), ("contact_id", data.get("contact_id")),
                                    ("phone_international", data.get("phone_international")),
                                    ("region_code", data.get("region_code"))) if v is not None},
        error=error,
        events=events,
        raw=envelope if isinstance(envelope, dict) else {"data": data},
    )


class SentDmClient(ProviderClient):
    provider = Provider.SENTDM
    key_hint = "Set SENT_DM_API_KEY or providers.sentdm.api_key"

    def auth_headers(self) -> dict[str, str]:
        headers = {"x-api-key": self.settings.api_key.reveal()}
        if self.settings.profile_id:
            headers["x-profile-id"] = self.settings.profile_id
        return headers

    def forbidden_hint(self) -> str:
        if self.settings.profile_id:
            return "providers.sentdm.profile_id is set: only organization keys may act for a child profile; remove it for a profile key."
        return "Check that the key may read messages."

    def error_code(self, response: httpx.Response) -> str:
        try:
            return as_str(as_dict(as_dict(response.json()).get("error")).get("code"), 50) or ""
        except ValueError:
            return ""

    def _unwrap(self, response: httpx.Response, message_id: str) -> Any:
        """Check the envelope and map error statuses; return `data`."""
        payload = self.decode(response)
        if not isinstance(payload, dict):
            raise self.bad_shape("the body is not a JSON object")
        error = as_dict(payload.get("error"))
        code = as_str(error.get("code"), 50) or ""
        detail = as_str(error.get("message"), 300) or ""
        status = response.status_code
        if status in (401, 403):
            raise self.auth_error(status, detail)
        if status == 404 or code.startswith("RESOURCE_"):
            raise NotFoundError(f"{self.label} has no message {message_id}", provider=self.provider.value)
        if status in (400, 422) or code.startswith("VALIDATION_"):
            raise InvalidIdError(f"{self.label} rejected the ID {message_id!r}: {detail or code or 'invalid'}", provider=self.provider.value)
        if status >= 400 or payload.get("success") is False:
            raise self.bad_shape(f"HTTP {status} {code} {detail}".strip())
        if "data" not in payload:
            raise self.bad_shape("no `data` in the envelope")
        return payload

    async def fetch(self, message_id: str, *, retries: int | None = None) -> Message:
        response = await self.get(self.message_path("/v3/messages/{id}", message_id), retries=retries)
        envelope = self._unwrap(response, message_id)
        try:
            return parse_message(envelope["data"], envelope)
        except ValueError as exc:
            raise self.bad_shape(str(exc)) from None

    async def fetch_activities(self, message_id: str, *, retries: int | None = None) -> tuple[Event, ...]:
        """The activity log (newest first on the wire; returned oldest first)."""
        response = await self.get(self.message_path("/v3/messages/{id}/activities", message_id), retries=retries)
        envelope = self._unwrap(response, message_id)
        data = envelope["data"]
        if not isinstance(data, dict) or not isinstance(data.get("activities"), list):
            raise self.bad_shape("`data.activities` is missing or not a list")
        return parse_events(data["activities"])
