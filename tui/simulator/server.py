"""A loopback HTTP server that answers like Sent.dm v3 and Sendo v1, from a `SimWorld`.

Shapes, headers, auth, error envelopes, Sent.dm's `X-RateLimit-*` headers and 429 + `Retry-After`
follow the providers' documents (see shared/providers.md). Faults (down, malformed, wrong shape,
hang, random 5xx) can be switched on per provider by tests and the demo.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tui.model import Provider
from tui.simulator.world import SimMessage, SimWorld

SENTDM_KEY = "sim-sentdm-0b6f6a0e-3c2d-4d8e-9f1a-2b3c4d5e6f70"
SENTDM_PROFILE_KEY = "sim-sentdm-profile-5a1c0d9e-7b21-4c3e-8f9a-0c1d2e3f4a5b"  # profile-scoped key
SENDO_KEY = "sim-sendo-8d7c6b5a-4e3f-4a1b-9c8d-7e6f5a4b3c2d"
ALLOWED_PROFILE = "c0ffee00-0000-4000-8000-000000000001"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def sentdm_time(epoch: float) -> str:
    """Sent.dm style: 7 fractional digits and an explicit offset."""
    dt = datetime.fromtimestamp(epoch, tz=timezone.utc)
    frac = f"{epoch % 1:.7f}"[2:]
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac}+00:00"


def sendo_time(epoch: float) -> str:
    dt = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{int(epoch % 1 * 1000):03d}Z"


class TokenBucket:
    """The server side of a rate limit: per minute with a burst, like Sent.dm documents."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.burst = burst
        self.tokens = float(burst)
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, int, float]:
        """(allowed, remaining, seconds until one token is back)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True, int(self.tokens), 0.0
            return False, 0, (1 - self.tokens) / self.rate


@dataclass
class SimConfig:
    sentdm_per_minute: float = 200.0
    sentdm_burst: int = 50
    sendo_per_minute: float | None = None  # Sendo documents no limit; set one to test 429 there
    sendo_burst: int = 20
    error_rate: float = 0.0  # share of requests answered with a random 500
    latency: float = 0.0  # seconds added to every answer
    hang_seconds: float = 30.0  # how long the "hang" fault stalls
    faults: dict[Provider, str | None] = field(default_factory=dict)  # down|malformed|wrong_shape|hang|close
    fail_next: dict[Provider, int] = field(default_factory=dict)  # answer the next N requests with a 500


@dataclass
class RequestRecord:
    at: float  # wall time
    provider: Provider
    message_id: str
    status: int


class Simulator:
    """Owns the world, the HTTP server thread and what was asked of it (for tests and benchmarks)."""

    def __init__(self, world: SimWorld | None = None, config: SimConfig | None = None, *, seed: int = 0) -> None:
        self.world = world or SimWorld(seed)
        self.config = config or SimConfig()
        self.rng = random.Random(self.world.seed + 1)
        self.buckets = {
            Provider.SENTDM: TokenBucket(self.config.sentdm_per_minute, self.config.sentdm_burst),
            Provider.SENDO: TokenBucket(self.config.sendo_per_minute, self.config.sendo_burst) if self.config.sendo_per_minute else None,
        }
        self.records: list[RequestRecord] = []
        self.counts: Counter[tuple[Provider, int]] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, port: int = 0, host: str = "127.0.0.1") -> "Simulator":
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="sendwatch-simulator", daemon=True)
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
        self.buckets[provider] = TokenBucket(per_minute, burst)

    def requests_for(self, message_id: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.records if r.message_id == message_id]

    def record(self, provider: Provider, message_id: str, status: int) -> None:
        with self._lock:
            self.records.append(RequestRecord(time.time(), provider, message_id, status))
            self.counts[(provider, status)] += 1

    # -- payloads ---------------------------------------------------------------------------
    def sentdm_data(self, msg: SimMessage) -> dict[str, Any]:
        now = self.world.now()
        seen = msg.visible_steps(now)
        status = seen[-1][1]
        descriptions = {"queued": "Message queued for sending", "processed": "Message processed",
                        "sent": f"Message sent via {msg.channel.upper() if msg.channel == 'sms' else msg.channel.title()}",
                        "delivered": "Message delivered to recipient", "read": "Message read by recipient"}
        events = [{"status": st, "timestamp": sentdm_time(self.world.wall(t)),
                   "description": (msg.error[1] if st == "failed" and msg.error else descriptions.get(st, st))}
                  for t, st in seen]
        data: dict[str, Any] = {
            "id": msg.id, "customer_id": "550e8400-e29b-41d4-a716-446655440000",
            "contact_id": "550e8400-e29b-41d4-a716-446655440002", "phone": msg.to,
            "phone_international": f"+1 {msg.to[2:5]}-{msg.to[5:8]}-{msg.to[8:]}", "region_code": "US",
            "template_id": msg.template[0], "template_name": msg.template[1], "template_category": msg.template[2],
            "channel": msg.channel,
            "message_body": {"header": None, "content": msg.body, "footer": None, "buttons": None},
            "status": status, "created_at": sentdm_time(self.world.wall(msg.created)),
            "price": 0.0055 if msg.channel == "sms" else 0.0081, "active_contact_price": 0.015, "events": events,
        }
        if status == "failed" and msg.error:
            data["error_code"], data["error_message"] = msg.error
        return data

    def sendo_data(self, msg: SimMessage) -> dict[str, Any]:
        seen = msg.visible_steps(self.world.now())
        status = seen[-1][1]
        sent = next((t for t, st in seen if st == "sent"), None)
        out: dict[str, Any] = {
            "id": msg.id, "type": "SMS", "createdAt": sendo_time(self.world.wall(msg.created)),
            "sentAt": sendo_time(self.world.wall(sent)) if sent is not None else None,
            "updatedAt": sendo_time(self.world.wall(seen[-1][0])), "direction": "OUTBOUND",
            "from": msg.from_, "to": msg.to, "body": msg.body, "numSegments": 1 + len(msg.body) // 160,
            "campaignId": msg.campaign or "U7fQ3123", "metadata": msg.metadata, "status": status.upper(),
        }
        if out["sentAt"] is None:
            del out["sentAt"]
        if status.startswith("failed") and msg.error:
            out["errorCode"], out["errorMessage"] = msg.error
        return out


def _envelope(data: Any, error: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "success": error is None, "data": data, "error": error,
        "meta": {"request_id": f"req_{random.getrandbits(40):010x}", "timestamp": sentdm_time(time.time()), "version": "v3"},
    }


def _sentdm_error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "details": None, "doc_url": f"https://docs.sent.dm/errors/{code}"}


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    protocol_version = "HTTP/1.1"
    server_version = "sendwatch-simulator"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and the demo share a terminal
        return

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
        payload = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json" if raw is None else "text/html")
        self.send_header("content-length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        sim = self.sim
        if sim.config.latency:
            time.sleep(sim.config.latency)
        path = self.path.split("?", 1)[0]
        m = re.fullmatch(r"/v3/messages/([^/]+)(/activities)?", path)
        if m:
            return self._sentdm(m.group(1), bool(m.group(2)))
        m = re.fullmatch(r"/v1/message/([^/]+)", path)
        if m:
            return self._sendo(m.group(1))
        self._send(404, {"error": "no such endpoint"})

    def _fault(self, provider: Provider) -> bool:
        """Apply a switched-on fault; True when the request was answered (or dropped) by it."""
        sim = self.sim
        fault = sim.config.faults.get(provider)
        if fault == "hang":
            time.sleep(sim.config.hang_seconds)
        if fault == "close":
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if fault == "down":
            body = _envelope(None, _sentdm_error("INTERNAL_001", "Service unavailable")) if provider is Provider.SENTDM else {"error": "Service Unavailable"}
            self._send(503, body)
            return True
        if fault == "malformed":
            self._send(200, None, raw=b"<html><body>502 Bad Gateway</body></html>")
            return True
        with sim._lock:
            forced = sim.config.fail_next.get(provider, 0) > 0
            if forced:
                sim.config.fail_next[provider] -= 1
        if forced or (sim.config.error_rate and sim.rng.random() < sim.config.error_rate):
            body = _envelope(None, _sentdm_error("INTERNAL_001", "An unexpected error occurred while retrieving the message.")) if provider is Provider.SENTDM else {"error": "Internal Server Error"}
            self._send(500, body)
            return True
        return False

    def _limit(self, provider: Provider) -> tuple[bool, dict[str, str]]:
        bucket = self.sim.buckets.get(provider)
        if bucket is None:
            return True, {}
        allowed, remaining, wait = bucket.take()
        headers = {}
        if provider is Provider.SENTDM:
            headers = {"X-RateLimit-Limit": str(int(bucket.per_minute)), "X-RateLimit-Remaining": str(remaining),
                       "X-RateLimit-Reset": str(int(time.time() + (bucket.burst - remaining) / bucket.rate) + 1)}
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return allowed, headers

    def _sentdm(self, raw_id: str, activities: bool) -> None:
        sim = self.sim
        key = self.headers.get("x-api-key")
        profile = self.headers.get("x-profile-id")
        if key not in (SENTDM_KEY, SENTDM_PROFILE_KEY):
            sim.record(Provider.SENTDM, raw_id, 401)
            return self._send(401, _envelope(None, _sentdm_error("AUTH_001", "Invalid or missing API key.")))
        if profile is not None and (key == SENTDM_PROFILE_KEY or profile != ALLOWED_PROFILE):
            sim.record(Provider.SENTDM, raw_id, 403)
            return self._send(403, _envelope(None, _sentdm_error("AUTH_004", "This key may not act for that profile.")))
        allowed, headers = self._limit(Provider.SENTDM)
        if not allowed:
            sim.record(Provider.SENTDM, raw_id, 429)
            return self._send(429, _envelope(None, _sentdm_error("RATE_LIMIT_001", "Too many requests.")), headers)
        if self._fault(Provider.SENTDM):
            sim.record(Provider.SENTDM, raw_id, 503)
            return
        if sim.config.faults.get(Provider.SENTDM) == "wrong_shape":
            sim.record(Provider.SENTDM, raw_id, 200)
            return self._send(200, {"success": True, "data": ["unexpected"], "error": None}, headers)
        if not _UUID.match(raw_id):
            sim.record(Provider.SENTDM, raw_id, 400)
            return self._send(400, _envelope(None, _sentdm_error("VALIDATION_001", "Invalid message ID format.")), headers)
        msg = sim.world.get(raw_id)
        if msg is None or msg.provider is not Provider.SENTDM:
            sim.record(Provider.SENTDM, raw_id.lower(), 404)
            return self._send(404, _envelope(None, _sentdm_error("RESOURCE_003", "Message not found")), headers)
        sim.record(Provider.SENTDM, msg.id, 200)
        data = sim.sentdm_data(msg)
        if activities:
            acts = [{"status": e["status"].upper(), "description": e["description"], "from": msg.from_,
                     "timestamp": e["timestamp"], "price": str(data["price"]), "active_contact_price": str(data["active_contact_price"])}
                    for e in reversed(data["events"])]
            return self._send(200, _envelope({"message_id": msg.id, "activities": acts}), headers)
        self._send(200, _envelope(data), headers)

    def _sendo(self, raw_id: str) -> None:
        sim = self.sim
        if self.headers.get("authorization") != f"Bearer {SENDO_KEY}":
            sim.record(Provider.SENDO, raw_id, 401)
            return self._send(401, {"error": "Unauthorized"})
        allowed, headers = self._limit(Provider.SENDO)
        if not allowed:
            sim.record(Provider.SENDO, raw_id, 429)
            return self._send(429, {"error": "Too Many Requests"}, headers)
        if self._fault(Provider.SENDO):
            sim.record(Provider.SENDO, raw_id, 503)
            return
        if sim.config.faults.get(Provider.SENDO) == "wrong_shape":
            sim.record(Provider.SENDO, raw_id, 200)
            return self._send(200, {"msg": {"id": raw_id}})
        if not _UUID.match(raw_id):
            sim.record(Provider.SENDO, raw_id, 400)
            return self._send(400, {"error": "Invalid message id"})
        msg = sim.world.get(raw_id)
        if msg is None or msg.provider is not Provider.SENDO:
            sim.record(Provider.SENDO, raw_id.lower(), 404)
            return self._send(404, {"error": "Message not found"})
        sim.record(Provider.SENDO, msg.id, 200)
        self._send(200, {"message": sim.sendo_data(msg)}, headers)
