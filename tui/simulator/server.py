"""A loopback HTTP server that answers like Sent.dm v3 and Sendo v1, from a `SimWorld`.

Shapes, headers, auth, error envelopes, `X-RateLimit-*` on every answer and 429s follow the
providers' documents (docs/providers.md) and the official `sentdm` SDK. Faults (down, malformed,
wrong shape, hang, close, random 5xx) can be switched on per provider by tests and the demo.
The HTTP side is handler.py; the endpoints are in routes_sentdm.py, routes_sendo.py and
routes_webhooks.py.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui.model import Provider
from tui.simulator import payloads, routes_sendo, routes_sentdm, routes_webhooks
from tui.simulator.accounts import (
    ALLOWED_PROFILE,
    DEFAULT_ACCOUNT,
    SENDO_KEY,
    SENTDM_KEY,
    SENTDM_PROFILE_KEY,
    Account,
)
from tui.simulator.dispatch import Dispatcher
from tui.simulator.handler import Handler, SimServer
from tui.simulator.hooks import HookRegistry
from tui.simulator.ratelimit import Limiter, TokenBucket, WindowLimit
from tui.simulator.sending import Idempotency
from tui.simulator.settings import SimConfig as SimConfig  # re-exported: tests build it from here
from tui.simulator.world import SimMessage, SimWorld

__all__ = [
    "ALLOWED_PROFILE",
    "SENDO_KEY",
    "SENTDM_KEY",
    "SENTDM_PROFILE_KEY",
    "RequestRecord",
    "SimConfig",
    "Simulator",
]


_FAMILIES = (routes_webhooks, routes_sentdm, routes_sendo)  # webhooks first: event-types


@dataclass
class RequestRecord:
    at: float  # wall time
    provider: Provider
    message_id: str  # or "list:<campaign>" / "send" / "me" / "webhooks..."
    status: int


class Simulator:
    """Owns the world, the HTTP server thread and what was asked of it (for tests and benchmarks)."""

    def __init__(
        self, world: SimWorld | None = None, config: SimConfig | None = None, *, seed: int = 0
    ) -> None:
        self.world = world or SimWorld(seed)
        self.config = config or SimConfig()
        self.rng = random.Random(self.world.seed + 1)
        c = self.config
        sendo_per_minute = c.sendo_per_minute
        # How each provider's buckets are made: one per account, the default account's in `buckets`.
        self._make_limiter: dict[Provider, Callable[[], Limiter]] = {
            Provider.SENTDM: lambda: TokenBucket(c.sentdm_per_minute, c.sentdm_burst),
            Provider.SENDO: (lambda: TokenBucket(sendo_per_minute, c.sendo_burst))
            if sendo_per_minute
            else (lambda: WindowLimit(c.sendo_limit, c.sendo_window)),
        }
        self.buckets: dict[Provider, Limiter] = {
            p: make() for p, make in self._make_limiter.items()
        }
        self.account_buckets: dict[tuple[Provider, str], Limiter] = {}  # every other account's
        self.idempotency = Idempotency()  # sends
        self.action_idempotency = Idempotency()  # cancels, per account
        self.records: list[RequestRecord] = []
        self.counts: Counter[tuple[Provider, int]] = Counter()
        self.stopping = threading.Event()  # ends answers written in parts, the dispatcher
        self.hooks = HookRegistry(self.world.seed)  # registered webhooks and their logs
        self.dispatcher = Dispatcher(self.world, self.hooks, self.config, self.stopping)
        self._lock = threading.Lock()
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, port: int = 0, host: str = "127.0.0.1") -> Simulator:
        routes = {
            method: [r for family in _FAMILIES for r in family.ROUTES.get(method, [])]
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        }
        handler = type("BoundHandler", (Handler,), {"sim": self, "routes": routes})
        self.stopping.clear()
        self._server = SimServer((host, port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="sendwatch-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.dispatcher.stop()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- switches for tests and the demo ----------------------------------------------------
    def set_fault(self, provider: Provider, fault: str | None) -> None:
        self.config.faults[provider] = fault

    def set_rate_limit(self, provider: Provider, per_minute: float, burst: int) -> None:
        """A per-minute bucket with a burst (either provider), fresh for every account."""
        self._set_limits(provider, lambda: TokenBucket(per_minute, burst))

    def set_sendo_window(self, limit: int, window: float = 1.0) -> None:
        """Sendo's documented shape: `limit` requests per `window` seconds, for every account."""
        self._set_limits(Provider.SENDO, lambda: WindowLimit(limit, window))

    def _set_limits(self, provider: Provider, make: Callable[[], Limiter]) -> None:
        with self._lock:
            self._make_limiter[provider] = make
            self.buckets[provider] = make()
            for key in [k for k in self.account_buckets if k[0] is provider]:
                del self.account_buckets[key]

    def limiter(self, account: Account) -> Limiter:
        """The rate-limit bucket `account`'s requests spend: each account has its own."""
        if account == DEFAULT_ACCOUNT[account.provider]:
            return self.buckets[account.provider]
        with self._lock:
            key = (account.provider, account.id)
            if key not in self.account_buckets:
                self.account_buckets[key] = self._make_limiter[account.provider]()
            return self.account_buckets[key]

    def take_forced_failure(self, provider: Provider) -> bool:
        """Should this request be a 500 (`fail_next`, then `error_rate`)?"""
        with self._lock:
            forced = self.config.fail_next.get(provider, 0) > 0
            if forced:
                self.config.fail_next[provider] -= 1
        return forced or bool(self.config.error_rate and self.rng.random() < self.config.error_rate)

    # -- what was asked ---------------------------------------------------------------------
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
