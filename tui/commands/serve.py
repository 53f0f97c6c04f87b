"""`sendwatch serve [[HOST:]PORT] [--token T]`: the dashboard in a browser, through textual-serve.

textual-serve starts one `sendwatch` process per browser session (`sys.executable -m tui`, with
`--demo` or `--config` passed on) and relays its terminal over a websocket; the provider keys stay
in this server's environment and that process, never in a page or a websocket message.

Access: on a loopback address anyone who can reach the port already is on this machine, so no
token is needed unless one is given. Any other bind is never served without a token: one is
generated (like Jupyter) and printed in the URL (`…/?token=…`), or given with `--token`. The first
request carrying the right token gets a cookie (HttpOnly, SameSite=Strict) and is redirected to
the same page without the token, so the token leaves the address bar and the websocket carries
the cookie. A request without the token gets 401, a wrong one 403; tokens are compared in
constant time, and requests are not logged (the URL holds the token). The websocket also has to
come from the page's own origin, so another website open in the same browser cannot drive the
dashboard (cross-site websocket hijacking), token or not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import logging
import secrets
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from tui.commands.listen import parse_listen
from tui.commands.output import fail
from tui.config import Settings, is_loopback

DEFAULT_ADDRESS = "127.0.0.1:8000"
SESSION_EXIT_WAIT = 10.0  # seconds a closed session's dashboard gets to quit before it is killed
log = logging.getLogger("sendwatch.serve")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def token_required(host: str, public_url: str | None = None) -> bool:
    """A bind other than localhost or a loopback address is never served without a token; nor
    is a loopback bind that browsers reach through a proxy at a public URL."""
    if not is_loopback(host):
        return True
    public_host = urlsplit(public_url).hostname if public_url else None
    return public_host is not None and not is_loopback(public_host)


def choose_token(host: str, given: str | None, public_url: str | None = None) -> str | None:
    """The token to ask for: the given one, a fresh one where the bind needs one, else None."""
    if given:
        return given
    return secrets.token_urlsafe(32) if token_required(host, public_url) else None


def parse_address(text: str) -> tuple[str, int]:
    """`[[HOST:]PORT]` like `listen`'s, plus port 0: any free port (the printed URL says which)."""
    raw = text.strip()
    if raw == "0" or raw.endswith(":0"):
        host, _ = parse_listen(raw[:-1] + "1")
        return host, 0
    return parse_listen(raw)


def session_command(demo: bool, config: Path | None) -> str:
    """What textual-serve runs per browser session: this Python's `sendwatch`, shell-quoted."""
    argv = [sys.executable, "-m", "tui"]
    if config is not None:
        argv += ["--config", str(config)]
    if demo:
        argv.append("--demo")
    return shlex.join(argv)


class Session(AppService):
    """textual-serve's session, which also sees its dashboard process end.

    textual-serve asks the process to quit and returns at once; a server that serves for weeks
    must not collect processes, so this waits for the exit (and ends a process that ignores it).
    """

    async def stop(self) -> None:
        process = self._process  # textual-serve keeps the process here (no public accessor)
        await super().stop()
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), SESSION_EXIT_WAIT)
        except TimeoutError:
            if process.returncode is None:
                process.kill()
            await process.wait()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


