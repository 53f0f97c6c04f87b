"""`sendwatch poll [--listen [HOST:]PORT]`: the poller (and the webhook receiver) without a screen.

For a server or a container next to a team's shared history: it takes part in the election like a
dashboard (so it polls an account only while nobody else does), logs one line per notable event —
a lease won or lost, a provider's health changing (ok, slow, offline, auth rejected…), a message
failing, a poll loop restarting, stalled or slow, webhooks falling silent — and stops cleanly on
SIGTERM/SIGINT (exit 0). With `--log-format json` every line is one JSON object; `--metrics
[HOST:]PORT` serves Prometheus metrics (also on the `--listen` port), and `GET /readyz` on either
answers 503 while a poll loop is stalled, restarting or stopped, or every key was rejected. Alert
rules are evaluated about once a second while this instance polls. It exits non-zero when it cannot do its job: the store cannot be opened
(2), every provider rejected its key (4), the store has been unreachable for `STORE_GIVE_UP`
seconds (5), or the receiver cannot bind (5).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from tui.alerts.engine import AlertEngine
from tui.alerts.hooks import polls_here, provider_health
from tui.alerts.settings import AlertSettings, default_settings
from tui.commands.listen import backlog_by_provider
from tui.commands.output import fail, open_history
from tui.config import Settings
from tui.config_accounts import DEFAULT_ACCOUNT, Account
from tui.model import Provider, Status
from tui.observe.logs import LogFormat, log_event, setup_logging
from tui.observe.metrics import Metrics, outcome_for_status
from tui.observe.scrub import secret_values
from tui.observe.serving import MetricsServer
from tui.polling.election import leases_for
from tui.polling.policy import LoopHealth, PollPolicy
from tui.polling.poller import Owner, Poller, PollUpdate
from tui.providers.base import ProviderClient
from tui.providers.budget import HealthState
from tui.providers.lookup import Providers
from tui.store import Store
from tui.store.changes import ChangeWatcher
from tui.store.lease import Lease
from tui.store.open import describe as describe_store
from tui.textsafe import safe_text
from tui.webhooks.handlers import readyz_route
from tui.webhooks.readiness import Readiness

log = logging.getLogger("sendwatch.poll")
_WATCHED = {"lease": "lease_changed", "health": "provider_health", "webhooks": "webhooks_state"}
ALERT_EVERY = 1.0  # seconds between alert ticks (the engine scans the store at its own interval)
#: Loop states in which this instance is not doing its job (`slow` still polls: ready).
NOT_READY = frozenset({"stalled", "restarting", "stopped"})
WATCH_EVERY = (
    1.0  # seconds between checks of leases, health and webhook state (logged only when they change)
)
STORE_GIVE_UP = 300.0  # seconds of an unreachable store after which polling gives up (exit 5)
EXIT_KEYS_REJECTED = 4
EXIT_STORE_DOWN = 5


def run(
    settings: Settings,
    listen: tuple[str, int] | None = None,
    metrics_at: tuple[str, int] | None = None,
    log_format: LogFormat = "text",
) -> int:
    setup_logging(log_format, secrets=secret_values(settings))
    if not settings.configured_providers():
        return fail("no provider is configured: set SENT_DM_API_KEY and/or SENDO_API_KEY", 2)
    store = open_history(settings, unexpected_exit=2)
    if isinstance(store, int):
        return store
    try:
        return asyncio.run(_serve(settings, store, listen, metrics_at=metrics_at))
    finally:
        store.close()


async def _serve(
    settings: Settings,
    store: Store,
    listen: tuple[str, int] | None,
    *,
    metrics_at: tuple[str, int] | None = None,
    store_give_up: float = STORE_GIVE_UP,
    alerts: AlertSettings | None = None,
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    providers = Providers(settings)
    policy = PollPolicy.from_settings(settings.polling)
    leases = leases_for(settings, store, providers.accounts)
    metrics = _metrics_for(store, providers, leases)

    def on_update(update: PollUpdate) -> None:
        if update.message is not None:
            metrics.message_recorded(update.message, update.previous, update.current)
        _log_update(update)

    poller = Poller(
        store,
        providers,
        policy,
        on_update=on_update,
        on_error=lambda p, exc: log_event(
            log,
            "provider_error",
            level=logging.WARNING,
            message=f"{_label(p)}: {safe_text(str(exc), single_line=True)}",
            provider=_key(p),
            error=str(exc),
        ),
        on_state=_log_loop_state,
        leases=leases,
    )
    readiness = Readiness(store)
    readiness.add("polling", loops_problem(poller, providers))
    receiver = None
    if listen is not None:
        from tui.commands.listen import describe_endpoints
        from tui.webhooks import WebhookCredentials, WebhookReceiver
        from tui.webhooks.server import limits_for

        credentials = WebhookCredentials.from_settings(settings)
        receiver = WebhookReceiver(
            store,
            credentials,
            host=listen[0],
            port=listen[1],
            policy=policy,
            limits=limits_for(settings),
            metrics=metrics,
            readiness=readiness,
        )
        try:
            await receiver.start()
        except OSError as exc:
            await providers.aclose()
            return fail(
                f"cannot listen on {listen[0]}:{listen[1]}: {exc.strerror or type(exc).__name__}", 5
            )
        for line in describe_endpoints(receiver, credentials):
            log_event(log, "listening", message=line.strip(), url=receiver.base_url)
    server = None
    if metrics_at is not None:
        server = MetricsServer(metrics, host=metrics_at[0], port=metrics_at[1])
        server.app.router.routes.append(readyz_route(readiness))
        try:
            await server.start()
        except (OSError, RuntimeError) as exc:
            if receiver is not None:
                await receiver.stop()
            await providers.aclose()
            cause = exc.strerror if isinstance(exc, OSError) else None
            return fail(
                f"cannot serve metrics on {metrics_at[0]}:{metrics_at[1]}: "
                f"{cause or type(exc).__name__}",
                5,
            )
        log_event(log, "metrics_listening", message=f"metrics: GET {server.base_url}/metrics")
    log_event(
        log,
        "polling_started",
        message=f"polling {', '.join(p.label for p in providers.clients)} with history "
        + safe_text(describe_store(settings), single_line=True),
        providers=[p.value for p in providers.clients],
        history=describe_store(settings),
    )
    engine = AlertEngine.for_settings(
        store,
        settings,
        alerts or getattr(settings, "alerts", None) or default_settings(),
        should_evaluate=polls_here(poller),
    )
    engine.provider_health = provider_health(providers)
    task = asyncio.ensure_future(poller.run())
    watcher = asyncio.ensure_future(_watch(poller, providers, stop.is_set, store_give_up))
    alerting = asyncio.ensure_future(_alert(engine, stop.is_set))
    stopping = asyncio.ensure_future(stop.wait())
    reconciling = _reconcile(settings, store, providers, receiver, stop)

    def wake(_: object) -> None:
        loop.call_soon_threadsafe(poller.wake)

    # work added by other instances (an import, a webhook's unknown message) wakes the poller at once
    changes = ChangeWatcher(store, wake).start()
    await asyncio.wait([stopping, watcher], return_when=asyncio.FIRST_COMPLETED)
    code = watcher.result() if watcher.done() else None
    log_event(log, "stopping")
    poller.stop()
    await asyncio.gather(task, return_exceptions=True)
    background: list[asyncio.Future[Any]] = [watcher, stopping, alerting, *reconciling]
    for waiting in background:
        waiting.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    changes.stop()
    if receiver is not None:
        await receiver.stop()
    if server is not None:
        await server.stop()
    await providers.aclose()
    await asyncio.to_thread(engine.close)
    log_event(log, "stopped", exit_code=code or 0)
    return code or 0


def _metrics_for(store: Store, providers: Providers, leases: dict[Owner, Lease]) -> Metrics:
    """Counters fed by the providers' requests; gauges read at scrape time (in its thread)."""
    metrics = Metrics(accounts=[a.name for a in providers.accounts])

    def counting(account: str) -> Callable[[Provider, int | str, float], None]:
        def on_request(provider: Provider, answer: int | str, seconds: float) -> None:
            outcome = outcome_for_status(answer) if isinstance(answer, int) else answer
            metrics.provider_request(provider, outcome, seconds, account=account)

        return on_request

    for account, client in providers.accounts.items():
        client.on_request = counting(account.name)
    metrics.backlog_from(lambda: backlog_by_provider(store))
    metrics.rate_limit_from(lambda: {a: c.budget.tokens for a, c in providers.accounts.items()})
    metrics.leases_from(lambda: {owner: lease.held for owner, lease in leases.items()})
    return metrics


