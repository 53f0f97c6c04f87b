"""The server side of the providers' rate limits, and the `X-RateLimit-*` headers they answer with.

Sent.dm documents a per-minute limit with a burst (a token bucket); Sendo documents 20 requests per
second (a fixed window here, aligned on the wall clock). Both report Limit/Remaining/Reset.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: float  # wall time (epoch seconds) when the allowance is whole again / the window ends
    retry_after: float  # seconds until one request would be allowed (0 when allowed)


class TokenBucket:
    """Per minute with a burst, like Sent.dm documents (200/min, burst 50)."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.burst = burst
        self.tokens = float(burst)
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self, consume: bool = True) -> Verdict:
        """Spend one token if there is one (`consume=False` only looks: for answers that cost nothing)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            allowed = self.tokens >= 1
            if allowed and consume:
                self.tokens -= 1
            wait = 0.0 if allowed else (1 - self.tokens) / self.rate
            reset = time.time() + (self.burst - self.tokens) / self.rate
            return Verdict(allowed, int(self.per_minute), int(self.tokens), reset, wait)


class WindowLimit:
    """`limit` requests per fixed window of `window` seconds (1.0: per second, 60.0: per minute)."""

    def __init__(self, limit: int, window: float = 1.0) -> None:
        self.limit = limit
        self.window = window
        self.start = 0.0
        self.used = 0
        self.lock = threading.Lock()

    def take(self, consume: bool = True) -> Verdict:
        with self.lock:
            now = time.time()
            start = math.floor(now / self.window) * self.window
            if start != self.start:
                self.start, self.used = start, 0
            end = start + self.window
            allowed = self.used < self.limit
            if allowed and consume:
                self.used += 1
            return Verdict(
                allowed,
                self.limit,
                max(0, self.limit - self.used),
                end,
                0.0 if allowed else end - now,
            )


Limiter = TokenBucket | WindowLimit


def sentdm_headers(v: Verdict) -> dict[str, str]:
    """Sent.dm: Reset in epoch seconds; a 429 adds Retry-After (whole seconds)."""
    headers = {
        "X-RateLimit-Limit": str(v.limit),
        "X-RateLimit-Remaining": str(v.remaining),
        "X-RateLimit-Reset": str(math.ceil(v.reset)),
    }
    if not v.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(v.retry_after)))
    return headers


def sendo_headers(v: Verdict, unit: str = "epoch", retry_after: bool = False) -> dict[str, str]:
    """Sendo: Reset's unit is undocumented, so it is a knob: `epoch` s, `epoch_ms` or `delta` (s from now)."""
    if unit == "epoch_ms":
        reset = str(int(v.reset * 1000))
    elif unit == "delta":
        reset = str(max(0, math.ceil(v.reset - time.time())))
    else:
        reset = str(math.ceil(v.reset))
    headers = {
        "X-RateLimit-Limit": str(v.limit),
        "X-RateLimit-Remaining": str(v.remaining),
        "X-RateLimit-Reset": reset,
    }
    if retry_after and not v.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(v.retry_after)))
    return headers
