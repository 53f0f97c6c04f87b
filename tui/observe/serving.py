"""`GET /metrics` over HTTP: a route for the webhook receiver, a small server for `poll --metrics`.

The exposition is built in a worker thread (gauges may read the store), never on the event loop,
and within a deadline: a scrape that cannot be answered in time gets a 503 and the next scrape does
not start a second reader while the first is still stuck, so a slow store costs at most one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tui.observe.metrics import Metrics

METRICS_PATH = "/metrics"
HEALTH_PATH = "/healthz"
SCRAPE_TIMEOUT = 10.0  # seconds; Prometheus' default scrape_timeout is 10 s


class _Exposition:
    """One scrape at a time per registry, built in a thread, bounded by `timeout`."""

    def __init__(self, metrics: Metrics, timeout: float) -> None:
        self.metrics, self.timeout = metrics, timeout
        self._reading: asyncio.Future[bytes] | None = None

    async def handle(self, request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        if self._reading is not None and not self._reading.done():
            return PlainTextResponse("a scrape is still being read", status_code=503)
        loop = asyncio.get_running_loop()
        self._reading = reading = loop.run_in_executor(None, encoder, self.metrics.registry)
        reading.add_done_callback(_consume)  # a read that outlived its scrape may still fail
        try:
            body = await asyncio.wait_for(asyncio.shield(reading), self.timeout)
        except TimeoutError:
            return PlainTextResponse("metrics not read in time", status_code=503)
        except Exception as exc:  # noqa: BLE001 - a failed scrape is one answer, never a traceback
            return PlainTextResponse(f"metrics unavailable ({type(exc).__name__})", status_code=500)
        return Response(body, media_type=content_type)


def _consume(done: asyncio.Future[bytes]) -> None:
    if not done.cancelled():
        done.exception()


def metrics_route(metrics: Metrics, *, timeout: float = SCRAPE_TIMEOUT) -> Route:
    """`GET /metrics` for an existing Starlette app (the webhook receiver's route list)."""
    return Route(METRICS_PATH, _Exposition(metrics, timeout).handle, methods=["GET"])


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


def metrics_app(metrics: Metrics, *, timeout: float = SCRAPE_TIMEOUT) -> Starlette:
    """`GET /metrics` and `GET /healthz`, nothing else (for `poll --metrics`)."""
    return Starlette(
        routes=[
            metrics_route(metrics, timeout=timeout),
            Route(HEALTH_PATH, _healthz, methods=["GET"]),
        ]
    )


def http_base(host: str, port: int) -> str:
    """`http://host:port`, an IPv6 address in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, non-blocking TCP socket for uvicorn to serve on (`port` 0: a free one).

    Binding before serving makes an address in use an `OSError` for the caller. The name lookup
    may block: call this in a thread."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def start_serving(
    server: uvicorn.Server, sock: socket.socket, name: str, what: str
) -> asyncio.Task[None]:
    """Serve on `sock` as a task of the running loop; return once connections are accepted.
    A server that fails to start is a `RuntimeError` naming `what` (uvicorn may `sys.exit`)."""
    task = asyncio.create_task(server.serve(sockets=[sock]), name=name)
    while not server.started:
        if task.done():
            sock.close()
            try:
                task.result()
            except BaseException as exc:  # noqa: BLE001 - uvicorn may sys.exit on a startup failure
                raise RuntimeError(f"{what} did not start ({type(exc).__name__})") from None
            raise RuntimeError(f"{what} stopped while starting")
        await asyncio.sleep(0.005)
    return task


async def stop_serving(server: uvicorn.Server, task: asyncio.Task[None], timeout: float) -> None:
    """Wait (at most `timeout`) for a server told to exit, then force it; never raises."""
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout)
    except (TimeoutError, Exception):  # noqa: BLE001 - stopping must not raise
        server.force_exit = True
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 1.0)


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers: the host program owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class MetricsServer:
    """`metrics_app` served as a task of the running loop: `await start()` … `await stop()`.

    Binds before serving, so an address in use is an `OSError` for the caller (exit code 5 in
    `poll`), and `port=0` picks a free port (read `port` after `start`)."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        host: str = "127.0.0.1",
        port: int = 9464,
        timeout: float = SCRAPE_TIMEOUT,
    ) -> None:
        self.host, self.port = host, port
        self.app = metrics_app(metrics, timeout=timeout)
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return http_base(self.host, self.port)

    async def start(self) -> None:
        """Bind and serve in the background; returns once connections are accepted."""
        if self._task is not None:
            return
        # a name lookup must not block the loop
        sock = await asyncio.to_thread(listening_socket, self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            http="h11",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=2,
            limit_concurrency=16,
        )
        self._server = _QuietServer(config)
        self._task = await start_serving(
            self._server, sock, "sendwatch-metrics", "the metrics server"
        )

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, finish in-flight scrapes (bounded), then return; never raises."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await stop_serving(self._server, self._task, timeout)
        self._task = None

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
