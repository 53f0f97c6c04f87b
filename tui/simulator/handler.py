"""The HTTP side every route shares: answering, the request body, routing, and the gate.

The gate is what each provider request passes before its route runs, in the providers' order:
credentials (which account), that account's rate limit (`X-RateLimit-*` on every answer, 429
when spent), then any fault switched on for the provider. Routes live by family in
routes_sentdm.py, routes_sendo.py and routes_webhooks.py.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from tui.model import Provider
from tui.simulator.accounts import (
    DEFAULT_ACCOUNT,
    Account,
    AuthRefused,
    sendo_account,
    sentdm_account,
)
from tui.simulator.dispatch import Dispatcher
from tui.simulator.hooks import HookRegistry
from tui.simulator.payloads import envelope, sentdm_error
from tui.simulator.ratelimit import Limiter, Verdict, sendo_headers, sentdm_headers
from tui.simulator.sending import Idempotency
from tui.simulator.settings import SimConfig
from tui.simulator.world import SimWorld

UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
NOT_JSON: Any = ...  # what `body` is when the request's body is not JSON
Route = Callable[["Handler", re.Match[str], dict[str, str]], None]
MAX_BODY = 1 << 20  # bytes of a request body kept; the rest is read and dropped


class SimulatorParts(Protocol):
    """What a request handler (and the routes) use of the `Simulator` that serves it."""

    config: SimConfig
    world: SimWorld
    hooks: HookRegistry
    stopping: threading.Event
    idempotency: Idempotency
    action_idempotency: Idempotency
    dispatcher: Dispatcher

    def take_forced_failure(self, provider: Provider) -> bool: ...

    def limiter(self, account: Account) -> Limiter: ...

    def record(self, provider: Provider, message_id: str, status: int) -> None: ...


class SimServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a lookup cancelled once the other provider answered) is no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    sim: SimulatorParts
    routes: dict[str, list[tuple[re.Pattern[str], Route]]]
    protocol_version = "HTTP/1.1"
    server_version = "sendwatch-simulator"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    rate: dict[str, str]
    body: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests share a terminal
        return

    # -- answering --------------------------------------------------------------------------
    def send(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str | None = None,
    ) -> None:
        """One whole answer; a `raw` body is sent as HTML unless `content_type` says otherwise."""
        payload = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        default = "application/json" if raw is None else "text/html"
        self.send_header("content-type", content_type or default)
        self.send_header("content-length", str(len(payload)))
        for key, value in {**self.rate, **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def start_answer(self, status: int, headers: dict[str, str]) -> None:
        """Status line and headers (with the rate headers) only: for bodies written in parts."""
        self.send_response(status)
        for key, value in {**self.rate, **headers}.items():
            self.send_header(key, value)
        self.end_headers()

    def sentdm_fail(
        self, status: int, code: str, message: str, record: str, field: str | None = None
    ) -> None:
        self.sim.record(Provider.SENTDM, record, status)
        self.send(status, envelope(None, sentdm_error(code, message, field)))

    def sendo_fail(self, status: int, message: str, record: str) -> None:
        self.sim.record(Provider.SENDO, record, status)
        self.send(status, {"error": message})

    def ok(self, provider: Provider, record: str, data: Any, status: int = 200) -> None:
        """A success: Sent.dm's envelope around `data`, Sendo's body as it is."""
        self.sim.record(provider, record, status)
        self.send(status, envelope(data) if provider is Provider.SENTDM else data)

    # -- reading and routing ----------------------------------------------------------------
    def _read_body(self) -> Any:
        try:
            length = max(0, int(self.headers.get("content-length") or 0))
        except ValueError:
            length = 0
        raw = self.rfile.read(min(length, MAX_BODY)) if length else b""
        for _ in range(0, max(0, length - MAX_BODY), 65536):
            self.rfile.read(min(65536, length - MAX_BODY))
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return NOT_JSON  # each endpoint refuses it in its own words

    def _dispatch(self, method: str) -> None:
        self.rate = {}
        self.body = self._read_body() if method != "GET" else None
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        for pattern, route in self.routes.get(method, []):
            match = pattern.fullmatch(url.path)
            if match:
                return route(self, match, query)
        self.send(404, {"error": "no such endpoint"})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- the gate ---------------------------------------------------------------------------
    def gate(self, provider: Provider, record: str, *, shape_fault: bool = False) -> Account | None:
        """The caller's account, or None when the request was already answered (or dropped)."""
        sim = self.sim
        if sim.config.latency:
            time.sleep(sim.config.latency)
        try:
            if provider is Provider.SENTDM:
                account = sentdm_account(
                    self.headers.get("x-api-key"), self.headers.get("x-profile-id")
                )
            else:
                account = sendo_account(self.headers.get("authorization"))
        except AuthRefused as exc:
            limiter = sim.limiter(DEFAULT_ACCOUNT[provider])
            self.rate = self.rate_headers(provider, limiter.take(consume=False))
            if provider is Provider.SENTDM:
                self.sentdm_fail(exc.status, exc.code, exc.message, record)
            else:
                self.sendo_fail(exc.status, exc.message, record)
            return None
        verdict = sim.limiter(account).take()
        self.rate = self.rate_headers(provider, verdict)
        if not verdict.allowed:
            self._too_many(provider, record)
            return None
        if self._fault(provider, record):
            return None
        if shape_fault and sim.config.faults.get(provider) == "wrong_shape":
            body = (
                {"success": True, "data": ["unexpected"], "error": None}
                if provider is Provider.SENTDM
                else {"msg": {"id": record}}
            )
            sim.record(provider, record, 200)
            self.send(200, body)
            return None
        return account

    def _too_many(self, provider: Provider, record: str) -> None:
        self.sim.record(provider, record, 429)
        if provider is Provider.SENDO:
            self.send(429, {"error": "Too many requests"})
        elif self.sim.config.sentdm_429_style == "problem":
            detail = (
                f"Rate limit exceeded. Try again in {self.rate.get('Retry-After', '1')} seconds."
            )
            self.send(
                429,
                {"status": 429, "title": "Too Many Requests", "detail": detail},
                content_type="application/problem+json",
            )
        else:
            error = sentdm_error("BUSINESS_002", "Rate limit exceeded. Please retry later.")
            self.send(429, envelope(None, error))

    def rate_headers(self, provider: Provider, verdict: Verdict) -> dict[str, str]:
        if provider is Provider.SENTDM:
            return sentdm_headers(verdict)
        c = self.sim.config
        return sendo_headers(verdict, c.sendo_reset_unit, c.sendo_retry_after)

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
            self.send(503, body)
            return True
        if fault == "malformed":
            sim.record(provider, record, 503)
            self.send(200, None, raw=b"<html><body>502 Bad Gateway</body></html>")
            return True
        if sim.take_forced_failure(provider):
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
            self.send(500, body)
            return True
        return False
