"""The receiver's ASGI app: one handler per provider, `/healthz` and `/readyz`.

Answers are chosen for the providers' retry rules: 2xx for every authentic event, even one we
ignore or already have (ten failures in a row disable a Sent.dm webhook); 401 when not authentic;
400/408/413 for a body that is not the documented JSON; 503 (with Retry-After) only when the store
cannot take the write or the receiver is full, so the provider tries again later. No answer and no
log line contains a secret, a token, a signature or a body, and our own errors never reach the
client as a traceback. Refused attempts are counted (`stats.refusals`), never logged one line each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tui.model import Provider
from tui.observe.metrics import OTHER, Metrics, result_for_status
from tui.observe.serving import metrics_route
from tui.polling.policy import PollPolicy
from tui.store import Store
from tui.webhooks import dedup
from tui.webhooks.apply import Applied, StoreUnavailable
from tui.webhooks.body import (
    MAX_BODY,
    MAX_BUFFERED,
    BodyBudget,
    BodyTooLarge,
    BodyUnreadable,
    read_body,
)
from tui.webhooks.credentials import PATHS, WebhookCredentials
from tui.webhooks.events import BadPayload, Push, parse_sendo, parse_sentdm
from tui.webhooks.ingest import ApplyBatch, PushWrite, PushWriter, apply_together
from tui.webhooks.readiness import Readiness
from tui.webhooks.signature import (
    TOLERANCE_SECONDS,
    AuthFailure,
    SignedHeaders,
    read_svix_headers,
    verify_svix,
)
from tui.webhooks.stats import ProviderStats, WebhookStats

log = logging.getLogger("sendwatch.webhooks")
log.addHandler(logging.NullHandler())  # a library: silent unless the program configures logging

OnApplied = Callable[[Applied], None]

BUSY = "requests answered 503: the receiver was full"


@dataclass(frozen=True)
class ReceiverLimits:
    """What one receiver takes at most; `server.limits_for(settings)` picks the defaults for a
    history (more write lanes for PostgreSQL)."""

    max_body: int = MAX_BODY
    body_timeout: float = 8.0  # seconds to receive a whole body once headers are in (then 408)
    #: Seconds a connection has to deliver a complete request (head and body) from the moment it
    #: owes one (it opened, or our last answer went out); then it is closed. Issue #15: within 15 s.
    request_timeout: float = 10.0
    tolerance: float = TOLERANCE_SECONDS  # signed timestamp window, either direction
    keep_alive: int = 5  # uvicorn timeout_keep_alive: idle connections are closed after this
    max_header_bytes: int = 16 * 1024  # uvicorn h11_max_incomplete_event_size
    #: Open sockets; at the cap the one that has owed a request the longest is closed. Lowered at
    #: start to leave file descriptors for the rest of the process (`socket_cap`).
    max_sockets: int = 1024
    max_requests: int = 128  # requests being verified/written at once; beyond: 503 at once
    max_buffered: int = MAX_BUFFERED  # body bytes held by all requests together; beyond: 503
    write_lanes: int = 1  # batches written at once (SQLite takes one write lock anyway)
    retry_after: int = 30  # seconds suggested to the provider on a 503


def _error(status: int, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": text}, status_code=status, headers=headers)


class _Handlers:
    """The request handlers and what they share; one instance per app."""

    def __init__(
        self,
        credentials: WebhookCredentials,
        stats: WebhookStats,
        limits: ReceiverLimits,
        writer: PushWriter,
        readiness: Readiness,
        on_applied: OnApplied | None,
        clock: Callable[[], float],
        metrics: Metrics | None,
    ) -> None:
        self.credentials, self.stats, self.limits = credentials, stats, limits
        self.writer, self.readiness = writer, readiness
        self.on_applied, self.clock, self.metrics = on_applied, clock, metrics
        self.budget = BodyBudget(limits.max_buffered)

    def _count(self, provider: Provider, result: str) -> None:
        """Every request answered on a provider's path is counted once, under what became of it."""
        if self.metrics is not None:
            self.metrics.webhook_event(provider, result)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def sentdm(self, request: Request) -> Response:
        return await self._guarded(request, Provider.SENTDM)

    async def sendo(self, request: Request) -> Response:
        return await self._guarded(request, Provider.SENDO)

    async def _guarded(self, request: Request, provider: Provider) -> Response:
        stats = self.stats[provider]
        try:
            return await self._receive(request, provider, stats)
        except Exception as exc:  # noqa: BLE001 - an error of ours: a generic 500, no traceback out
            stats.failed += 1
            self._count(provider, "internal_error")
            log.error("%s webhook: internal error %s", provider.value, type(exc).__name__)
            return _error(500, "internal error")

    def _reject(
        self, stats: ProviderStats, provider: Provider, status: int, reason: str
    ) -> JSONResponse:
        stats.rejected += 1
        self._count(provider, result_for_status(status))
        self.stats.refusals.count(f"{provider.value} {status} ({reason})")
        return _error(status, "unauthorized" if status == 401 else reason)

    def _busy(self, provider: Provider, reason: str) -> JSONResponse:
        self.stats.refusals.count(BUSY)
        self._count(provider, OTHER)  # not the store's doing: no result of its own yet
        return _error(503, reason, {"Retry-After": str(self.limits.retry_after)})

    async def _receive(
        self, request: Request, provider: Provider, stats: ProviderStats
    ) -> Response:
        now = self.clock()
        signed = None
        try:  # headers first: an unauthenticated body is never read
            if provider is Provider.SENTDM:
                signed = read_svix_headers(request.headers, now, self.limits.tolerance)
            else:  # any of the configured tokens (one per registered Sendo campaign webhook)
                self.credentials.verify_sendo(request.headers)
        except AuthFailure as exc:
            return self._reject(stats, provider, 401, str(exc))
        try:
            body = await read_body(
                request, self.limits.max_body, self.limits.body_timeout, self.budget
            )
        except BodyTooLarge:
            return self._reject(stats, provider, 413, "body too large")
        except BodyUnreadable as exc:
            if exc.status == 503:
                return self._busy(provider, str(exc))
            return self._reject(stats, provider, exc.status, str(exc))
        if self.stats.in_flight >= self.limits.max_requests:
            self.budget.give(len(body))
            return self._busy(provider, "receiver busy")
        self.stats.in_flight += 1
        try:
            return await self._accept(body, signed, provider, stats, now)
        finally:
            self.stats.in_flight -= 1
            self.budget.give(len(body))

    async def _accept(
        self,
        body: bytes,
        signed: SignedHeaders | None,
        provider: Provider,
        stats: ProviderStats,
        now: float,
    ) -> Response:
        try:
            if signed is not None:
                assert self.credentials.sentdm_key is not None
                verify_svix(self.credentials.sentdm_key, signed, body)
                push = parse_sentdm(body, signed.event_id, now)
            else:
                push = parse_sendo(body, now)
        except AuthFailure as exc:
            return self._reject(stats, provider, 401, str(exc))
        except BadPayload as exc:
            return self._reject(stats, provider, 400, str(exc))
        stats.received += 1
        stats.last_event_at = now
        return await self._apply(push, _write(push, signed, body, now), stats)

    async def _apply(self, push: Push, write: PushWrite | None, stats: ProviderStats) -> Response:
        if write is None:
            stats.ignored += 1
            self._count(push.provider, "ignored")
            return JSONResponse({"ok": True, "result": "ignored"})
        try:
            applied = await self.writer.write(write)
        except StoreUnavailable as exc:
            stats.failed += 1
            self._count(push.provider, "store_unavailable")
            self.stats.unstored.count(
                f"{push.provider.value} events the history refused to store ({exc})"
            )
            return _error(503, "store unavailable", {"Retry-After": str(self.limits.retry_after)})
        if applied.duplicate:  # claimed before, by this or another receiver on the history
            stats.duplicates += 1
            self._count(push.provider, "duplicate")
            return JSONResponse({"ok": True, "result": "duplicate"})
        stats.applied += 1
        self._count(push.provider, "stale" if applied.stale else "applied")
        if self.metrics is not None and applied.outcome is not None:
            self.metrics.message_recorded(
                write.message, applied.outcome.previous, applied.outcome.current
            )
        if self.on_applied is not None:
            try:
                self.on_applied(applied)
            except Exception as exc:  # noqa: BLE001 - the listener's problem must not fail the provider
                log.error("webhook on_applied callback failed: %s", type(exc).__name__)
        return JSONResponse({"ok": True, "result": "stale" if applied.stale else "applied"})


