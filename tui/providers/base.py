"""What both provider clients share: the HTTP client, retries and error classification.

A provider module only knows its own URLs, headers, envelope and field names; everything about
*when* to send and *whether to try again* lives here and in `budget.py`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from tui import __version__
from tui.config import NetworkSettings, ProviderSettings, check_base_url
from tui.config_accounts import DEFAULT_ACCOUNT, Account
from tui.errors import (
    AuthError,
    BadResponseError,
    RateLimitedError,
    SendwatchError,
    UnavailableError,
)
from tui.model import Message, Provider
from tui.providers.budget import RequestBudget, reset_in
from tui.providers.transfer import (
    ACCEPT_ENCODING,
    Answer,
    BodyRefused,
    DeadlineExceeded,
    TooDeep,
    exchange,
)
from tui.providers.waiting import WaitInfo, notify_wait

if TYPE_CHECKING:  # sending.py builds on this module
    from tui.providers.send_request import SendRequest, SendResult


class RequestTimeout(UnavailableError):
    """No complete answer in time: a read timeout, or the request deadline on a trickling answer."""


def retry_after_seconds(headers: httpx.Headers, default: float = 60.0) -> float:
    """How long a 429 asks us to wait: Retry-After, else the rate-limit window's Reset (Sendo sends
    no Retry-After: its 20/s window resets within a second), else `default`."""
    value = headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        seconds = None
    if seconds is not None and not math.isfinite(seconds):
        seconds = None  # "nan" / "inf" parse as floats but say nothing
    if seconds is None:
        seconds = reset_in(headers.get("x-ratelimit-reset"), time.time())
    if seconds is None:
        seconds = default
    return min(300.0, max(0.0, seconds))


#: Told of each HTTP attempt `get` makes: (provider, answer, seconds). The answer is the HTTP
#: status code, or what went wrong instead: "timeout", "network" or "bad_response". `poll` points
#: it at its metrics (tui.observe sits above this layer, so the words are mapped there).
RequestHook = Callable[[Provider, int | str, float], None]


class ProviderClient(ABC):
    """An async client for one provider. One instance per event loop."""

    provider: Provider
    key_hint: str  # what to tell a user whose key was rejected

    def __init__(
        self,
        settings: ProviderSettings,
        network: NetworkSettings,
        *,
        budget: RequestBudget | None = None,
        config_path: str = "the config file",
        account: str = DEFAULT_ACCOUNT,
    ) -> None:
        #: the account this client asks as (its own key/profile, budget and connections)
        self.account = Account(self.provider, account)
        self.settings = settings
        self.network = network
        self.config_path = config_path
        check_base_url(settings.base_url, f"{self.label} providers.{self.provider.value}.base_url")
        self.budget = budget or RequestBudget(
            settings.requests_per_minute / 60.0,
            settings.burst,
            settings.concurrency,
            breaker_threshold=network.breaker_threshold,
            breaker_cooldown=network.breaker_cooldown,
            limit_window=settings.rate_limit_window,
        )
        self._http: httpx.AsyncClient | None = None
        self.on_request: RequestHook | None = None

    @property
    def label(self) -> str:
        return self.provider.label

    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            timeout = httpx.Timeout(self.network.read_timeout, connect=self.network.connect_timeout)
            limits = httpx.Limits(
                max_connections=self.settings.concurrency,
                max_keepalive_connections=self.settings.concurrency,
            )
            self._http = httpx.AsyncClient(
                base_url=self.settings.base_url,
                timeout=timeout,
                limits=limits,
                headers={
                    "user-agent": f"sendwatch/{__version__}",
                    "accept": "application/json",
                    "accept-encoding": ACCEPT_ENCODING,
                },
                follow_redirects=False,
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """Headers that carry the secret. Never logged, never put in an exception."""

    @abstractmethod
    async def fetch(self, message_id: str, *, retries: int | None = None) -> Message:
        """Fetch one message; raise a `SendwatchError` subclass on any failure."""

    @abstractmethod
    def read_message(self, response: Answer, message_id: str) -> Message:
        """Map the answer to a GET of `message_id`; whatever it holds, raise only SendwatchError."""

    @abstractmethod
    async def send(self, req: SendRequest) -> SendResult:
        """Send; every recipient's outcome is in the result (raises only before anything was sent)."""

    def message_path(self, template: str, message_id: str) -> str:
        return template.format(id=quote(message_id, safe=""))

    def auth_error(self, status: int, detail: str, code: str = "") -> AuthError:
        """A rejected key (401/403) as a message that says which key, where it is set, what to do."""
        text = self.auth_text(status, code, detail)
        self.budget.on_auth_rejected(text)
        return AuthError(text, provider=self.provider.value)

    def key_origin(self) -> str:
        """Where the key in use came from, for error messages (never the key itself)."""
        source = self.settings.key_source
        if source.startswith("env:"):
            return f"the key comes from ${source[4:]}"
        if source == "file" and self.account.name != DEFAULT_ACCOUNT:
            return f"the key comes from the [[providers.{self.provider.value}.accounts]] named {self.account.name} in {self.config_path}"
        if source == "file":
            return (
                f"the key comes from providers.{self.provider.value}.api_key in {self.config_path}"
            )
        return f"{self.key_hint} in {self.config_path}"

    def auth_text(self, status: int, code: str, detail: str) -> str:
        """Provider-specific wording; the default covers a plain 401/403."""
        said = f": {detail}" if detail else ""
        if status == 403:
            return f"{self.label} refused access (403 forbidden){said}. {self.forbidden_hint()}"
        return (
            f"{self.label} rejected the API key (401){said}. {self.key_hint}; {self.key_origin()}."
        )

    def forbidden_hint(self) -> str:
        return "Check that the key may read messages."

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """One exchange, no pacing and no retries: bounded by the deadline and the size cap.

        Raises DeadlineExceeded, BodyRefused or httpx's errors; callers map them (`get` here, the
        senders in `sending.py`, which must never repeat a send blindly)."""
        return await exchange(
            self.http(),
            method,
            path,
            headers={**self.auth_headers(), **(headers or {})},
            deadline=self.network.request_deadline,
            json_body=json_body,
            on_headers=self._headers_arrived,
        )

    def _headers_arrived(self, headers: httpx.Headers) -> None:
        """The rate-limit headers are known as soon as the headers are: pace by them at once,
        and let requests queued behind the budget's first probe go (its body may still trickle)."""
        self.budget.observe_headers(headers)
        self.budget.probe_answered()

    def deadline_error(self, exc: DeadlineExceeded) -> RequestTimeout:
        got = f"; {exc.received:,} bytes had arrived" if exc.received else ""
        return RequestTimeout(
            f"{self.label} did not finish its answer within the {exc.seconds:g} s request deadline"
            f"{got}: it is answering very slowly",
            provider=self.provider.value,
        )

    def refused_body(self, exc: BodyRefused | httpx.HTTPError) -> BadResponseError:
        return BadResponseError(
            f"{self.label} sent an answer that cannot be read: {exc}", provider=self.provider.value
        )

    async def get(self, path: str, *, retries: int | None = None) -> Answer:
        """GET with pacing and retries. Returns any non-retryable answer for the caller to map.

        429 waits out Retry-After (up to `max_retry_after`); 5xx, timeouts, the request deadline
        and connection errors back off exponentially with jitter; other 4xx are returned at once,
        never retried. A body that cannot be an answer (too large, lying about its encoding) is a
        BadResponseError at once: asking again would get the same.
        """
        attempts = 1 + (self.network.max_retries if retries is None else retries)
        last: SendwatchError | None = None
        why = ""  # the last failure, in words, for whoever is shown the wait
        for attempt in range(attempts):
            if attempt:
                delay = self.network.backoff(attempt) * random.uniform(0.5, 1.0)
                notify_wait(WaitInfo(self.provider, "backoff", delay, attempt, attempts - 1, why))
                await asyncio.sleep(delay)
            started = time.monotonic()
            try:
                async with self.budget.slot():
                    started = time.monotonic()  # the request's latency, not the wait for a slot
                    response = await self.request("GET", path)
            except DeadlineExceeded as exc:
                self._observe("timeout", started)
                last = self.deadline_error(exc)
                self.budget.on_failure(
                    f"answers cut off at the {exc.seconds:g} s request deadline", slow=True
                )
                why = "the request deadline"
                continue
            except BodyRefused as exc:
                self._observe("bad_response", started)
                raise self.refused_body(exc) from None
            except httpx.TimeoutException:
                self._observe("timeout", started)
                last = RequestTimeout(
                    f"{self.label} did not answer in time (timeout); it may be down or slow",
                    provider=self.provider.value,
                )
                self.budget.on_failure("timeout")
                why = "a timeout"
                continue
            except httpx.TransportError as exc:
                self._observe("network", started)
                last = UnavailableError(
                    f"cannot reach {self.label} ({exc.__class__.__name__}); check the network or base_url",
                    provider=self.provider.value,
                )
                self.budget.on_failure("cannot connect")
                why = "a connection error"
                continue
            except httpx.HTTPError as exc:  # e.g. an undecodable body httpx itself refused
                self._observe("bad_response", started)
                raise self.refused_body(exc) from None
            self._observe(response.status_code, started)
            if response.status_code == 429:
                wait = retry_after_seconds(response.headers, default=self.budget.limit_window)
                self.budget.on_throttled(wait)
                last = RateLimitedError(
                    f"{self.label} is rate limiting requests; retry in {wait:.0f} s",
                    provider=self.provider.value,
                    retry_after=wait,
                )
                if wait > self.network.max_retry_after:
                    raise last
                why = "HTTP 429"
                if attempt + 1 < attempts:
                    notify_wait(
                        WaitInfo(
                            self.provider,
                            "retry_after",
                            wait,
                            attempt + 1,
                            attempts - 1,
                            "Retry-After",
                        )
                    )
                continue  # the budget itself now waits until Retry-After has passed
            if response.status_code >= 500:
                code = self.error_code(response)
                last = UnavailableError(
                    f"{self.label} had a server error (HTTP {response.status_code}{' ' + code if code else ''}); try again later",
                    provider=self.provider.value,
                )
                self.budget.on_failure(f"HTTP {response.status_code}")
                why = f"HTTP {response.status_code}"
                continue
            self.budget.on_success()  # any non-5xx answer means the provider is up
            return response
        assert last is not None
        raise last

    def _observe(self, answer: int | str, started: float) -> None:
        if self.on_request is not None:
            self.on_request(self.provider, answer, time.monotonic() - started)

    def throttled_post(self, response: Answer) -> float:
        """A 429 to a send, resend or cancel: slow the account's budget down for the wait the
        provider asks (at most `max_retry_after`; 1 s when it names none); returns that wait."""
        wait = min(self.network.max_retry_after, retry_after_seconds(response.headers, 1.0))
        self.budget.on_throttled(wait)
        return wait

    def error_code(self, response: Answer) -> str:
        """A short provider error code from an error body, if any (used in messages)."""
        return ""

    def decode(self, response: Answer) -> Any:
        try:
            return response.json()
        except TooDeep as exc:
            raise self.bad_shape(str(exc)) from None
        except ValueError:
            raise BadResponseError(
                f"{self.label} sent a response that is not JSON (HTTP {response.status_code}); the API may have changed or a proxy is in the way",
                provider=self.provider.value,
            ) from None

    def bad_shape(self, what: str) -> BadResponseError:
        return BadResponseError(
            f"{self.label} sent an unexpected response: {what}", provider=self.provider.value
        )

    def check_answer_id(self, message: Message, asked: str) -> Message:
        """An answer about another message is no answer: storing it would file it under an ID
        nobody asked for and leave the asked one due again at once (a tight loop on the budget)."""
        if message.id != asked.lower():
            raise self.bad_shape(
                f"asked for message {asked} but the answer is about {message.id[:80]!r}"
            )
        return message
