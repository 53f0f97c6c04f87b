"""The receiver: a Starlette app (one handler per provider) served by uvicorn in any asyncio loop.

Answers are chosen for the providers' retry rules: 2xx for every authentic event, even one we
ignore or already have (ten failures in a row disable a Sent.dm webhook); 401 when not authentic;
400/408/413 for a body that is not the documented JSON; 503 only when the store cannot take the
write, so the provider tries again later. No answer and no log line contains a secret, a token, a
signature or a body, and our own errors never reach the client as a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.store import Store
from tui.webhooks.apply import Applied, StoreUnavailable, apply_push
from tui.webhooks.body import MAX_BODY, BodyTooLarge, BodyUnreadable, read_body
from tui.webhooks.credentials import PATHS, WebhookCredentials
from tui.webhooks.dedup import SeenEvents
from tui.webhooks.events import BadPayload, Push, parse_sendo, parse_sentdm
from tui.webhooks.signature import (
    TOLERANCE_SECONDS,
    AuthFailure,
    read_svix_headers,
    verify_svix,
    verify_token,
)
from tui.webhooks.stats import ProviderStats, WebhookStats

log = logging.getLogger("sendwatch.webhooks")
log.addHandler(logging.NullHandler())  # a library: silent unless the program configures logging
# uvicorn's own warnings (malformed requests) would otherwise reach Python's last-resort stderr
# handler and draw over the dashboard; a program that configures logging still sees them.
logging.getLogger("uvicorn.error").addHandler(logging.NullHandler())

OnApplied = Callable[[Applied], None]


@dataclass(frozen=True)
class ReceiverLimits:
    max_body: int = MAX_BODY
    body_timeout: float = 10.0  # seconds to receive a whole body once headers are in
    tolerance: float = TOLERANCE_SECONDS  # signed timestamp window, either direction
    keep_alive: int = 5  # uvicorn timeout_keep_alive: idle connections are closed after this
    max_header_bytes: int = 16 * 1024  # uvicorn h11_max_incomplete_event_size
    max_connections: int = 64  # uvicorn limit_concurrency: beyond it, 503 at once
    retry_after: int = 30  # seconds suggested to the provider on a 503


def _error(status: int, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": text}, status_code=status, headers=headers)


class _Handlers:
    """The request handlers and what they share; one instance per app."""

    def __init__(
        self,
        store: Store,
        credentials: WebhookCredentials,
        policy: PollPolicy,
        stats: WebhookStats,
        limits: ReceiverLimits,
        on_applied: OnApplied | None,
        clock: Callable[[], float],
    ) -> None:
        self.store, self.credentials, self.policy, self.stats = store, credentials, policy, stats
        self.limits, self.on_applied, self.clock = limits, on_applied, clock
        self.seen = SeenEvents()

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
            log.error("%s webhook: internal error %s", provider.value, type(exc).__name__)
            return _error(500, "internal error")

    def _reject(
        self, stats: ProviderStats, provider: Provider, status: int, reason: str
    ) -> JSONResponse:
        stats.rejected += 1
        log.info("%s webhook refused (%d): %s", provider.value, status, reason)
        return _error(status, "unauthorized" if status == 401 else reason)

    async def _receive(
        self, request: Request, provider: Provider, stats: ProviderStats
    ) -> Response:
        now = self.clock()
        signed = None
        try:  # headers first: an unauthenticated body is never read
            if provider is Provider.SENTDM:
                signed = read_svix_headers(request.headers, now, self.limits.tolerance)
            else:
                assert self.credentials.sendo_token is not None
                verify_token(self.credentials.sendo_token, request.headers)
        except AuthFailure as exc:
            return self._reject(stats, provider, 401, str(exc))
        try:
            body = await read_body(request, self.limits.max_body, self.limits.body_timeout)
        except BodyTooLarge:
            return self._reject(stats, provider, 413, "body too large")
        except BodyUnreadable as exc:
            return self._reject(stats, provider, exc.status, str(exc))
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
        return await self._apply(push, stats, now)

    async def _apply(self, push: Push, stats: ProviderStats, now: float) -> Response:
        if push.message is None:
            stats.ignored += 1
            return JSONResponse({"ok": True, "result": "ignored"})
        key = push.event_id
        if key is not None and not self.seen.claim(push.provider.value, key):
            stats.duplicates += 1
            return JSONResponse({"ok": True, "result": "duplicate"})
        applied: Applied | None = None
        try:
            applied = await asyncio.to_thread(
                apply_push, self.store, self.policy, push.message, now
            )
        except StoreUnavailable as exc:
            stats.failed += 1
            log.warning(
                "%s webhook: the history store refused the write (%s); asked to retry",
                push.provider.value,
                exc,
            )
            return _error(503, "store unavailable", {"Retry-After": str(self.limits.retry_after)})
        finally:
            if key is not None:
                self.seen.done(push.provider.value, key, applied=applied is not None)
        stats.applied += 1
        if self.on_applied is not None:
            try:
                self.on_applied(applied)
            except Exception as exc:  # noqa: BLE001 - the listener's problem must not fail the provider
                log.error("webhook on_applied callback failed: %s", type(exc).__name__)
        return JSONResponse({"ok": True, "result": "stale" if applied.stale else "applied"})


def build_app(
    store: Store,
    credentials: WebhookCredentials,
    *,
    policy: PollPolicy | None = None,
    stats: WebhookStats | None = None,
    limits: ReceiverLimits | None = None,
    on_applied: OnApplied | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The ASGI app. Only endpoints with a usable credential get a route (others are 404)."""
    stats = stats if stats is not None else WebhookStats()
    handlers = _Handlers(
        store,
        credentials,
        policy or PollPolicy(),
        stats,
        limits or ReceiverLimits(),
        on_applied,
        clock,
    )
    served = credentials.served()
    for provider in Provider:
        stats[provider].served = provider in served
    routes = [Route("/healthz", handlers.healthz, methods=["GET"])]
    if Provider.SENTDM in served:
        routes.append(Route(PATHS[Provider.SENTDM], handlers.sentdm, methods=["POST"]))
    if Provider.SENDO in served:
        routes.append(Route(PATHS[Provider.SENDO], handlers.sendo, methods=["POST"]))
    app = Starlette(routes=routes, debug=False)
    app.state.stats = stats
    return app


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the host program (Textual, `listen`) owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        """uvicorn's loop (a tick every 0.1 s), but `wake()` ends it at once: stopping is prompt."""
        self._wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def wake(self) -> None:
        self.should_exit = True
        wake = getattr(self, "_wake", None)
        if wake is not None:
            wake.set()