def loops_problem(poller: Poller, providers: Providers) -> Callable[[], str | None]:
    """`/readyz`'s poll check: None while every loop runs (or stands by for a lease), else why not."""

    def check() -> str | None:
        if providers.all_rejected():
            return "every provider rejected its API key"
        if poller.store_down_since is not None:
            return "the history is unreachable"
        bad = [
            f"{_label(owner)} loop {health.state}"
            for owner, health in poller.loop_health.items()
            if health.state in NOT_READY
        ]
        return ", ".join(bad) or None

    return check


async def _alert(engine: AlertEngine, stopping: Callable[[], bool]) -> None:
    """Tick the alert engine about once a second, off the event loop; log each transition."""
    while not stopping():
        try:
            result = await asyncio.to_thread(engine.tick, time.time())
        except Exception as exc:  # noqa: BLE001 - alerting must never stop polling
            log_event(log, "alert_error", level=logging.WARNING, error=type(exc).__name__)
        else:
            for t in result.transitions:
                log_event(
                    log,
                    f"alert_{t.state}",
                    level=logging.WARNING if t.state == "firing" else logging.INFO,
                    message=t.payload()["text"],
                    rule=t.rule.name,
                    provider=t.provider,
                    value=round(t.value, 3),
                )
        await asyncio.sleep(ALERT_EVERY)


