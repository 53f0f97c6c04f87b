"""`sendwatch poll [--listen [HOST:]PORT]`: the poller (and the webhook receiver) without a screen.

For a server or a container next to a team's shared history: it takes part in the election like a
dashboard (so it polls an account only while nobody else does), logs one line per notable event —
a lease won or lost, a provider's health changing (ok, slow, offline, auth rejected…), a message
failing, a poll loop restarting, stalled or slow, webhooks falling silent — and stops cleanly on
SIGTERM/SIGINT (exit 0). It exits non-zero when it cannot do its job: the store cannot be opened
(2), every provider rejected its key (4), the store has been unreachable for `STORE_GIVE_UP`
seconds (5), or the receiver cannot bind (5).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable

from tui.commands.output import fail
from tui.config import Settings
from tui.errors import SendwatchError
from tui.model import Provider, Status
from tui.polling.election import lease_for
from tui.polling.policy import LoopHealth, PollPolicy
from tui.polling.poller import Owner, Poller, PollUpdate
from tui.providers.budget import HealthState
from tui.providers.lookup import Providers
from tui.store import Store
from tui.store.changes import ChangeWatcher
from tui.store.open import describe as describe_store
from tui.store.open import open_store
from tui.textsafe import safe_text

log = logging.getLogger("sendwatch.poll")
WATCH_EVERY = (
    1.0  # seconds between checks of leases, health and webhook state (logged only when they change)
)
STORE_GIVE_UP = 300.0  # seconds of an unreachable store after which polling gives up (exit 5)
EXIT_KEYS_REJECTED = 4
EXIT_STORE_DOWN = 5


def run(settings: Settings, listen: tuple[str, int] | None = None) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("sendwatch").setLevel(
        logging.INFO
    )  # our lines; not every HTTP request of httpx
    if not settings.configured_providers():
        return fail("no provider is configured: set SENT_DM_API_KEY and/or SENDO_API_KEY", 2)
    try:
        store = open_store(settings)
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - e.g. an unreadable directory: one line, no traceback
        return fail(
            f"cannot open the history ({describe_store(settings)}): {exc.__class__.__name__}", 2
        )
    try:
        return asyncio.run(_serve(settings, store, listen))
    finally:
        store.close()


async def _serve(
    settings: Settings,
    store: Store,
    listen: tuple[str, int] | None,
    *,
    store_give_up: float = STORE_GIVE_UP,
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    providers = Providers(settings)
    policy = PollPolicy.from_settings(settings.polling)
    leases = {owner: lease_for(settings, store, owner) for owner in (*providers.clients, None)}
    poller = Poller(
        store,
        providers,
        policy,
        on_update=_log_update,
        on_error=lambda p, exc: log.warning(
            "%s: %s", _label(p), safe_text(str(exc), single_line=True)
        ),
        on_state=_log_loop_state,
        leases=leases,
    )
    receiver = None
    if listen is not None:
        from tui.commands.listen import describe_endpoints
        from tui.webhooks import WebhookCredentials, WebhookReceiver

        credentials = WebhookCredentials.from_settings(settings)
        receiver = WebhookReceiver(
            store, credentials, host=listen[0], port=listen[1], policy=policy
        )
        try:
            await receiver.start()
        except OSError as exc:
            await providers.aclose()
            return fail(
                f"cannot listen on {listen[0]}:{listen[1]}: {exc.strerror or type(exc).__name__}", 5
            )
        for line in describe_endpoints(receiver, credentials):
            log.info("%s", line.strip())
    log.info(
        "polling %s with history %s",
        ", ".join(p.label for p in providers.clients),
        safe_text(describe_store(settings), single_line=True),
    )
    task = asyncio.ensure_future(poller.run())
    watcher = asyncio.ensure_future(_watch(poller, providers, stop.is_set, store_give_up))
    stopping = asyncio.ensure_future(stop.wait())

    def wake(_: object) -> None:
        loop.call_soon_threadsafe(poller.wake)

    # work added by other instances (an import, a webhook's unknown message) wakes the poller at once
    changes = ChangeWatcher(store, wake).start()
    await asyncio.wait([stopping, watcher], return_when=asyncio.FIRST_COMPLETED)
    code = watcher.result() if watcher.done() else None
    log.info("stopping")
    poller.stop()
    await asyncio.gather(task, return_exceptions=True)
    for waiting in (watcher, stopping):
        waiting.cancel()
    await asyncio.gather(watcher, stopping, return_exceptions=True)
    changes.stop()
    if receiver is not None:
        await receiver.stop()
    await providers.aclose()
    log.info("stopped")
    return code or 0


def _label(provider: Provider | None) -> str:
    return provider.label if provider else "unknown-provider IDs"


def _log_update(update: PollUpdate) -> None:
    if update.changed and update.current is Status.FAILED:
        log.info("%s %s failed", update.provider.label, update.message_id)
    elif update.changed and update.previous is not None and update.previous is not update.current:
        log.info(
            "%s %s %s -> %s",
            update.provider.label,
            update.message_id,
            update.previous.value,
            update.current.value,
        )


def _log_loop_state(owner: Owner, health: LoopHealth) -> None:
    """One line per change of a poll loop's state; the first `running` goes unsaid."""
    if health.state == "running" and not health.restarts and health.reason == "":
        log.info("%s poll loop: running", _label(owner))
    elif health.state in ("running", "stopped"):
        log.info("%s poll loop: %s", _label(owner), health.state)
    else:
        log.warning(
            "%s poll loop: %s (%s)",
            _label(owner),
            health.state,
            safe_text(health.reason, single_line=True),
        )


async def _watch(
    poller: Poller, providers: Providers, stopping: Callable[[], bool], store_give_up: float
) -> int | None:
    """Log each change of who polls, of provider health and of webhook state: one line each.

    Returns an exit code when polling cannot do its job at all: every provider rejected its key
    (4), or the store has been unreachable for `store_give_up` seconds (5)."""
    seen: dict[str, str] = {}
    while not stopping():
        now = {f"lease {_label(o)}": s for o, s in poller.lease_state.items()}
        now |= {f"health {p.label}": _health_words(providers, p) for p in providers.clients}
        now |= {f"webhooks {p.label}": s for p, s in poller.push_state.items()}
        for key, value in now.items():
            if seen.get(key) != value:
                log.info("%s: %s", key, value)
                seen[key] = value
        states = [providers.health(p).state for p in providers.clients]
        if states and all(s is HealthState.AUTH_REJECTED for s in states):
            log.error("every configured provider rejected its API key: nothing can be polled")
            return EXIT_KEYS_REJECTED
        down = poller.store_down_since
        if down is not None and poller.clock() - down >= store_give_up:
            log.error("the history has been unreachable for %.0f s: giving up", store_give_up)
            return EXIT_STORE_DOWN
        await asyncio.sleep(WATCH_EVERY)
    return None


def _health_words(providers: Providers, provider: Provider) -> str:
    """`ok`, or a state with what it is about (`slow: answers cut off at the 30 s deadline`)."""
    health = providers.health(provider)
    if health.state is not HealthState.OK and health.detail:
        return f"{health.state.value}: {safe_text(health.detail, single_line=True)}"
    return health.state.value
