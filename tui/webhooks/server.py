"""The receiver served by uvicorn as a task of any asyncio loop (`listen`, `poll`, the dashboard).

The app itself is `handlers.build_app`; connections that never finish a request are closed by
`guard.py` (uvicorn's h11 protocol with a request deadline and a socket cap that evicts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator

import uvicorn

from tui.config import Settings
from tui.model import Provider
from tui.observe.metrics import Metrics
from tui.observe.serving import http_base, listening_socket, start_serving, stop_serving
from tui.polling.policy import PollPolicy
from tui.store import Store
from tui.webhooks.credentials import PATHS, WebhookCredentials
from tui.webhooks.guard import ConnectionGuard, guarded
from tui.webhooks.handlers import OnApplied, ReceiverLimits, build_app
from tui.webhooks.ingest import ApplyBatch
from tui.webhooks.readiness import Readiness
from tui.webhooks.stats import WebhookStats

__all__ = ["ReceiverLimits", "WebhookReceiver", "build_app", "limits_for", "socket_cap"]

# uvicorn's own warnings would otherwise reach Python's last-resort stderr handler and draw over
# the dashboard; a program that configures logging still sees them.
logging.getLogger("uvicorn.error").addHandler(logging.NullHandler())


def limits_for(settings: Settings) -> ReceiverLimits:
    """The default limits for these settings: a history on a server (PostgreSQL) is written in
    four lanes at once, which hides each write's round trips behind the others' (about 300 events/s
    instead of 220 with one, bench_ingest); a SQLite file takes one write lock whatever we do, and
    one lane is faster there (800 instead of 640)."""
    shared = bool(settings.history.url.reveal())
    return ReceiverLimits(write_lanes=4 if shared else 1)


def socket_cap(wanted: int, reserve: int = 256) -> int:
    """`wanted`, lowered so that sockets never take the file descriptors the rest needs."""
    try:
        import resource
    except ImportError:  # not on Unix: no such limit to respect
        return wanted
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return min(wanted, max(16, soft - reserve))


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the host program (Textual, `listen`) owns the signals."""

    def __init__(self, config: uvicorn.Config, tick: Callable[[], None]) -> None:
        super().__init__(config)
        self.tick = tick  # called on every tick of the loop (the refusal summaries come due)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        """uvicorn's loop (a tick every 0.1 s), but `wake()` ends it at once: stopping is prompt."""
        self._wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            self.tick()
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
        apply_batch: ApplyBatch | None = None,
        metrics: Metrics | None = None,
        readiness: Readiness | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.credentials = credentials
        self.stats = stats if stats is not None else WebhookStats()
        self.limits = limits or ReceiverLimits()
        #: `/readyz`: the store answering, plus whatever a caller adds (`readiness.add(name, check)`,
        #: or its own `readiness`, shared with another server: `poll` serves it on both ports).
        self.readiness = readiness if readiness is not None else Readiness(store)
        self.app = build_app(
            store,
            credentials,
            policy=policy,
            stats=self.stats,
            limits=self.limits,
            on_applied=on_applied,
            clock=clock,
            readiness=self.readiness,
            apply_batch=apply_batch,
            metrics=metrics,
        )
        self.guard: ConnectionGuard | None = None
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def base_url(self) -> str:
        return http_base(self.host, self.port)

    def endpoints(self) -> list[tuple[Provider, str]]:
        """(provider, URL) for each endpoint served: what to configure at the provider."""
        return [(p, self.base_url + PATHS[p]) for p in self.credentials.served()]

    async def start(self) -> None:
        """Bind and serve in the background; returns once connections are accepted."""
        if self.running:
            return
        # a name lookup must not block the loop
        sock = await asyncio.to_thread(listening_socket, self.host, self.port)
        self.port = sock.getsockname()[1]
        limits = self.limits
        refusals = self.stats.refusals
        self.guard = ConnectionGuard(
            limits.request_timeout, socket_cap(limits.max_sockets), refusals
        )
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            http=guarded(self.guard),  # uvicorn's h11 protocol with a request deadline
            ws="none",  # no WebSocket upgrade, whatever happens to be installed: plain HTTP only
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            timeout_keep_alive=limits.keep_alive,
            timeout_graceful_shutdown=3,
            h11_max_incomplete_event_size=limits.max_header_bytes,
            limit_concurrency=None,  # uvicorn's counts idle sockets: the guard and the app cap instead
            backlog=2048,
        )
        unstored = self.stats.unstored

        def tick() -> None:
            refusals.flush()
            unstored.flush()

        self._server = _EmbeddedServer(config, tick)
        self._task = await start_serving(
            self._server, sock, "sendwatch-webhooks", "the webhook receiver"
        )

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let in-flight requests finish (bounded), then return."""
        if self._server is None or self._task is None:
            return
        self._server.wake()
        await stop_serving(self._server, self._task, timeout)
        await self.app.state.writer.aclose(timeout)
        self.stats.refusals.flush(force=True)
        self.stats.unstored.flush(force=True)
        self._task = None

    async def __aenter__(self) -> WebhookReceiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
