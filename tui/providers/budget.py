"""Per-provider request budget: token bucket, concurrency cap, adaptive slow-down, circuit breaker.

One budget per provider is shared by every caller (lookups, the poller, the CLI), because the
provider's limit is per account, not per caller. It paces *before* a 429 happens by reading
`X-RateLimit-Remaining`/`Reset`, and after a 429 it waits out `Retry-After`, halves its rate and
never climbs back above 90% of the rate that was refused.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tui.errors import CircuitOpenError

MAX_PAUSE = 300.0  # never trust a header that asks us to stop for longer than this
OFFLINE_AFTER = 2  # failures in a row before the status line says a provider is offline
SHORT_WINDOW = 5.0  # rate-limit windows up to this long are waited out at Remaining: 0
#: how long an answer cut off at the request deadline keeps the provider shown as `slow`
SLOW_MEMORY = 300.0
#: longest the requests queued behind the first one (the probe) wait for its headers
PROBE_WAIT = 5.0


class HealthState(str, enum.Enum):
    UNKNOWN = "ready"  # configured, nothing asked yet
    OK = "ok"
    RATE_LIMITED = "rate-limited"
    AUTH_REJECTED = "auth rejected"
    OFFLINE = "offline"
    #: answering, but some answers took longer than the request deadline (`detail` says how)
    SLOW = "slow"
    NOT_CONFIGURED = "not configured"


@dataclass(frozen=True)
class Health:
    """What the status line shows for one provider. Times are wall-clock epoch seconds."""

    state: HealthState
    since: float | None = None
    until: float | None = None
    detail: str = ""


@dataclass
class BudgetStats:
    requests: int = 0
    throttled: int = 0  # 429 answers
    failures: int = 0


class RequestBudget:
    """Async pacing for one provider. Create and use it inside one event loop."""

    def __init__(
        self,
        requests_per_second: float,
        burst: int,
        concurrency: int,
        *,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 15.0,
        limit_window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.configured_rate = requests_per_second
        self.rate = requests_per_second
        self.ceiling = requests_per_second
        self.burst = max(1, burst)
        self.tokens = float(self.burst)
        self.concurrency = max(1, concurrency)
        self.breaker_threshold = breaker_threshold
        self.breaker_cooldown = breaker_cooldown
        self.limit_window = (
            limit_window  # seconds that X-RateLimit-Limit counts over (Sent.dm 60, Sendo 1)
        )
        self._clock = clock
        self._wall = wall
        self._last_refill = clock()
        self._paused_until = 0.0
        self._open_until = 0.0
        self._opens = 0
        self._consecutive_failures = 0
        self._semaphore: asyncio.Semaphore | None = None
        self._probed: asyncio.Event | None = None  # set once a first answer told us the limits
        self._probing = False
        self._throttled_until = 0.0  # 429s before this (clock) time are the same refusal
        self._in_flight = 0
        self._slow_until = 0.0  # wall time until which the status stays `slow`
        self._slow_detail = ""
        self.stats = BudgetStats()
        self.health = Health(HealthState.UNKNOWN)

    # -- pacing -----------------------------------------------------------------------------
    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(float(self.burst), self.tokens + (now - self._last_refill) * self.rate)
        self._last_refill = now

    def wait_time(self) -> float:
        """Seconds until a request could start (0 if now); never negative."""
        now = self._clock()
        self._refill()
        waits = [self._paused_until - now, self._open_until - now]
        if self.tokens < 1:
            waits.append((1 - self.tokens) / self.rate)
        return max(0.0, *waits)

    @property
    def circuit_open(self) -> bool:
        return self._clock() < self._open_until

    def circuit_retry_in(self) -> float:
        return max(0.0, self._open_until - self._clock())

    async def _take_token(self, fail_if_open: bool) -> None:
        while True:
            if fail_if_open and self.circuit_open:
                raise CircuitOpenError(
                    f"failed {self._consecutive_failures} times in a row; sendwatch leaves it alone "
                    f"for {self.circuit_retry_in():.0f} s before trying again"
                )
            delay = self.wait_time()
            if delay <= 0 and self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep(min(max(delay, 0.001), 1.0))

    @asynccontextmanager
    async def slot(self, *, fail_if_open: bool = True) -> AsyncIterator[None]:
        """Hold one concurrency slot and one token for the duration of a request.

        The very first request goes alone: its answer's rate-limit headers tell the real limit
        before a burst of concurrent requests could run into it blind. The others wait for those
        headers (`probe_answered`), not for its body, and never longer than `PROBE_WAIT`: a probe
        whose answer trickles must not hold up everything else.
        """
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
            self._probed = asyncio.Event()
        assert self._probed is not None
        probe = False
        if not self._probed.is_set():
            if self._probing:
                try:
                    await asyncio.wait_for(self._probed.wait(), timeout=PROBE_WAIT)
                except TimeoutError:
                    pass
            else:
                self._probing = probe = True
        async with self._semaphore:
            taken = False
            try:
                await self._take_token(fail_if_open)
                taken = True
                self.stats.requests += 1
                self._in_flight += 1
                yield
            finally:
                self._in_flight -= taken
                if probe:
                    self._probed.set()

    # -- feedback from responses --------------------------------------------------------------
    def probe_answered(self) -> None:
        """An answer's headers arrived: the limits are known, queued requests may go."""
        if self._probed is not None:
            self._probed.set()

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """Learn from X-RateLimit-* headers so pacing happens before a 429, not after.

        The limit, over this provider's window (Sent.dm: a minute, Sendo: a second), caps our rate
        with a 3% margin for clock and network jitter; `Remaining` caps our tokens, so other clients
        of the same account slow us down too; at `Remaining: 0` of a short window we wait for
        `Reset` (whose unit differs: epoch seconds, epoch milliseconds or seconds from now all occur).
        """
        limit = _number(headers.get("x-ratelimit-limit"))
        remaining = _number(headers.get("x-ratelimit-remaining"))
        if limit and limit > 0:
            server_rate = limit / self.limit_window * 0.97
            if server_rate < self.ceiling:
                self.ceiling = server_rate
                self.rate = min(self.rate, server_rate)
        if remaining is not None:
            self._refill()
            # the other requests in flight may not be counted in this `Remaining` yet
            others = max(0, self._in_flight - 1)
            self.tokens = min(self.tokens, max(0.0, remaining - others))
            if remaining < 1 and self.limit_window <= SHORT_WINDOW:
                # A short fixed window (Sendo's second) resets whole: wait for it. A long one
                # (Sent.dm's minute, a token bucket) refills gradually: the rate already paces it.
                reset = reset_in(headers.get("x-ratelimit-reset"), self._wall())
                if reset is not None:
                    self._pause(min(reset, self.limit_window * 2))

    def on_throttled(self, retry_after: float) -> None:
        """A 429: wait it out, halve the rate, and cap the ceiling below what was refused.

        The requests already in flight when the first 429 came answer 429 too; they are the same
        refusal, not new ones, so they extend the wait but cut the rate and ceiling only once
        (otherwise one burst halved the ceiling again and again, and it never recovered)."""
        self.stats.throttled += 1
        self._refill()
        self.tokens = 0.0
        if self._clock() >= self._throttled_until:
            self.ceiling = max(self.configured_rate * 0.05, min(self.ceiling, self.rate * 0.9))
            self.rate = max(self.configured_rate * 0.05, self.rate * 0.5)
        self._pause(retry_after)
        self._throttled_until = max(self._throttled_until, self._paused_until)
        self.health = Health(
            HealthState.RATE_LIMITED, since=self._wall(), until=self._wall() + retry_after
        )

    def on_success(self) -> None:
        self._consecutive_failures = 0
        self._opens = 0
        self._open_until = 0.0
        if self.rate < self.ceiling:  # additive recovery towards the ceiling
            self.rate = min(self.ceiling, self.rate + self.ceiling * 0.02)
        now = self._wall()
        state = self.health.state
        if state is HealthState.RATE_LIMITED and now < (self.health.until or 0):
            return
        if now < self._slow_until:
            if state is not HealthState.SLOW or self.health.until is not None:
                since = self.health.since if state is HealthState.SLOW else now
                self.health = Health(HealthState.SLOW, since=since, detail=self._slow_detail)
            return
        if state is not HealthState.OK:
            self.health = Health(HealthState.OK, since=now)

    def on_failure(self, detail: str, *, slow: bool = False) -> None:
        """A 5xx, timeout or connection error; `slow`: an answer cut off at the request deadline.

        Enough failures in a row open the circuit. A slow answer shows as `slow` (for
        `SLOW_MEMORY` seconds, also between good answers) rather than `offline`: the provider is
        there, it answers too slowly."""
        self.stats.failures += 1
        self._consecutive_failures += 1
        now_wall = self._wall()
        until = None
        if self._consecutive_failures >= self.breaker_threshold:
            cooldown = min(MAX_PAUSE, self.breaker_cooldown * (2**self._opens))
            self._opens += 1
            self._open_until = self._clock() + cooldown
            until = now_wall + cooldown
        if slow:
            self._slow_until, self._slow_detail = now_wall + SLOW_MEMORY, detail
            if self.health.state in (HealthState.AUTH_REJECTED, HealthState.RATE_LIMITED):
                return
            since = self.health.since if self.health.state is HealthState.SLOW else now_wall
            self.health = Health(HealthState.SLOW, since=since, until=until, detail=detail)
            return
        since = self.health.since if self.health.state is HealthState.OFFLINE else now_wall
        if (
            self._consecutive_failures < min(OFFLINE_AFTER, self.breaker_threshold)
            and self.health.state is not HealthState.OFFLINE
        ):
            return  # one random 5xx or timeout among answers is not "offline" (the retry usually succeeds)
        self.health = Health(HealthState.OFFLINE, since=since, until=until, detail=detail)

    def on_auth_rejected(self, detail: str) -> None:
        self.health = Health(HealthState.AUTH_REJECTED, since=self._wall(), detail=detail)

    def _pause(self, seconds: float) -> None:
        seconds = min(MAX_PAUSE, max(0.0, seconds))
        self._paused_until = max(self._paused_until, self._clock() + seconds)


def reset_in(value: str | None, now: float) -> float | None:
    """Seconds until `X-RateLimit-Reset`, whatever its unit; None when absent or absurd.

    Values past 1e12 are epoch milliseconds, past 1e9 epoch seconds, anything smaller is already
    a number of seconds from now. A reset in the past means no wait.
    """
    try:
        number = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    if number is None or number != number or number < 0 or number > 1e15:
        return None
    if number > 1e12:
        number = number / 1000.0 - now
    elif number > 1e9:
        number -= now
    return max(0.0, min(number, MAX_PAUSE))


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) < 1e12 else None  # drop NaN / absurd
