"""A loopback HTTP server that answers like Sent.dm v3 and Sendo v1, from a `SimWorld`.

Shapes, headers, auth, error envelopes, `X-RateLimit-*` on every answer and 429s follow the
providers' documents (docs/providers.md) and the official `sentdm` SDK. Faults (down, malformed,
wrong shape, hang, close, random 5xx) can be switched on per provider by tests and the demo.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tui.model import Provider
from tui.simulator import payloads
from tui.simulator.payloads import envelope, sentdm_error
from tui.simulator.ratelimit import Limiter, TokenBucket, WindowLimit, sendo_headers, sentdm_headers
from tui.simulator.sending import IDEMPOTENCY_KEY, Idempotency, SendRefused, sendo_send, sentdm_send
from tui.simulator.world import SimMessage, SimWorld

SENTDM_KEY = "sim-sentdm-0b6f6a0e-3c2d-4d8e-9f1a-2b3c4d5e6f70"
SENTDM_PROFILE_KEY = "sim-sentdm-profile-5a1c0d9e-7b21-4c3e-8f9a-0c1d2e3f4a5b"  # profile-scoped key
SENDO_KEY = "sim-sendo-8d7c6b5a-4e3f-4a1b-9c8d-7e6f5a4b3c2d"
ALLOWED_PROFILE = "c0ffee00-0000-4000-8000-000000000001"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SENDO_LIST_MAX = 100


@dataclass
class SimConfig:
    sentdm_per_minute: float = 200.0
    sentdm_burst: int = 50
    sentdm_429_style: str = (
        "envelope"  # "envelope" (BUSINESS_002) | "problem" (older problem+json body)
    )
    sendo_limit: int = 20  # requests per window (documented: 20 per second)
    sendo_window: float = 1.0  # seconds: 1.0 = per second (documented), 60.0 = per minute
    sendo_reset_unit: str = (
        "epoch"  # X-RateLimit-Reset: "epoch" s | "epoch_ms" | "delta" (seconds from now)
    )
    sendo_retry_after: bool = (
        False  # Sendo documents no Retry-After; switch on to test a client with it
    )
    sendo_per_minute: float | None = (
        None  # instead of the window: a per-minute bucket with `sendo_burst`
    )
    sendo_burst: int = 20
    send_seconds: float = (
        0.0  # how long a Sent.dm send takes (so a concurrent duplicate meets a 409)
    )
    error_rate: float = 0.0  # share of requests answered with a random 500
    latency: float = 0.0  # seconds added to every answer
    hang_seconds: float = 30.0  # how long the "hang" fault stalls
    faults: dict[Provider, str | None] = field(
        default_factory=dict
    )  # down|malformed|wrong_shape|hang|close
    fail_next: dict[Provider, int] = field(
        default_factory=dict
    )  # answer the next N requests with a 500


@dataclass
class RequestRecord:
    at: float  # wall time
    provider: Provider
    message_id: str  # or "list:<campaign>" / "send"
    status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a lookup cancelled once the other provider answered) is no error."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Simulator:
    """Owns the world, the HTTP server thread and what was asked of it (for tests and benchmarks)."""

    def __init__(
        self, world: SimWorld | None = None, config: SimConfig | None = None, *, seed: int = 0
    ) -> None:
        self.world = world or SimWorld(seed)
        self.config = config or SimConfig()
        self.rng = random.Random(self.world.seed + 1)
        c = self.config
        self.buckets: dict[Provider, Limiter] = {
            Provider.SENTDM: TokenBucket(c.sentdm_per_minute, c.sentdm_burst),
            Provider.SENDO: TokenBucket(c.sendo_per_minute, c.sendo_burst)
            if c.sendo_per_minute
            else WindowLimit(c.sendo_limit, c.sendo_window),
        }
        self.idempotency = Idempotency()
        self.records: list[RequestRecord] = []
        self.counts: Counter[tuple[Provider, int]] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, port: int = 0, host: str = "127.0.0.1") -> Simulator:
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = _Server((host, port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="sendwatch-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_fault(self, provider: Provider, fault: str | None) -> None:
        self.config.faults[provider] = fault

    def set_rate_limit(self, provider: Provider, per_minute: float, burst: int) -> None:
        """A per-minute bucket with a burst (either provider)."""
        self.buckets[provider] = TokenBucket(per_minute, burst)

    def set_sendo_window(self, limit: int, window: float = 1.0) -> None:
        """Sendo's documented shape: `limit` requests per `window` seconds."""
        self.buckets[Provider.SENDO] = WindowLimit(limit, window)

    def requests_for(self, message_id: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.records if r.message_id == message_id]

    def record(self, provider: Provider, message_id: str, status: int) -> None:
        with self._lock:
            self.records.append(RequestRecord(time.time(), provider, message_id, status))
            self.counts[(provider, status)] += 1

    # -- payloads (kept as methods: callers used them before payloads.py existed) ------------
    def sentdm_data(self, msg: SimMessage) -> dict[str, Any]:
        return payloads.sentdm_data(self.world, msg)

    def sendo_data(self, msg: SimMessage) -> dict[str, Any]:
        return payloads.sendo_data(self.world, msg)


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    protocol_version = "HTTP/1.1"
    server_version = "sendwatch-simulator"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    _rate: dict[str, str]

    def log_message(
        self, format: str, *args: Any
    ) -> None:  # quiet: tests and the demo share a terminal
        return

    def _send(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        payload = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", content_type if raw is None else "text/html")
        self.send_header("content-length", str(len(payload)))
        for key, value in {**getattr(self, "_rate", {}), **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _sentdm_fail(
        self, status: int, code: str, message: str, record: str, field: str | None = None
    ) -> None:
        self.sim.record(Provider.SENTDM, record, status)
        self._send(status, envelope(None, sentdm_error(code, message, field)))

    def _sendo_fail(self, status: int, message: str, record: str) -> None:
        self.sim.record(Provider.SENDO, record, status)
        self._send(status, {"error": message})

    def _json_body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return ...  # not JSON: each endpoint refuses it in its own words

    # -- routing ----------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._rate = {}
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        m = re.fullmatch(r"/v3/messages/([^/]+)(/activities)?", url.path)
        if m:
            return self._sentdm_get(m.group(1), bool(m.group(2)), query)
        if url.path == "/v1/message/list":
            return self._sendo_list(query)
        m = re.fullmatch(r"/v1/message/([^/]+)", url.path)
        if m:
            return self._sendo_get(m.group(1))
        self._send(404, {"error": "no such endpoint"})

    def do_POST(self) -> None:
        self._rate = {}
        path = urlsplit(self.path).path
        if path == "/v3/messages":
            return self._sentdm_post()
        if path == "/v1/message/send":
            return self._sendo_post()
        self._json_body()
        self._send(404, {"error": "no such endpoint"})

    # -- the gate every provider request passes: auth, rate limit, faults ---------------------
    def _gate(self, provider: Provider, record: str, *, shape_fault: bool = False) -> bool:
        """True when the request was already answered (or dropped) here."""
        sim = self.sim
        if sim.config.latency:
            time.sleep(sim.config.latency)
        limiter = sim.buckets[provider]
        if provider is Provider.SENTDM:
            refused = self._sentdm_auth(limiter, record)
        else:
            refused = self._sendo_auth(limiter, record)
        if refused:
            return True
        verdict = limiter.take()
        self._rate = self._rate_headers(provider, verdict)
        if not verdict.allowed:
            sim.record(provider, record, 429)
            if provider is Provider.SENDO:
                self._send(429, {"error": "Too many requests"})
            elif sim.config.sentdm_429_style == "problem":
                detail = f"Rate limit exceeded. Try again in {self._rate.get('Retry-After', '1')} seconds."
                self._send(
                    429,
                    {"status": 429, "title": "Too Many Requests", "detail": detail},
                    content_type="application/problem+json",
                )
            else:
                self._send(
                    429,
                    envelope(
                        None,
                        sentdm_error("BUSINESS_002", "Rate limit exceeded. Please retry later."),
                    ),
                )
            return True
        if self._fault(provider, record):
            return True
        if shape_fault and sim.config.faults.get(provider) == "wrong_shape":
            sim.record(provider, record, 200)
            body = (
                {"success": True, "data": ["unexpected"], "error": None}
                if provider is Provider.SENTDM
                else {"msg": {"id": record}}
            )
            self._send(200, body)
            return True
        return False

    def _rate_headers(self, provider: Provider, verdict: Any) -> dict[str, str]:
        if provider is Provider.SENTDM:
            return sentdm_headers(verdict)
        c = self.sim.config
        return sendo_headers(verdict, c.sendo_reset_unit, c.sendo_retry_after)

    def _sentdm_auth(self, limiter: Limiter, record: str) -> bool:
        key = self.headers.get("x-api-key")
        profile = self.headers.get("x-profile-id")
        self._rate = self._rate_headers(Provider.SENTDM, limiter.take(consume=False))
        if not key:
            self._sentdm_fail(
                401, "AUTH_001", "API key is required: send it in the x-api-key header.", record
            )
        elif key not in (SENTDM_KEY, SENTDM_PROFILE_KEY):
            self._sentdm_fail(401, "AUTH_002", "Invalid or expired API key", record)
        elif profile is not None and (key == SENTDM_PROFILE_KEY or profile != ALLOWED_PROFILE):
            self._sentdm_fail(403, "AUTH_004", "This key may not act for that profile.", record)
        else:
            return False
        return True

    def _sendo_auth(self, limiter: Limiter, record: str) -> bool:
        auth = (self.headers.get("authorization") or "").strip()
        self._rate = self._rate_headers(Provider.SENDO, limiter.take(consume=False))
        if not auth or auth.lower() in ("bearer", "bearer "):
            self._sendo_fail(401, "Missing API key", record)
        elif auth != f"Bearer {SENDO_KEY}":
            self._sendo_fail(403, "Invalid API key", record)
        else:
            return False
        return True

    def _fault(self, provider: Provider, record: str) -> bool:
        """Apply a switched-on fault; True when the request was answered (or dropped) by it."""
        sim = self.sim
        fault = sim.config.faults.get(provider)
        if fault == "hang":
            time.sleep(sim.config.hang_seconds)
        if fault == "close":
            sim.record(provider, record, 503)
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if fault == "down":
            sim.record(provider, record, 503)
            body = (
                envelope(None, sentdm_error("SERVICE_001", "Service unavailable"))
                if provider is Provider.SENTDM
                else {"error": "Service Unavailable"}
            )
            self._send(503, body)
            return True
        if fault == "malformed":
            sim.record(provider, record, 503)
            self._send(200, None, raw=b"<html><body>502 Bad Gateway</body></html>")
            return True
        with sim._lock:
            forced = sim.config.fail_next.get(provider, 0) > 0
            if forced:
                sim.config.fail_next[provider] -= 1
        if forced or (sim.config.error_rate and sim.rng.random() < sim.config.error_rate):
            sim.record(provider, record, 500)
            body = (
                envelope(
                    None,
                    sentdm_error(
                        "INTERNAL_001", "An unexpected error occurred while retrieving the message."
                    ),
                )
                if provider is Provider.SENTDM
                else {"error": "Internal Server Error"}
            )
            self._send(500, body)
            return True
        return False

    # -- Sent.dm --------------------------------------------------------------------------------
    def _sentdm_get(self, raw_id: str, activities: bool, query: dict[str, str]) -> None:
        sim = self.sim
        if self._gate(Provider.SENTDM, raw_id, shape_fault=True):
            return
        if not _UUID.match(raw_id):
            return self._sentdm_fail(400, "VALIDATION_001", "Invalid message ID format.", raw_id)
        msg = sim.world.get(raw_id)
        if msg is None or msg.provider is not Provider.SENTDM:
            return self._sentdm_fail(404, "RESOURCE_003", "Message not found", raw_id.lower())
        if activities:
            try:
                page, size = (
                    max(1, int(query.get("page", 1))),
                    min(100, max(1, int(query.get("page_size", 20)))),
                )
            except ValueError:
                return self._sentdm_fail(
                    400, "VALIDATION_001", "page and page_size must be integers.", msg.id
                )
            sim.record(Provider.SENTDM, msg.id, 200)
            return self._send(200, envelope(payloads.sentdm_activities(sim.world, msg, page, size)))
        sim.record(Provider.SENTDM, msg.id, 200)
        self._send(200, envelope(payloads.sentdm_data(sim.world, msg)))

    def _sentdm_post(self) -> None:
        sim = self.sim
        body = self._json_body()
        if self._gate(Provider.SENTDM, "send"):
            return
        key = self.headers.get("idempotency-key")
        if key is not None and not IDEMPOTENCY_KEY.match(key):
            return self._sentdm_fail(
                400, "VALIDATION_001", "Idempotency-Key must be 1-255 of A-Z a-z 0-9 _ -.", "send"
            )
        try:
            if key is not None:
                cached = sim.idempotency.begin(key)
                if cached is not None:
                    sim.record(Provider.SENTDM, "send", cached.status)
                    return self._send(
                        cached.status, envelope(cached.data), {"Idempotent-Replayed": "true"}
                    )
            try:
                if sim.config.send_seconds:
                    time.sleep(sim.config.send_seconds)
                data = sentdm_send(sim.world, None if body is ... else body)
            except SendRefused:
                if key is not None:
                    sim.idempotency.finish(key, None)
                raise
        except SendRefused as exc:
            return self._sentdm_fail(exc.status, exc.code, exc.message, "send", exc.field)
        if key is not None:
            sim.idempotency.finish(key, 202, data)
        sim.record(Provider.SENTDM, "send", 202)
        self._send(202, envelope(data))

    # -- Sendo ----------------------------------------------------------------------------------
    def _sendo_get(self, raw_id: str) -> None:
        sim = self.sim
        if self._gate(Provider.SENDO, raw_id, shape_fault=True):
            return
        if not _UUID.match(raw_id):
            return self._sendo_fail(400, "Invalid message id", raw_id)
        msg = sim.world.get(raw_id)
        if msg is None or msg.provider is not Provider.SENDO:
            return self._sendo_fail(404, "Message not found", raw_id.lower())
        sim.record(Provider.SENDO, msg.id, 200)
        self._send(200, {"message": payloads.sendo_data(sim.world, msg)})

    def _sendo_list(self, query: dict[str, str]) -> None:
        sim = self.sim
        campaign = query.get("campaign", "")
        record = f"list:{campaign}"
        if self._gate(Provider.SENDO, record):
            return
        try:
            limit, skip = int(query.get("limit", 10)), int(query.get("skip", 0))
        except ValueError:
            return self._sendo_fail(400, "limit and skip must be integers", record)
        if limit < 1 or skip < 0:
            return self._sendo_fail(400, "limit must be positive and skip not negative", record)
        found = sim.world.sendo_campaign(campaign or None)
        if query.get("direction"):
            found = [m for m in found if m.direction == query["direction"].upper()]
        if query.get("number"):
            found = [m for m in found if query["number"] in (m.to, m.from_)]
        page = found[skip : skip + min(limit, SENDO_LIST_MAX)]
        sim.record(Provider.SENDO, record, 200)
        self._send(200, {"messages": [payloads.sendo_data(sim.world, m) for m in page]})

    def _sendo_post(self) -> None:
        sim = self.sim
        body = self._json_body()
        if self._gate(Provider.SENDO, "send"):
            return
        try:
            message_id = sendo_send(sim.world, None if body is ... else body)
        except SendRefused as exc:
            return self._sendo_fail(exc.status, exc.message, "send")
        sim.record(Provider.SENDO, "send", 200)
        self._send(200, {"success": True, "id": message_id})
