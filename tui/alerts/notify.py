"""Deliver alert transitions: a Slack-compatible webhook POST (retried) and the terminal bell.

What leaves the machine is built here and only here, so this is where it is made safe: phone
numbers are masked (`+1415•••0100`), any configured secret that somehow made it into a text is
redacted, and the text never carries a control character. Requests verify TLS (httpx's default,
never turned off) and have a timeout; 5xx, 429 and network errors are retried with doubling backoff.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from tui.secret import Secret

log = logging.getLogger("sendwatch.alerts")

# E.164 with its `+` (spaces, dashes, dots or brackets allowed), or a bare run of 10-15 digits
_PHONE = re.compile(r"\+\d[\d \-().]{6,}\d|(?<!\d)\d{10,15}(?!\d)")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
BEL = "\a"
ESC = "\x1b"


def mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    if len(digits) < 8:
        return match.group()
    plus = "+" if match.group().startswith("+") else ""
    return f"{plus}{digits[:4]}•••{digits[-4:]}"


def clean(value: str, secrets: Iterable[Secret] = ()) -> str:
    """Text fit to leave the machine: secrets redacted, phone numbers masked, no control characters."""
    for secret in secrets:
        raw = secret.reveal()
        if len(raw) >= 4:
            value = value.replace(raw, "[redacted]")
    return _PHONE.sub(mask_phone, _CONTROLS.sub(" ", value))


def clean_payload(payload: dict[str, Any], secrets: Sequence[Secret] = ()) -> dict[str, Any]:
    return {k: clean(v, secrets) if isinstance(v, str) else v for k, v in payload.items()}


class BellStream(Protocol):
    """Where the bell goes: a terminal stream (`poll`, `wait`), or the dashboard's driver."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


def bell_sequence(text: str, *, tmux: bool) -> str:
    """BEL plus an OSC 9 desktop notification; inside tmux the OSC is wrapped for passthrough.

    tmux passes a sequence through only inside `ESC P tmux; ... ESC \\`, with every ESC of the
    wrapped sequence doubled (and `allow-passthrough on`); BEL alone rings without any wrapping."""
    body = _CONTROLS.sub(" ", text)[:200]
    osc = f"{ESC}]9;{body}{BEL}"
    if tmux:
        osc = f"{ESC}Ptmux;{osc.replace(ESC, ESC + ESC)}{ESC}\\"
    return BEL + osc


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    attempts: int
    error: str = ""


class Notifier:
    """Posts payloads to the webhook (retrying) and rings the bell on a stream.

    `send` queues a payload for a delivery thread of its own, so a slow or failing webhook (retries
    with backoff can take a minute) never holds up the poller, the screen or `wait`'s deadline;
    `close` gives what is queued a bounded time to go out."""

    def __init__(
        self,
        webhook_url: Secret | None = None,
        *,
        bell_stream: BellStream | None = None,
        tmux: bool = False,
        secrets: Sequence[Secret] = (),
        retries: int = 4,
        backoff: float = 1.0,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.webhook_url = webhook_url if webhook_url else None
        self.bell_stream = bell_stream
        self.tmux = tmux
        self.secrets = [s for s in (*secrets, webhook_url) if s]
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self._client = httpx.Client(timeout=timeout) if self.webhook_url else None
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.deliveries: list[Delivery] = []  # what each queued payload came to, in order

    def send(self, payload: dict[str, Any]) -> None:
        """Queue one payload for the delivery thread (started on first use); returns at once."""
        if self._client is None:
            return
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._deliver_queued, name="sendwatch-alerts", daemon=True
            )
            self._thread.start()
        self._queue.put(payload)

    def _deliver_queued(self) -> None:
        while (payload := self._queue.get()) is not None:
            try:
                self.deliveries.append(self.post(payload))
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued payload was delivered or given up (True), or `timeout` passed."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Let queued deliveries finish (at most `timeout` seconds), then stop."""
        if self._thread is not None:
            self.flush(timeout)
            self._queue.put(None)
            self._thread.join(timeout=1.0)
        if self._client is not None and (self._thread is None or not self._thread.is_alive()):
            self._client.close()

    def ring(self, text: str) -> None:
        if self.bell_stream is None:
            return
        try:
            self.bell_stream.write(bell_sequence(clean(text, self.secrets), tmux=self.tmux))
            self.bell_stream.flush()
        except (OSError, ValueError):
            pass  # a closed terminal: the webhook still carries the alert

    def post(self, payload: dict[str, Any]) -> Delivery:
        """POST one JSON payload; retried on 5xx, 429 and network errors, not on other 4xx."""
        if self._client is None or self.webhook_url is None:
            return Delivery(False, 0, "no webhook configured")
        body = clean_payload(payload, self.secrets)
        error = ""
        for attempt in range(1, self.retries + 2):
            try:
                answer = self._client.post(self.webhook_url.reveal(), json=body)
            except httpx.HTTPError as exc:
                error = type(exc).__name__  # never str(exc): it may quote the URL and its token
            else:
                if answer.is_success:
                    return Delivery(True, attempt)
                error = f"HTTP {answer.status_code}"
                if answer.status_code < 500 and answer.status_code != 429:
                    break
            if attempt <= self.retries:
                self.sleep(self.backoff * 2 ** (attempt - 1))
        log.warning("alert webhook delivery failed after %d attempts: %s", attempt, error)
        return Delivery(False, attempt, error)