def _key(owner: Account | Provider | None) -> str:
    if isinstance(owner, Account):
        owner = owner.provider
    return owner.value if owner else "unknown"


def _label(owner: Account | Provider | None) -> str:
    """`Sent.dm`, `Sent.dm eu` (a named account), or the loop of IDs of no known provider."""
    if isinstance(owner, Account):
        named = owner.name != DEFAULT_ACCOUNT
        return f"{owner.provider.label} {owner.name}" if named else owner.provider.label
    return owner.label if owner else "unknown-provider IDs"


def _log_update(update: PollUpdate) -> None:
    who = f"{update.provider.label} {update.message_id}"
    fields: dict[str, Any] = {"provider": update.provider.value, "id": update.message_id}
    if update.changed and update.current is Status.FAILED:
        log_event(log, "message_failed", message=f"{who} failed", **fields)
    elif update.changed and update.previous is not None and update.previous is not update.current:
        log_event(
            log,
            "status_changed",
            message=f"{who} {update.previous.value} -> {update.current.value}",
            previous=update.previous.value,
            status=update.current.value,
            **fields,
        )


def _log_loop_state(owner: Owner, health: LoopHealth) -> None:
    """One line per change of a poll loop's state."""
    fields: dict[str, Any] = {"provider": _key(owner), "state": health.state}
    if owner is not None:
        fields["account"] = owner.name
    if health.state in ("running", "stopped"):
        text = f"{_label(owner)} poll loop: {health.state}"
        log_event(log, "poll_loop_state", message=text, **fields)
    else:
        reason = safe_text(health.reason, single_line=True)
        text = f"{_label(owner)} poll loop: {health.state} ({reason})"
        log_event(
            log, "poll_loop_state", level=logging.WARNING, message=text, reason=reason, **fields
        )


def _reconcile(
    settings: Settings,
    store: Store,
    providers: Providers,
    receiver: object | None,
    stop: asyncio.Event,
) -> list[asyncio.Future[None]]:
    """With the receiver running and Sent.dm configured: read Sent.dm's delivery log every minute
    and have the messages of failed deliveries polled, within 2 % of the budget (reconcile.py)."""
    from tui.services.reconcile import reconciler_for

    reconciler = reconciler_for(store, providers, PollPolicy.from_settings(settings.polling))
    if receiver is None or reconciler is None:
        return []

    async def run() -> None:
        said = ""
        rounds = asyncio.ensure_future(reconciler.run_forever(stop))
        while not rounds.done():
            await asyncio.wait([rounds], timeout=WATCH_EVERY)
            if reconciler.status != said:
                said = reconciler.status
                log_event(log, "webhook_reconcile", message=said or "webhook deliveries: no gap")
        await rounds

    return [asyncio.ensure_future(run())]


async def _watch(
    poller: Poller, providers: Providers, stopping: Callable[[], bool], store_give_up: float
) -> int | None:
    """Log each change of who polls, of provider health and of webhook state: one line each.

    Returns an exit code when polling cannot do its job at all: every provider rejected its key
    (4), or the store has been unreachable for `store_give_up` seconds (5)."""
    seen: dict[str, str] = {}
    while not stopping():
        now = {f"lease {_label(o)}": s for o, s in poller.lease_state.items()}
        now |= {f"health {_label(a)}": _health_words(c) for a, c in providers.accounts.items()}
        now |= {f"webhooks {p.label}": s for p, s in poller.push_state.items()}
        for key, value in now.items():
            if seen.get(key) != value:
                kind, _, who = key.partition(" ")
                log_event(log, _WATCHED[kind], message=f"{key}: {value}", who=who, state=value)
                seen[key] = value
        if providers.all_rejected():  # one account's key refused leaves the others polling
            log_event(
                log,
                "keys_rejected",
                level=logging.ERROR,
                message="every configured provider rejected its API key: nothing can be polled",
            )
            return EXIT_KEYS_REJECTED
        down = poller.store_down_since
        if down is not None and poller.clock() - down >= store_give_up:
            log_event(
                log,
                "store_unreachable",
                level=logging.ERROR,
                message=f"the history has been unreachable for {store_give_up:.0f} s: giving up",
            )
            return EXIT_STORE_DOWN
        await asyncio.sleep(WATCH_EVERY)
    return None


def _health_words(client: ProviderClient) -> str:
    """`ok`, or a state with what it is about (`slow: answers cut off at the 30 s deadline`)."""
    health = client.budget.health
    if health.state is not HealthState.OK and health.detail:
        return f"{health.state.value}: {safe_text(health.detail, single_line=True)}"
    return health.state.value
