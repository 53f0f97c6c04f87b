"""Sent.dm API v3: `GET /v3/messages/{id}` and `/activities`, the `{success,data,error,meta}` envelope."""

from __future__ import annotations

import re
from typing import Any

from tui.coerce import as_dict, as_float, as_list, as_str
from tui.errors import (
    BadResponseError,
    InvalidIdError,
    NotFoundError,
    OutcomeUnknownError,
    UnavailableError,
)
from tui.model import (
    Event,
    EventSource,
    Message,
    MessageError,
    Provider,
    fold_status,
    label_attempts,
    normalize_status,
)
from tui.providers.base import ProviderClient
from tui.providers.sending import (
    SendRequest,
    SendResult,
    post_idempotent,
    refused,
    sentdm_body,
    sentdm_recipients,
)
from tui.providers.transfer import Answer
from tui.timeparse import parse_time

FAILURE_STATUSES = ("failed", "blocked", "filtered")  # folded provider words that carry a reason
_CODED = re.compile(r"^\s*([A-Z]+_\d{3})\s*[:\-–]\s*(.+)$", re.DOTALL)  # an older event description


def parse_events(items: Any) -> tuple[Event, ...]:
    """Events or activities; malformed entries are skipped, the rest kept in time order and
    numbered by attempt (a resend appends a new QUEUED after a finished status)."""
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
                reason_code=as_str(item.get("reason_code"), 200) or None,
                reason=as_str(item.get("reason"), 2000) or None,
            )
        )
    return label_attempts(events)


def failure_reason(
    data: dict[str, Any], raw_status: str, events: tuple[Event, ...]
) -> MessageError | None:
    """`reason_code`/`reason` on the message, else on the failed/blocked/filtered event, else its text.

    Older messages carry the code only in the failed event's `description`; any message that is not a
    failure has no error even if a stray field is set.
    """
    code = as_str(data.get("reason_code"), 200) or None
    text = as_str(data.get("reason"), 2000) or None
    if fold_status(raw_status) not in FAILURE_STATUSES and not (code or text):
        return None
    if not (code and text):
        event = next(
            (e for e in reversed(events) if fold_status(e.provider_status) in FAILURE_STATUSES),
            None,
        )
        if event is not None:
            code = code or event.reason_code
            text = text or event.reason
            if not (code and text) and event.description:
                found = _CODED.match(event.description)  # "DELIVERY_007: Unreachable handset"
                code = code or (found.group(1) if found else None)
                text = text or (found.group(2) if found else event.description)
    return MessageError(code, text) if (code or text) else None


def _media(body: dict[str, Any]) -> tuple[str, ...]:
    urls = (as_str(as_dict(item).get("url"), 2000) for item in as_list(body.get("media")))
    return tuple(u for u in urls if u)


def parse_message(data: Any, envelope: Any = None) -> Message:
    """Map the envelope's `data` object to a Message. Raises ValueError if it is not one.

    Every field is optional in Sent.dm's SDK (absent or null): only `id` and `status` are required here.
    """
    if not isinstance(data, dict):
        raise ValueError("`data` is not an object")
    message_id = as_str(data.get("id"), 200)
    raw_status = as_str(data.get("status"), 100)
    if not message_id or raw_status is None:
        raise ValueError("`data` has no id or status")
    body = as_dict(data.get("message_body"))
    events = parse_events(data.get("events"))
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
        buttons=body.get("buttons") if isinstance(body.get("buttons"), list) else None,
        channel=as_str(data.get("channel"), 50),
        template_id=as_str(data.get("template_id"), 200),
        template_name=as_str(data.get("template_name"), 500),
        template_category=as_str(data.get("template_category"), 100),
        direction=as_str(data.get("direction"), 20),
        created_at=parse_time(data.get("created_at")),
        updated_at=max((e.timestamp for e in events), default=None)
        or parse_time(data.get("updated_at")),
        sent_at=next((e.timestamp for e in events if e.status.value == "sent"), None),
        scheduled_at=parse_time(data.get("scheduled_at")),
        price=as_float(data.get("price")),
        active_contact_price=as_float(data.get("active_contact_price")),
        media=_media(body),
        subject=as_str(body.get("subject"), 500),
        header_media=as_str(as_dict(body.get("headerMedia")).get("url"), 2000),
        metadata={
            k: v
            for k, v in (
                ("customer_id", data.get("customer_id")),
                ("contact_id", data.get("contact_id")),
                ("phone_international", data.get("phone_international")),
                ("region_code", data.get("region_code")),
            )
            if isinstance(v, str)
        },
        error=failure_reason(data, raw_status, events),
        events=events,
        raw=envelope if isinstance(envelope, dict) else {"data": data},
    )


