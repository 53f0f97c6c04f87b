"""Webhook delivery from the simulated world: every status change is POSTed as the providers would.

Sent.dm: the `{field, event, payload, request_id, timestamp}` envelope (now and then `sub_type`
instead of `event`, and now and then an event of another family), signed Svix-style
(`X-Webhook-ID/-Timestamp/-Signature`, plus `X-Webhook-Event-ID`, the same on retries).
Sendo: `{id, type: "message.status", timestamp, message}` with a static `X-Webhook-Token`.
Non-2xx answers are retried with doubling backoff; a delivery is sometimes duplicated, as real
providers do, so a receiver's deduplication gets exercised. One background thread; `stop()` ends it.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from tui.model import Provider
from tui.simulator import payloads
from tui.simulator.world import SimWorld

# The simulator's own (public, fake) credentials, used when none are given: not secrets.
SIM_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"sendwatch-simulator-webhook-key!").decode()
SIM_WEBHOOK_TOKEN = "sim-sendo-webhook-token-7f3e2d1c"
# Where `sendwatch listen` serves each provider when the URL names no path.
PATHS = {Provider.SENTDM: "/webhooks/sentdm", Provider.SENDO: "/webhooks/sendo"}
# Sent.dm documents a `message.*` subtype for these statuses only (no PROCESSED/ACCEPTED).
SENTDM_SUBTYPES = frozenset(
    {
        "QUEUED",
        "ROUTED",
        "SENT",
        "DELIVERED",
        "READ",
        "FAILED",
        "BLOCKED",
        "FILTERED",
        "SCHEDULED",
        "CANCELLED",
        "RECEIVED",
    }
)


def sign(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}`, keyed with the decoded `whsec_` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_now() -> str:
    """An envelope's `timestamp`: when the event was emitted (real time), milliseconds, `Z`."""
    return _iso(time.time())


@dataclass
class WebhookConfig:
    url: str  # a base URL (the PATHS are added) or a full endpoint URL (both providers post to it)
    secret: str = SIM_WEBHOOK_SECRET  # Sent.dm signing secret, `whsec_<base64>`
    token: str = SIM_WEBHOOK_TOKEN  # Sendo's X-Webhook-Token
    providers: tuple[Provider, ...] = (Provider.SENTDM, Provider.SENDO)
    retries: int = 3  # further attempts after a non-2xx answer or a transport error (Sent.dm: 1-5)
    backoff: float = 0.5  # seconds before the first retry, doubling (the real ones wait a minute)
    timeout: float = 5.0
    duplicate_rate: float = 0.02  # share of events delivered twice
    legacy_rate: float = (
        0.1  # share of Sent.dm events naming the subtype `sub_type` (older deliveries)
    )
    other_family_rate: float = 0.02  # share of Sent.dm events followed by a `templates` event
    interval: float = 0.1  # real seconds between looks at the world clock
    seed: int = 0


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    provider: Provider = field(compare=False)
    event_id: str = field(compare=False)
    body: bytes = field(compare=False)
    attempts: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Attempt:
    """One POST, for tests and the `simulate` summary."""

    provider: Provider
    event_id: str
    status: int | None  # None: no answer (refused, timeout)
    body: bytes