class WebhookReceiver:
    """Serve the receiver as a task of the running loop: `await start()` … `await stop()`.

    `start` binds first (an OSError such as "address in use" is raised to the caller, not turned
    into uvicorn's `sys.exit`), so `port=0` works and `port` tells which one was chosen."""

    def __init__(
        self,
        store: Store,
        credentials: WebhookCredentials,
        *,
        host: str = "127.0.0.1",
        port: int = 8787,
        policy: PollPolicy | None = None,
        stats: WebhookStats | None = None,
        limits: ReceiverLimits | None = None,
        on_applied: OnApplied | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host, self.port = host, port
        self.credentials = credentials
        self.stats = stats if stats is not None else WebhookStats()
        self.limits = limits or ReceiverLimits()
        self.app = build_app(
            store,
            credentials,
            policy=policy,
            stats=self.stats,
            limits=self.limits,
            on_applied=on_applied,
            clock=clock,
        )
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def endpoints(self) -> list[tuple[Provider, str]]:
        """(provider, URL) for each endpoint served: what to configure at the provider."""
        return [(p, self.base_url + PATHS[p]) for p in self.credentials.served()]

    async def _bind(self) -> socket.socket:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        return sock

    async def start(self) -> None:
        """Bind and serve in the background; returns once connections are accepted."""
        if self.running:
            return
        sock = await self._bind()
        limits = self.limits
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            http="h11",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            timeout_keep_alive=limits.keep_alive,
            timeout_graceful_shutdown=3,
            h11_max_incomplete_event_size=limits.max_header_bytes,
            limit_concurrency=limits.max_connections,
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(
            self._server.serve(sockets=[sock]), name="sendwatch-webhooks"
        )
        while not self._server.started:
            if self._task.done():
                sock.close()
                try:
                    self._task.result()
                except BaseException as exc:  # noqa: BLE001 - uvicorn may sys.exit on a startup failure
                    raise RuntimeError(
                        f"the webhook receiver did not start ({type(exc).__name__})"
                    ) from None
                raise RuntimeError("the webhook receiver stopped while starting")
            await asyncio.sleep(0.005)

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let in-flight requests finish (bounded), then return."""
        if self._server is None or self._task is None:
            return
        self._server.wake()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except (TimeoutError, Exception):  # noqa: BLE001 - stopping must not raise
            self._server.force_exit = True
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._task, 1.0)
        self._task = None

    async def __aenter__(self) -> WebhookReceiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
