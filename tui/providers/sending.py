"""Sending: what both providers' send endpoints take and answer, and when a send may be retried.

A GET can always be asked again; a send cannot. Sent.dm takes an `Idempotency-Key` (cached 24 h),
so a send is retried with that same key and a replay returns the first answer. Sendo has no such
key: once the request may have reached Sendo (anything past connecting), it is never repeated, and
a missing answer is reported as "outcome unknown" with the recipient, for a person to check.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx

from tui.errors import (
    BadResponseError,
    OutcomeUnknownError,
    RateLimitedError,
    SendwatchError,
    UnavailableError,
)
from tui.providers.base import ProviderClient
from tui.providers.send_request import (
    E164,
    IDEMPOTENCY_KEY,
    SENDO_CAMPAIGN,
    SendRequest,
    SendResult,
    SendUsageError,
    SentMessage,
    new_idempotency_key,
    sentdm_body,
    sentdm_recipients,
)
from tui.providers.transfer import Answer, BodyRefused, DeadlineExceeded

#: the request and result types live in send_request.py; callers import them from here too
__all__ = [
    "E164",
    "IDEMPOTENCY_KEY",
    "new_idempotency_key",
    "SENDO_CAMPAIGN",
    "SendRequest",
    "SendResult",
    "SendUsageError",
    "sentdm_body",
    "sentdm_recipients",
    "SentMessage",
    "post_idempotent",
    "post_once",
    "refused",
]


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
            delay = network.backoff(attempt)
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
            wait = client.throttled_post(response)
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
            await asyncio.sleep(network.backoff(attempt))
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
            client.throttled_post(response)
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
