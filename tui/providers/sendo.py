"""Sendo API v1: `GET /v1/message/{id}` with a bearer token, `{"message": {...}}` responses.

Sendo has no event list, so the timeline is built from the message's own timestamps here and from
the transitions sendwatch observes between polls (kept by the store).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tui.coerce import as_dict, as_int, as_list, as_str
from tui.errors import (
    AuthError,
    InvalidIdError,
    NotFoundError,
    OutcomeUnknownError,
    SendwatchError,
)
from tui.ids import is_message_id
from tui.model import Event, EventSource, Message, MessageError, Provider, Status, normalize_status
from tui.providers.base import ProviderClient
from tui.providers.sending import SendRequest, SendResult, SentMessage, post_once, refused
from tui.providers.transfer import Answer
from tui.timeparse import parse_time


def error_code(value: Any) -> str | None:
    """`errorCode` arrives as a JSON number or a string: always text, `1002` not `1002.0`."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return as_str(value, 200) or None


def _timeline(
    msg: dict[str, Any], status: Status, raw_status: str, error: MessageError | None
) -> tuple[Event, ...]:
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
        events.append(
            Event(
                status,
                raw_status,
                updated,
                f"Status {raw_status} (last update)",
                EventSource.PROVIDER,
                reason_code=error.code if error else None,
                reason=error.message if error else None,
            )
        )
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
    code = error_code(msg.get("errorCode"))
    text = as_str(msg.get("errorMessage"), 2000) or None
    error = MessageError(code, text) if (code or text) else None
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
        error=error,
        events=_timeline(msg, status, raw_status, error),
        raw=payload,
    )


class SendoClient(ProviderClient):
    provider = Provider.SENDO
    key_hint = "Set SENDO_API_KEY or providers.sendo.api_key"

    def auth_headers(self) -> dict[str, str]:
        key = self.settings.api_key.reveal()
        return (
            {"authorization": f"Bearer {key}"} if key else {}
        )  # no key: no (malformed) header at all

    def auth_text(self, status: int, code: str, detail: str) -> str:
        """Sendo answers 401 when the key is missing and 403 when it is invalid."""
        if status == 401:
            return f"Sendo received no API key (401{': ' + detail if detail else ''}). {self.key_hint}."
        return (
            f"Sendo rejected the API key as invalid (403{': ' + detail if detail else ''}); {self.key_origin()}. "
            "Check it in Sendo's dashboard and set it there."
        )

    def error_code(self, response: Answer) -> str:
        try:
            return as_str(as_dict(response.json()).get("error"), 60) or ""
        except ValueError:
            return ""

    def _check(self, response: Answer, what: str) -> None:
        """Map an error answer (401 missing key, 403 invalid key, 404, 400) to the taxonomy."""
        status = response.status_code
        if status < 400:
            return
        detail = self.error_code(response)
        if status in (401, 403):
            raise self.auth_error(status, detail)
        if status == 404:
            raise NotFoundError(f"{self.label} has no {what}", provider=self.provider.value)
        if status in (400, 422):
            raise InvalidIdError(
                f"{self.label} rejected {what}: {detail or 'invalid'}", provider=self.provider.value
            )
        raise self.bad_shape(f"HTTP {status} {detail}".strip())

    async def fetch(self, message_id: str, *, retries: int | None = None) -> Message:
        response = await self.get(
            self.message_path("/v1/message/{id}", message_id), retries=retries
        )
        return self.read_message(response, message_id)

    def read_message(self, response: Answer, message_id: str) -> Message:
        """The answer to `GET /v1/message/{message_id}` as a Message; raises only SendwatchError."""
        self._check(response, f"message {message_id}")
        try:
            message = parse_message(self.decode(response))
        except ValueError as exc:
            raise self.bad_shape(str(exc)) from None
        return self.check_answer_id(message, message_id)

    async def list_campaign(
        self, campaign: str, *, limit: int = 100, skip: int = 0, retries: int | None = None
    ) -> list[Message]:
        """One page of `GET /v1/message/list?campaign=…`; malformed entries are skipped, not fatal."""
        path = "/v1/message/list?" + urlencode({"campaign": campaign, "limit": limit, "skip": skip})
        response = await self.get(path, retries=retries)
        self._check(response, f"campaign {campaign!r}")
        payload = self.decode(response)
        items = payload.get("messages") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            raise self.bad_shape("`messages` is missing or not a list")
        out = []
        for item in items:
            try:
                out.append(parse_message({"message": item}))
            except ValueError:
                continue
        return out

    async def send(self, req: SendRequest) -> SendResult:
        """`POST /v1/message/send`, one recipient at a time, never repeated once it may have arrived.

        Every recipient's outcome is kept: a later failure never loses the IDs already created. An
        answer that cannot be read is "outcome unknown" for that recipient and the next one is
        still sent; a rejected key stops the loop (the rest would be rejected too)."""
        req = req.check(self.provider)
        result = SendResult(self.provider, None)
        for index, number in enumerate(req.to):
            body: dict[str, Any] = {"campaign": req.sendo_campaign, "body": req.text, "to": number}
            if req.from_:
                body["from"] = req.from_
            try:
                response = await post_once(self, "/v1/message/send", body, number)
            except OutcomeUnknownError as exc:
                result.unknown.append((number, str(exc)))
                continue
            except SendwatchError as exc:  # it never reached Sendo (no connection, breaker open)
                result.not_sent.append((number, str(exc)))
                continue
            if response.status_code >= 400:
                error = refused(self, response)
                result.refused.append((number, str(error)))
                if isinstance(error, AuthError):
                    result.stopped = error
                    why = f"not sent: sending stopped when {self.label} rejected the key"
                    result.not_sent += [(rest, why) for rest in req.to[index + 1 :]]
                    break
                continue
            message_id = self._sent_id(response)
            if message_id is None:
                result.unknown.append(
                    (
                        number,
                        f"{self.label} accepted the send (HTTP {response.status_code}) but its "
                        "answer has no readable message id: it was probably sent — check Sendo's "
                        "dashboard before sending again",
                    )
                )
                continue
            result.messages.append(
                SentMessage(message_id, number, "mms" if body.get("mediaUrls") else "sms")
            )
        return result

    def _sent_id(self, response: Answer) -> str | None:
        """The new message's ID from a 2xx answer, or None when it cannot be read."""
        try:
            payload = response.json()
        except ValueError:
            return None
        value = payload.get("id") if isinstance(payload, dict) else None
        return value.lower() if isinstance(value, str) and is_message_id(value) else None
