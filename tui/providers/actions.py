"""Sent.dm's actions on an existing message: resend and cancel (docs/providers.md Part 2 §1-2).

Both go through the client's own budget, deadline and `on_request` hook, like every GET. They
differ in what may be repeated: cancel honours an Idempotency-Key and a repeated cancel answers
200, so it is retried like a GET (with one key); resend has no documented key and bills again,
so it is repeated only when the request certainly never left (no connection, a 429 refusal).
A refusal (409, or 422 in an older catalogue, `BUSINESS_006`) is an `ActionRefusedError` with the
provider's own words. Sendo has neither action: refused before any request.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Literal

import httpx

from tui.errors import (
    InvalidIdError,
    OutcomeUnknownError,
    RateLimitedError,
    SendwatchError,
    UnavailableError,
)
from tui.model import Message, Provider
from tui.providers.base import ProviderClient
from tui.providers.sending import new_idempotency_key
from tui.providers.sentdm import SentDmClient
from tui.providers.transfer import Answer, BodyRefused, DeadlineExceeded

Action = Literal["resend", "cancel"]
#: the provider's code for "not in a state this action applies to"
WRONG_STATE = "BUSINESS_006"


class ActionRefusedError(SendwatchError):
    """The provider refused the action for this message's state (nothing changed there)."""

    exit_code = 1

    def __init__(self, message: str, *, provider: str | None = None, detail: str = "") -> None:
        super().__init__(message, provider=provider)
        self.detail = detail  # the provider's own words, as it said them


class NotSupportedError(SendwatchError):
    """The provider has no such action (Sendo): refused before any request."""

    exit_code = 2


def sentdm_client(client: ProviderClient, action: Action) -> SentDmClient:
    """The client if it can do `action`, else NotSupportedError (no request made)."""
    if isinstance(client, SentDmClient):
        return client
    raise NotSupportedError(
        f"{client.label} has no {action}: only Sent.dm messages can be {action_past(action)}",
        provider=client.provider.value,
    )


def action_past(action: Action) -> str:
    return "resent" if action == "resend" else "cancelled"


async def resend(client: ProviderClient, message_id: str) -> Message | None:
    """`POST /v3/messages/{id}/resend`: a new, billed attempt on the same ID.

    Returns the message as the answer shows it, or None when the (undocumented) answer is not a
    message: the caller then reads it with a GET."""
    sentdm = sentdm_client(client, "resend")
    answer = await _post(sentdm, message_id, "resend", key=None)
    return _message_or_none(sentdm, answer, message_id)


async def cancel(client: ProviderClient, message_id: str) -> Message | None:
    """`POST /v3/messages/{id}/cancel`: call off a SCHEDULED message; a repeat answers 200 too."""
    sentdm = sentdm_client(client, "cancel")
    answer = await _post(sentdm, message_id, "cancel", key=new_idempotency_key())
    return _message_or_none(sentdm, answer, message_id)


def _message_or_none(client: SentDmClient, answer: Answer, message_id: str) -> Message | None:
    try:
        return client.read_message(answer, message_id)
    except SendwatchError:
        return None  # the action succeeded (2xx); its body is not documented: read it with GET


async def _post(client: SentDmClient, message_id: str, action: Action, key: str | None) -> Answer:
    """POST the action within the budget; returns a 2xx answer or raises a SendwatchError."""
    network = client.network
    path = client.message_path("/v3/messages/{id}/" + action, message_id)
    headers = {"idempotency-key": key} if key else {}
    attempts = 1 + network.max_retries
    last: SendwatchError | None = None
    for attempt in range(attempts):
        if attempt:
            delay = network.backoff(attempt)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        started = time.monotonic()
        try:
            async with client.budget.slot():
                started = time.monotonic()
                answer = await client.request("POST", path, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            _observe(client, "network", started)
            client.budget.on_failure("cannot connect")
            last = UnavailableError(
                f"cannot reach {client.label} ({exc.__class__.__name__}); nothing was {action_past(action)}",
                provider=client.provider.value,
            )
            continue  # the request never left: safe to try again
        except (DeadlineExceeded, httpx.TimeoutException, httpx.TransportError) as exc:
            _observe(client, "timeout", started)
            client.budget.on_failure(f"no answer to {action}")
            last = _lost(client, message_id, action, exc.__class__.__name__)
            if key is None:
                raise last from None
            continue
        except (BodyRefused, httpx.HTTPError) as exc:
            _observe(client, "bad_response", started)
            raise _lost(client, message_id, action, str(exc)) from None
        _observe(client, answer.status_code, started)
        code = client.error_code(answer)
        if answer.status_code == 429:
            wait = client.throttled_post(answer)
            last = RateLimitedError(
                f"{client.label} is rate limiting; {message_id} was not {action_past(action)}",
                provider=client.provider.value,
                retry_after=wait,
            )
            continue
        if answer.status_code >= 500 or (answer.status_code == 409 and code != WRONG_STATE):
            client.budget.on_failure(f"HTTP {answer.status_code}")
            last = _lost(client, message_id, action, f"HTTP {answer.status_code} {code}".strip())
            if key is None:
                raise last
            continue
        client.budget.on_success()
        if answer.status_code >= 400:
            raise _refusal(client, answer, message_id, action, code)
        return answer
    assert last is not None
    raise last


def _lost(client: SentDmClient, message_id: str, action: Action, why: str) -> SendwatchError:
    if action == "cancel":
        return UnavailableError(
            f"{client.label} did not answer the cancel of {message_id} ({why}); try again "
            "(a repeated cancel is safe)",
            provider=client.provider.value,
        )
    return OutcomeUnknownError(
        f"{client.label} did not answer the resend of {message_id} readably ({why}): it may have "
        "been re-queued — look it up (`sendwatch get`) before resending, a resend is billed",
        provider=client.provider.value,
    )


def _refusal(
    client: SentDmClient, answer: Answer, message_id: str, action: Action, code: str
) -> SendwatchError:
    """A 4xx answer: the state refusal in the provider's words, else what a lookup would say."""
    words = _error_words(answer)
    status = answer.status_code
    if status in (409, 422) and code == WRONG_STATE:
        return ActionRefusedError(
            f"{client.label} refused to {action} {message_id} ({status} {code}): "
            f"{words or 'the message is not in a state this applies to'}",
            provider=client.provider.value,
            detail=words,
        )
    if status == 422:
        return InvalidIdError(
            f"{client.label} refused to {action} {message_id} ({status} {code}): {words or 'invalid'}",
            provider=client.provider.value,
        )
    try:
        client.read_message(answer, message_id)  # 401/403/404/400 worded as the lookups word them
    except SendwatchError as exc:
        return exc
    return UnavailableError(  # a 4xx that is none of those and yet reads as a message
        f"{client.label} answered the {action} with HTTP {status}", provider=client.provider.value
    )


def _error_words(answer: Answer) -> str:
    try:
        payload = answer.json()
    except ValueError:
        return ""
    error = payload.get("error") if isinstance(payload, dict) else None
    text = error.get("message") if isinstance(error, dict) else None
    if not isinstance(text, str):
        text = payload.get("detail") if isinstance(payload, dict) else None
    return text.strip()[:300] if isinstance(text, str) else ""


def _observe(client: ProviderClient, answer: int | str, started: float) -> None:
    """The client's per-request hook (metrics), as its GETs report it."""
    if client.on_request is not None:
        client.on_request(client.provider, answer, time.monotonic() - started)


def provider_has_actions(provider: Provider) -> bool:
    return provider is Provider.SENTDM