def readyz_route(readiness: Readiness) -> Route:
    """`GET /readyz`: 200 `{"ok": true}` or 503 with a short reason; also served by `poll --metrics`."""

    async def readyz(request: Request) -> Response:
        verdict = await readiness.verdict()
        return JSONResponse(verdict.as_json(), status_code=200 if verdict.ready else 503)

    return Route("/readyz", readyz, methods=["GET"])


def _write(push: Push, signed: SignedHeaders | None, body: bytes, now: float) -> PushWrite | None:
    """The write for a push, with its dedup keys: the provider's event ID, and what authenticated
    it (Sent.dm's signed content, Sendo's body), so a replay under another event ID is known too."""
    if push.message is None:
        return None
    provider = push.provider.value
    event = dedup.event_key(provider, push.event_id) if push.event_id else None
    if signed is not None:
        content = dedup.content_key(provider, signed.webhook_id, signed.timestamp, body)
    else:
        content = dedup.content_key(provider, body)
    return PushWrite(push.message, now, event, content)


def build_app(
    store: Store,
    credentials: WebhookCredentials,
    *,
    policy: PollPolicy | None = None,
    stats: WebhookStats | None = None,
    limits: ReceiverLimits | None = None,
    on_applied: OnApplied | None = None,
    clock: Callable[[], float] = time.time,
    readiness: Readiness | None = None,
    apply_batch: ApplyBatch | None = None,
    metrics: Metrics | None = None,
) -> Starlette:
    """The ASGI app. Only endpoints with a usable credential get a route (others are 404).

    `apply_batch` writes a batch of pushes (default: `apply_together`); `readiness` decides
    `/readyz` (default: the store answering); `metrics` counts every request under its result and
    is served at `GET /metrics`. `app.state.writer` must be closed by whoever serves
    the app (`await app.state.writer.aclose()`), as `WebhookReceiver.stop` does."""
    stats = stats if stats is not None else WebhookStats()
    limits = limits or ReceiverLimits()
    writer = PushWriter(
        apply_batch or apply_together(store, policy or PollPolicy()), lanes=limits.write_lanes
    )
    readiness = readiness if readiness is not None else Readiness(store)
    handlers = _Handlers(
        credentials,
        stats,
        limits,
        writer,
        readiness,
        on_applied,
        clock,
        metrics,
    )
    served = credentials.served()
    for provider in Provider:
        stats[provider].served = provider in served
    routes = [
        Route("/healthz", handlers.healthz, methods=["GET"]),
        readyz_route(readiness),
    ]
    if metrics is not None:
        routes.append(metrics_route(metrics))
    if Provider.SENTDM in served:
        routes.append(Route(PATHS[Provider.SENTDM], handlers.sentdm, methods=["POST"]))
    if Provider.SENDO in served:
        routes.append(Route(PATHS[Provider.SENDO], handlers.sendo, methods=["POST"]))
    app = Starlette(routes=routes, debug=False)
    app.state.stats = stats
    app.state.readiness = readiness
    app.state.writer = writer
    return app