class SentDmClient(ProviderClient):
    provider = Provider.SENTDM
    key_hint = "Set SENT_DM_API_KEY or providers.sentdm.api_key"

    def auth_headers(self) -> dict[str, str]:
        key = self.settings.api_key.reveal()
        headers = {"x-api-key": key} if key else {}
        if self.settings.profile_id:
            headers["x-profile-id"] = self.settings.profile_id
        return headers

    def auth_text(self, status: int, code: str, detail: str) -> str:
        """AUTH_001 no key, AUTH_002 invalid/expired/revoked key, AUTH_004..007 what the key may not do."""
        where = self.key_origin()
        if code == "AUTH_001":
            return f"Sent.dm received no API key (401 AUTH_001). {self.key_hint}."
        if status == 401:
            return (
                f"Sent.dm rejected the API key as invalid, expired or revoked (401 {code or 'AUTH_002'}); {where}. "
                "Create a new key in Sent.dm's dashboard and set it there."
            )
        reasons = {
            "AUTH_005": "the account is still pending approval",
            "AUTH_006": "the account's verification (KYC) is not complete",
            "AUTH_007": "no channel is set up for this account",
        }
        if code in reasons:
            return f"Sent.dm refused access (403 {code}): {reasons[code]}. Finish it in Sent.dm's dashboard."
        return f"Sent.dm refused access (403 {code or 'forbidden'}){': ' + detail if detail else ''}. {self.forbidden_hint()}"

    def forbidden_hint(self) -> str:
        if self.settings.profile_id:
            return "providers.sentdm.profile_id is set: only organization keys may act for a child profile; remove it for a profile key."
        return "Check that the key may read messages."

    def error_code(self, response: Answer) -> str:
        """`error.code` of the envelope, or the `title` of an older problem+json body."""
        try:
            payload = as_dict(response.json())
        except ValueError:
            return ""
        return (
            as_str(as_dict(payload.get("error")).get("code"), 50)
            or as_str(payload.get("title"), 50)
            or ""
        )

    def _unwrap(self, response: Answer, message_id: str) -> Any:
        """Check the envelope and map error statuses; return `data`."""
        payload = self.decode(response)
        if not isinstance(payload, dict):
            raise self.bad_shape("the body is not a JSON object")
        error = as_dict(payload.get("error"))
        code = as_str(error.get("code"), 50) or ""
        detail = as_str(error.get("message"), 300) or ""
        status = response.status_code
        if status in (401, 403):
            raise self.auth_error(status, detail, code)
        if status == 404 or code.startswith("RESOURCE_"):
            raise NotFoundError(
                f"{self.label} has no message {message_id}", provider=self.provider.value
            )
        if status in (400, 422) or code.startswith("VALIDATION_"):
            raise InvalidIdError(
                f"{self.label} rejected the ID {message_id!r}: {detail or code or 'invalid'}",
                provider=self.provider.value,
            )
        if status == 409:
            raise UnavailableError(
                f"{self.label}: the same request is still in flight (409 {code or 'CONFLICT_001'}); try again in a moment",
                provider=self.provider.value,
            )
        if status >= 400 or payload.get("success") is False:
            raise self.bad_shape(f"HTTP {status} {code} {detail}".strip())
        if "data" not in payload:
            raise self.bad_shape("no `data` in the envelope")
        return payload

    async def fetch(self, message_id: str, *, retries: int | None = None) -> Message:
        response = await self.get(
            self.message_path("/v3/messages/{id}", message_id), retries=retries
        )
        return self.read_message(response, message_id)

    def read_message(self, response: Answer, message_id: str) -> Message:
        """The answer to `GET /v3/messages/{message_id}` as a Message; raises only SendwatchError."""
        envelope = self._unwrap(response, message_id)
        try:
            message = parse_message(envelope["data"], envelope)
        except ValueError as exc:
            raise self.bad_shape(str(exc)) from None
        return self.check_answer_id(message, message_id)

    async def fetch_activities(
        self, message_id: str, *, retries: int | None = None
    ) -> tuple[Event, ...]:
        """The activity log (newest first on the wire; returned oldest first)."""
        response = await self.get(
            self.message_path("/v3/messages/{id}/activities", message_id), retries=retries
        )
        return self.read_activities(response, message_id)

    def read_activities(self, response: Answer, message_id: str) -> tuple[Event, ...]:
        """The answer to `GET /v3/messages/{message_id}/activities`; raises only SendwatchError."""
        envelope = self._unwrap(response, message_id)
        data = envelope["data"]
        if not isinstance(data, dict) or not isinstance(data.get("activities"), list):
            raise self.bad_shape("`data.activities` is missing or not a list")
        return parse_events(data["activities"])

    async def send(self, req: SendRequest) -> SendResult:
        """`POST /v3/messages` (202): one message per (recipient, channel), retried with the same key.

        An answer that cannot be read leaves every recipient's outcome unknown (the key recovers
        the IDs without sending twice); it is never reported as "nothing sent"."""
        req = req.check(self.provider)
        key = req.idempotency_key
        try:
            response = await post_idempotent(self, "/v3/messages", sentdm_body(req), key)
        except OutcomeUnknownError as exc:
            return SendResult(self.provider, key, unknown=[(to, str(exc)) for to in req.to])
        if response.status_code >= 400:
            raise refused(self, response)
        try:
            messages = sentdm_recipients(self.decode(response))
        except (ValueError, BadResponseError) as exc:
            why = (
                f"Sent.dm accepted the send (HTTP {response.status_code}) but its answer cannot be "
                f"read ({exc}); send again with --idempotency-key {key} to get the IDs without "
                "sending twice"
            )
            return SendResult(self.provider, key, unknown=[(to, why) for to in req.to])
        return SendResult(self.provider, key, messages)
