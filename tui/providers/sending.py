"""Sending: what both providers' send endpoints take and answer, and when a send may be retried.

A GET can always be asked again; a send cannot. Sent.dm takes an `Idempotency-Key` (cached 24 h),
so a send is retried with that same key and a replay returns the first answer. Sendo has no such
key: once the request may have reached Sendo (anything past connecting), it is never repeated, and
a missing answer is reported as "outcome unknown" with the recipient, for a person to check.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from tui.coerce import as_str
from tui.errors import (
    BadResponseError,
    InvalidIdError,
    OutcomeUnknownError,
    RateLimitedError,
    SendwatchError,
    UnavailableError,
)
from tui.ids import is_message_id
from tui.model import Provider
from tui.providers.base import ProviderClient, retry_after_seconds
from tui.providers.transfer import Answer, BodyRefused, DeadlineExceeded

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
SENDO_CAMPAIGN = re.compile(r"^[A-Za-z0-9]{8}$")


class SendUsageError(InvalidIdError):
    """A send request that is wrong before anything is sent (exit 2)."""


@dataclass(frozen=True)
class SendRequest:
    """One `sendwatch send`: recipients, what to say, and where."""

    to: tuple[str, ...]
    text: str | None = None
    template: str | None = None  # a template name, or an ID (UUID)
    params: dict[str, str] = field(default_factory=dict)
    channels: tuple[str, ...] = ()
    from_: str | None = None
    sandbox: bool = False
    sendo_campaign: str | None = None
    idempotency_key: str = ""

    def check(self, provider: Provider) -> SendRequest:
        """Refuse what the provider would refuse, before a request is made; fill in the key."""
        if not self.to:
            raise SendUsageError("give at least one recipient with --to (E.164, e.g. +14155550100)")
        bad = [n for n in self.to if not E164.match(n)]
        if bad:
            raise SendUsageError(f"not an E.164 number: {bad[0]!r} (expected + and 7-15 digits)")
        if (self.text is None) == (self.template is None):
            raise SendUsageError("give either --text or --template")
        if self.from_ is not None and not E164.match(self.from_):
            raise SendUsageError(f"--from is not an E.164 number: {self.from_!r}")
        if provider is Provider.SENDO:
            if self.template is not None:
                raise SendUsageError("Sendo has no templates: use --text")
            if self.sandbox:
                raise SendUsageError(
                    "Sendo has no sandbox: a Sendo send is real (and billed); drop --sandbox to send it"
                )
            if not self.sendo_campaign or not SENDO_CAMPAIGN.match(self.sendo_campaign):
                raise SendUsageError(
                    "Sendo sends belong to a campaign: give --sendo-campaign ID (8 letters/digits)"
                )
            if any(c not in ("sms", "mms") for c in self.channels):
                raise SendUsageError(
                    "Sendo sends SMS (or MMS with media); --channel does not apply"
                )
            return self
        if self.text is not None and not self.text.strip():
            raise SendUsageError("--text is empty")
        key = self.idempotency_key or new_idempotency_key()
        if not IDEMPOTENCY_KEY.match(key):
            raise SendUsageError("--idempotency-key takes 1-255 of A-Z a-z 0-9 _ -")
        return SendRequest(**{**self.__dict__, "idempotency_key": key})


def new_idempotency_key() -> str:
    return "sw-" + secrets.token_hex(16)


@dataclass(frozen=True)
class SentMessage:
    id: str
    to: str
    channel: str


@dataclass
class SendResult:
    provider: Provider
    idempotency_key: str | None
    messages: list[SentMessage] = field(default_factory=list)
    #: recipients whose send may or may not have happened (Sendo, no answer), with why
    unknown: list[tuple[str, str]] = field(default_factory=list)
    #: recipients the provider refused (nothing sent), with why
    refused: list[tuple[str, str]] = field(default_factory=list)
    #: recipients never sent to (the provider could not be reached, or sending stopped), with why
    not_sent: list[tuple[str, str]] = field(default_factory=list)
    #: the error that stopped sending before the last recipient (a rejected key); what was sent
    #: before it is still in `messages`
    stopped: SendwatchError | None = None
    #: what else the user must know (e.g. sent, but history could not record it)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The CLI's: the stopping error's, else 5 for any unknown outcome, else 2 for a refusal."""
        if self.stopped is not None:
            return self.stopped.exit_code
        if self.unknown or self.not_sent:
            return 5
        return 2 if self.refused else 0


def sentdm_body(req: SendRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"to": list(req.to), "channel": list(req.channels) or ["sent"]}
    if req.template is not None:
        looks_like_id = re.fullmatch(r"[0-9a-fA-F-]{36}", req.template) is not None
        body["template"] = {
            "id" if looks_like_id else "name": req.template,
            "parameters": dict(req.params),
        }
    else:
        body["text"] = req.text
    if req.sandbox:
        body["sandbox"] = True
    return body


