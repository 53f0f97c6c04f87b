"""`sendwatch listen`: receive status by webhook instead of (or on top of) polling.

Runs the receiver on its own until SIGINT/SIGTERM; the dashboard runs the same `WebhookReceiver`
inside its own loop (`sendwatch --listen [HOST:]PORT`). Prints which endpoints are served and
which are not (and why), never a secret.
"""

from __future__ import annotations

import asyncio
import signal
import time

from tui.commands.output import fail
from tui.config import Settings, is_loopback
from tui.errors import SendwatchError
from tui.model import Provider
from tui.observe.logs import LogFormat, banner, say, setup_logging
from tui.observe.metrics import Metrics
from tui.observe.scrub import secret_values
from tui.polling.policy import PollPolicy
from tui.store import ListFilter, Store
from tui.store.open import describe, open_store
from tui.webhooks.credentials import PATHS, WebhookCredentials
from tui.webhooks.server import WebhookReceiver, limits_for

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
_SETTING = {
    Provider.SENTDM: ("providers.sentdm.webhook_secret", "SENT_DM_WEBHOOK_SECRET"),
    Provider.SENDO: ("providers.sendo.webhook_token", "SENDO_WEBHOOK_TOKEN"),
}


def parse_listen(text: str, default_host: str = DEFAULT_HOST) -> tuple[str, int]:
    """`PORT`, `HOST:PORT` or `[IPv6]:PORT` -> (host, port). Raises ValueError with a usable message."""
    raw = text.strip()
    host, port_text = default_host, raw
    if raw.startswith("["):
        inside, sep, rest = raw[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(f"expected [IPv6]:PORT, got {raw[:60]!r}")
        host, port_text = inside, rest[1:]
    elif ":" in raw:
        host, _, port_text = raw.rpartition(":")
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"expected [HOST:]PORT with a port from 1 to 65535, got {raw[:60]!r}")
    if not host:
        raise ValueError(f"empty host in {raw[:60]!r}")
    return host, int(port_text)


def describe_endpoints(receiver: WebhookReceiver, credentials: WebhookCredentials) -> list[str]:
    """The lines `listen` prints at start (also usable by the dashboard's log/notification)."""
    lines = [
        f"Receiving webhooks on {receiver.base_url} "
        "(GET /healthz: alive, GET /readyz: ready, for a load balancer)."
    ]
    served = credentials.served()
    for provider in Provider:
        setting, env = _SETTING[provider]
        if provider in served:
            lines.append(f"  {provider.label:8} POST {receiver.base_url}{PATHS[provider]}")
        else:
            problem = next((p for p in credentials.problems if p.startswith(setting)), None)
            lines.append(
                f"  {provider.label:8} not served: "
                + (problem.removeprefix(setting + ": ") if problem else f"set {env} or {setting}")
            )
    if not is_loopback(receiver.host):
        lines.append(
            "  note: plain HTTP on a non-loopback address: put a TLS-terminating proxy in front."
        )
    return lines


def _open_history(settings: Settings) -> Store | None:
    """The history, or None after one line on stderr naming it and the cause (never a traceback)."""
    try:
        return open_store(settings)
    except SendwatchError as exc:  # already names the history and the cause
        fail(str(exc), 2)
    except OSError as exc:
        fail(f"cannot open the history {describe(settings)}: {exc.strerror or exc}", 2)
    except Exception as exc:  # noqa: BLE001 - a backend's own error (sqlite3 until the store wraps it)
        cause = str(exc).strip() or type(exc).__name__
        fail(f"cannot open the history {describe(settings)}: {cause}", 2)
    return None


def backlog_by_provider(store: Store) -> dict[Provider, int]:
    """Messages due for a poll now, per provider: the `sendwatch_poll_backlog_messages` gauge."""
    now = time.time()
    return {p: store.backlog(now, ListFilter(provider=p.value)) for p in Provider}


def run(
    settings: Settings,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    log_format: LogFormat = "text",
) -> int:
    """`sendwatch listen`: 0 after SIGINT/SIGTERM; 2 when no endpoint can be served or the history
    cannot be opened; 5 if it cannot bind. Every line it writes is in `log_format`."""
    setup_logging(log_format, secrets=secret_values(settings))
    credentials = WebhookCredentials.from_settings(settings)
    if not credentials.served():
        for problem in credentials.problems:
            fail(problem, 2)
        return fail(
            "no webhook credential configured: set SENT_DM_WEBHOOK_SECRET and/or SENDO_WEBHOOK_TOKEN "
            "(or webhook_secret / webhook_token in the config file)",
            2,
        )
    store = _open_history(settings)
    if store is None:
        return 2
    for warning in store.warnings:
        fail(warning, 0)
    metrics = Metrics()
    metrics.backlog_from(lambda: backlog_by_provider(store))
    receiver = WebhookReceiver(
        store,
        credentials,
        host=host,
        port=port,
        policy=PollPolicy.from_settings(settings.polling),
        limits=limits_for(settings),
        metrics=metrics,
    )

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await receiver.start()
        except OSError as exc:
            return fail(f"cannot listen on {host}:{port}: {exc.strerror or type(exc).__name__}", 5)
        banner(describe_endpoints(receiver, credentials), event="listening")
        say(f"Metrics: GET {receiver.base_url}/metrics (Prometheus).", event="listening")
        say("Ctrl+C stops it.", event="listening")
        try:
            await stop.wait()
        finally:
            await receiver.stop()
        stats = receiver.stats
        say(f"Stopped: {stats.summary()}.", event="stopped", received=stats.received)
        return 0

    try:
        return asyncio.run(main())
    finally:
        store.close()