class DashboardServer(Server):
    """textual-serve's server with the token check, an origin check and no request log."""

    def __init__(
        self,
        command: str,
        host: str,
        port: int,
        token: str | None,
        *,
        public_url: str | None = None,
        title: str = "sendwatch",
    ) -> None:
        super().__init__(command, host=host, port=port, title=title, public_url=public_url)
        self.token = token
        self.fixed_public_url = public_url
        self._runner: web.AppRunner | None = None
        self.sessions = 0  # browser sessions whose dashboard process is running

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One browser session: its own dashboard process, ended when the websocket closes.

        textual-serve's handler, with a session that waits for its process to exit."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        await websocket.prepare(request)  # not a websocket handshake: 400, no session
        self.sessions += 1
        session: Session | None = None
        try:

            async def close() -> None:
                await websocket.close()

            session = Session(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await session.start(width, height)
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # noqa: BLE001 - one broken session must not end the server
            log.warning("a browser session ended with %s", error.__class__.__name__)
        finally:
            if session is not None:
                await session.stop()
            self.sessions -= 1
        return websocket

    @property
    def cookie_name(self) -> str:
        # Cookies ignore ports: two servers on one host must not overwrite each other's.
        return f"sendwatch_token_{self.port}"

    def url(self) -> str:
        """Where to open the dashboard (with the token, when one is needed)."""
        if self.fixed_public_url:
            base = self.fixed_public_url.rstrip("/") + "/"
        else:
            host = f"[{self.host}]" if ":" in self.host else self.host
            base = f"http://{host}:{self.port}/"
        return base + (f"?{urlencode({'token': self.token})}" if self.token else "")

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints a banner here; `run` prints the one line a user needs instead."""

    def _base_url(self, request: web.Request) -> str:
        if self.fixed_public_url:
            return self.fixed_public_url.rstrip("/")
        return f"{request.scheme}://{request.host}"

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """textual-serve's page, with its URLs on the host the browser used (the cookie's host)."""
        base = self._base_url(request)
        scheme, rest = base.split(":", 1)
        return {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{'wss' if scheme == 'https' else 'ws'}:{rest}/ws",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }

    def _origin_ok(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser: it carries no other site's cookies either
        allowed = {request.host}
        if self.fixed_public_url:
            allowed.add(urlsplit(self.fixed_public_url).netloc)
        return urlsplit(origin).netloc in allowed

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/ws" and not self._origin_ok(request):
            return web.Response(status=403, text="websocket from another origin refused\n")
        if self.token is None:
            return await handler(request)
        given = request.query.get("token")
        if given is not None:
            if not _same(given, self.token):
                return web.Response(status=403, text="wrong token\n")
            if request.path == "/":
                query = {k: v for k, v in request.query.items() if k != "token"}
                # Relative: behind a proxy the page may live under a path of its own.
                target = "./" + (f"?{urlencode(query)}" if query else "")
                response = web.HTTPFound(target)
                response.set_cookie(
                    self.cookie_name,
                    self.token,
                    httponly=True,
                    samesite="Strict",
                    secure=request.secure or self._base_url(request).startswith("https:"),
                    path="/",
                )
                raise response
            return await handler(request)
        cookie = request.cookies.get(self.cookie_name)
        if cookie is None:
            return web.Response(
                status=401, text="token required: open the URL `sendwatch serve` printed\n"
            )
        if not _same(cookie, self.token):
            return web.Response(status=403, text="wrong token\n")
        return await handler(request)

    async def start(self) -> str:
        """Bind and serve (port 0: a free one); returns `url()`."""
        runner = web.AppRunner(await self._make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self.url()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "address",
        nargs="?",
        default=DEFAULT_ADDRESS,
        metavar="[HOST:]PORT",
        help=f"where to serve (default {DEFAULT_ADDRESS}; any other host than loopback needs a token)",
    )
    parser.add_argument(
        "--token",
        metavar="TOKEN",
        help="the access token to ask for (default: generated when the bind is not loopback)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, behind a reverse proxy (e.g. https://dash.example.com)",
    )


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The `serve` subcommand (called by tui/cli.py)."""
    parser = sub.add_parser(
        "serve", help="serve the dashboard in a browser (textual-serve)", parents=parents
    )
    _add_flags(parser)
    return parser


async def _serve(server: DashboardServer) -> None:
    url = await server.start()
    print(f"sendwatch: serving the dashboard at {url}", flush=True)
    print("sendwatch: one dashboard per browser tab; Ctrl+C stops", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def run(args: argparse.Namespace, settings: Settings | None) -> int:
    """Serve until SIGINT/SIGTERM. `settings` is unused: each session loads its own."""
    try:
        host, port = parse_address(args.address)
    except ValueError as exc:
        return fail(str(exc), 2)
    if args.token is not None and not args.token.strip():
        return fail("--token must not be empty", 2)
    if args.public_url is not None and urlsplit(args.public_url).scheme not in ("http", "https"):
        return fail("--public-url must be an http:// or https:// URL", 2)
    config = getattr(args, "config", None)
    command = session_command(bool(getattr(args, "demo", False)), config)
    server = DashboardServer(
        command,
        host,
        port,
        choose_token(host, args.token, args.public_url),
        public_url=args.public_url,
    )
    try:
        asyncio.run(_serve(server))
    except OSError as exc:
        return fail(f"cannot serve on {args.address}: {exc.strerror or exc}", 5)
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    """`sendwatch serve` on its own (tests, subprocesses)."""
    parser = argparse.ArgumentParser(prog="sendwatch serve")
    parser.add_argument("--config", type=Path, metavar="FILE")
    parser.add_argument("--demo", action="store_true")
    _add_flags(parser)
    return run(parser.parse_args(argv), None)


if __name__ == "__main__":
    sys.exit(main())