class WebhookSender:
    """Watches the world clock and delivers each step of each message as it happens."""

    def __init__(
        self, world: SimWorld, config: WebhookConfig, *, since: float | None = None
    ) -> None:
        self.world = world
        self.config = config
        self.rng = random.Random(config.seed)
        self.endpoint_id = f"ep_{uuid.UUID(int=self.rng.getrandbits(128), version=4).hex[:24]}"
        self.last = world.now() if since is None else since
        self.attempts: list[Attempt] = []
        self.given_up: list[str] = []  # event ids that exhausted their retries
        self._queue: list[_Delivery] = []
        self._seq = 0
        self._inflight = 0
        self._ticks = 0
        self._at_last: set[tuple[str, float, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=config.timeout)

    def url_for(self, provider: Provider) -> str:
        base = self.config.url.rstrip("/")
        return (
            base + PATHS[provider]
            if urlsplit(self.config.url).path in ("", "/")
            else self.config.url
        )

    def url_for_display(self) -> str:
        """Where each provider posts, without any user:password in the URL."""

        def bare(url: str) -> str:
            parts = urlsplit(url)
            return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()

        return ", ".join(f"{bare(self.url_for(p))} ({p.label})" for p in self.config.providers)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> WebhookSender:
        self._thread = threading.Thread(
            target=self._run, name="sendwatch-sim-webhooks", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._ticks += 1
            self._stop.wait(self.config.interval)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + self._inflight

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every change up to the world's present has been delivered or given up."""
        target, ticks = self.world.now(), self._ticks
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # two ticks later, one has surely begun after this call: it saw every message added before
            if self._ticks >= ticks + 2 and self.last >= target and not self.pending():
                return True
            time.sleep(0.01)
        return False

    # -- work -------------------------------------------------------------------------------
    def tick(self) -> None:
        """Queue the steps reached since the last look, then send whatever is due."""
        now = self.world.now()
        if now >= self.last:
            # [last, now]: a message created at a frozen instant still gets its first step, once
            changes = [
                c
                for c in self.world.status_changes_between(self.last - 1e-6, now)
                if c not in self._at_last
            ]
            for message_id, at, status in sorted(changes, key=lambda c: (c[1], c[0])):
                self._enqueue_change(message_id, at, status)
            edge = {c for c in changes if c[1] >= now - 1e-6}
            self._at_last = (self._at_last | edge) if now == self.last else edge
            self.last = now
        while not self._stop.is_set():
            with self._lock:
                if not self._queue or self._queue[0].due > time.monotonic():
                    return
                delivery = heapq.heappop(self._queue)
                self._inflight += 1
            try:
                self._deliver(delivery)
            finally:
                with self._lock:
                    self._inflight -= 1

    def _push(self, provider: Provider, event_id: str, body: bytes, delay: float = 0.0) -> None:
        with self._lock:
            self._seq += 1
            heapq.heappush(
                self._queue,
                _Delivery(time.monotonic() + delay, self._seq, provider, event_id, body),
            )

    def _enqueue_change(self, message_id: str, at: float, status: str) -> None:
        with self.world.lock:
            msg = self.world.messages.get(message_id)
        if msg is None or msg.provider not in self.config.providers:
            return
        if msg.provider is Provider.SENTDM:
            if status not in SENTDM_SUBTYPES:
                return
            kind = "sub_type" if self.rng.random() < self.config.legacy_rate else "event"
            envelope = {
                "field": "message",
                kind: f"message.{status.lower()}",
                "payload": payloads.sentdm_webhook_payload(self.world, msg, at, status),
                "request_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "timestamp": _iso(time.time()),
            }
        else:
            envelope = {
                "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "type": "message.status",
                "timestamp": _iso(time.time()),
                "message": payloads.sendo_data(self.world, msg, at, nulls=True),
            }
        event_id = f"evt_{uuid.UUID(int=self.rng.getrandbits(128), version=4).hex}"
        body = json.dumps(envelope).encode()
        self._push(msg.provider, event_id, body)
        if self.rng.random() < self.config.duplicate_rate:
            self._push(msg.provider, event_id, body, delay=0.01)
        if msg.provider is Provider.SENTDM and self.rng.random() < self.config.other_family_rate:
            other = {
                "field": "templates",
                "event": "template.approved",
                "payload": {
                    "template_id": msg.template[0] or None,
                    "template_name": msg.template[1] or None,
                    "status": "APPROVED",
                },
                "request_id": str(uuid.uuid4()),
                "timestamp": _iso(time.time()),
            }
            self._push(Provider.SENTDM, f"evt_{uuid.uuid4().hex}", json.dumps(other).encode())

    def headers(self, provider: Provider, event_id: str, body: bytes) -> dict[str, str]:
        """Signed at each attempt (fresh timestamp), the event id kept across retries."""
        if provider is Provider.SENDO:
            return {"content-type": "application/json", "X-Webhook-Token": self.config.token}
        stamp = str(int(time.time()))
        return {
            "content-type": "application/json",
            "X-Webhook-ID": self.endpoint_id,
            "X-Webhook-Timestamp": stamp,
            "X-Webhook-Signature": sign(self.config.secret, self.endpoint_id, stamp, body),
            "X-Webhook-Event-ID": event_id,
        }

    def _deliver(self, d: _Delivery) -> None:
        status: int | None = None
        try:
            response = self._client.post(
                self.url_for(d.provider),
                content=d.body,
                headers=self.headers(d.provider, d.event_id, d.body),
            )
            status = response.status_code
        except httpx.HTTPError:
            status = None
        self.attempts.append(Attempt(d.provider, d.event_id, status, d.body))
        if status is not None and 200 <= status < 300:
            return
        d.attempts += 1
        if d.attempts > self.config.retries:
            self.given_up.append(d.event_id)
            return
        d.due = time.monotonic() + self.config.backoff * 2 ** (d.attempts - 1)
        with self._lock:
            heapq.heappush(self._queue, d)