def sentdm_recipients(payload: Any) -> list[SentMessage]:
    """`data.recipients[]` (one per recipient and channel); the older shape put the ID on `data`."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise ValueError("no `data` object")
    items = data.get("recipients") or data.get("messages") or []
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and _an_id(item.get("message_id") or item.get("id")):
            out.append(
                SentMessage(
                    str(item.get("message_id") or item.get("id")).lower(),
                    as_str(item.get("to"), 100) or "",
                    as_str(item.get("channel"), 50) or "",
                )
            )
    if not out and _an_id(data.get("message_id") or data.get("id")):
        out.append(SentMessage(str(data.get("message_id") or data.get("id")).lower(), "", ""))
    if not out:
        raise ValueError("no message IDs in `data.recipients`")
    return out


def _an_id(value: Any) -> bool:
    """A message ID we can track (a UUID), not whatever text an answer put there."""
    return isinstance(value, str) and is_message_id(value)


async def post_idempotent(
    client: ProviderClient, path: str, body: dict[str, Any], key: str
) -> Answer:
    """POST with the same Idempotency-Key on every try: 5xx, 409, 429, lost and late answers are
    retried (the key makes a repeat return the first answer). An answer that arrives but cannot be
    read is "outcome unknown": the messages may exist, and the key gets their IDs safely later."""
    network = client.network
    last: SendwatchError | None = None
    attempts = 1 + network.max_retries
    for attempt in range(attempts):
        if attempt:
            delay = min(network.backoff_max, network.backoff_base * (2 ** (attempt - 1)))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        try:
            async with client.budget.slot():
                response = await client.request(
                    "POST", path, json_body=body, headers={"idempotency-key": key}
                )
        except DeadlineExceeded as exc:
            client.budget.on_failure("the send's answer was cut off at the deadline", slow=True)
            last = UnavailableError(
                f"{client.label} did not finish answering the send within {exc.seconds:g} s; "
                f"retrying with the same idempotency key {key}",
                provider=client.provider.value,
            )
            continue
        except httpx.TransportError as exc:
            client.budget.on_failure(exc.__class__.__name__)
            last = UnavailableError(
                f"{client.label} did not answer the send ({exc.__class__.__name__}); "
                f"retrying with the same idempotency key {key}",
                provider=client.provider.value,
            )
            continue
        except (BodyRefused, httpx.HTTPError) as exc:
            raise OutcomeUnknownError(
                f"{client.label}'s answer to the send cannot be read ({exc}); the messages may "
                f"exist: send again with --idempotency-key {key} to get their IDs without "
                "sending twice",
                provider=client.provider.value,
            ) from None
        if response.status_code == 429:
            wait = min(network.max_retry_after, retry_after_seconds(response.headers, default=1.0))
            client.budget.on_throttled(wait)
            last = RateLimitedError(
                f"{client.label} is rate limiting sends",
                provider=client.provider.value,
                retry_after=wait,
            )
            continue
        if response.status_code == 409 or response.status_code >= 500:
            last = UnavailableError(
                f"{client.label} answered HTTP {response.status_code} to the send "
                f"(idempotency key {key})",
                provider=client.provider.value,
            )
            continue
        client.budget.on_success()
        return response
    assert last is not None
    raise last


async def post_once(
    client: ProviderClient, path: str, body: dict[str, Any], recipient: str
) -> Answer:
    """POST that is repeated only when it certainly never left (no connection, or a 429 refusal).

    Anything after the request may have reached the provider — a lost, late or unreadable answer,
    a 5xx — is OutcomeUnknownError: the message may exist, so it is never sent again blindly."""
    network = client.network
    for attempt in range(1 + network.max_retries):
        if attempt:
            await asyncio.sleep(
                min(network.backoff_max, network.backoff_base * (2 ** (attempt - 1)))
            )
        try:
            async with client.budget.slot():
                response = await client.request("POST", path, json_body=body)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            client.budget.on_failure("cannot connect")
            continue  # nothing reached the provider: safe to try again
        except DeadlineExceeded as exc:
            client.budget.on_failure("the send's answer was cut off at the deadline", slow=True)
            raise _unknown(
                client, recipient, f"no complete answer within {exc.seconds:g} s"
            ) from None
        except (httpx.HTTPError, BodyRefused) as exc:
            raise _unknown(client, recipient, str(exc) or exc.__class__.__name__) from None
        if response.status_code == 429:
            client.budget.on_throttled(
                min(network.max_retry_after, retry_after_seconds(response.headers, default=1.0))
            )
            continue
        if response.status_code >= 500:
            raise _unknown(client, recipient, f"HTTP {response.status_code}")
        client.budget.on_success()
        return response
    raise UnavailableError(
        f"cannot reach {client.label} to send to {recipient}", provider=client.provider.value
    )


def _unknown(client: ProviderClient, recipient: str, why: str) -> OutcomeUnknownError:
    return OutcomeUnknownError(
        f"{client.label} did not answer the send to {recipient} readably ({why}): the outcome is "
        "unknown — check the provider's dashboard before sending again",
        provider=client.provider.value,
        recipients=(recipient,),
    )


def refused(client: ProviderClient, response: Answer) -> SendwatchError:
    """A 4xx answer to a send, in words (auth keeps its own wording and exit code)."""
    code = client.error_code(response)
    detail = ""
    try:
        payload = response.json()
        if isinstance(payload, dict):
            error = payload.get("error")
            detail = str(error.get("message") if isinstance(error, dict) else error or "")[:300]
    except ValueError:
        pass
    if response.status_code in (401, 403):
        return client.auth_error(response.status_code, detail, code)
    if response.status_code in (400, 422):
        return SendUsageError(
            f"{client.label} refused the send: {detail or code or 'invalid request'}",
            provider=client.provider.value,
        )
    return BadResponseError(
        f"{client.label} answered the send with HTTP {response.status_code} {code} {detail}".strip(),
        provider=client.provider.value,
    )
