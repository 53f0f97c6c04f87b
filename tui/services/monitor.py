"""Watching without a screen: the provider clients, the poller and its leases, the change watcher,
and an optional webhook receiver, started and stopped together, reporting through one sink.

The dashboard, `sendwatch poll` and `sendwatch wait` need the same composition; only what they do
with its news differs (a toast and a redrawn row, a log line, an exit code). So everything that
happens is a typed event handed to `on_event`, which is called on the monitor's event loop or from
a thread (the change watcher's) and must not block: the dashboard posts a Textual message, a
command logs a line. Long-running parts are coroutines the host runs and cancels as it likes
(`poll`, `keep_listing`), so a UI can run each in a worker of its own; `check` reports
health changes when called (`watch` calls it every second for hosts without a timer).

Heavy modules (httpx behind the providers) load in `start`, in a thread: a dashboard draws its
first frame before any of this exists.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.config import Settings
from tui.errors import (
    ConfigError,
    NotFoundError,
    RateLimitedError,
    SendwatchError,
    UnavailableError,
)
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.providers.budget import Health, HealthState
from tui.services.monitor_events import (
    AnswerStored,
    CampaignListingFailed,
    HealthChanged,
    LoopCrashed,
    OnEvent,
    PollFailed,
    Pushed,
    Receiver,
    ReceiverStarted,
    ReceiverUnavailable,
    StoreChanged,
    WatcherFailed,
)
from tui.store import Changes, Store

if TYPE_CHECKING:
    from tui.polling.policy import LoopHealth
    from tui.polling.poller import Poller, PollUpdate
    from tui.providers.lookup import Providers
    from tui.providers.sending import SendRequest, SendResult
    from tui.services.campaigns import TrackedCampaign
    from tui.services.lookup import LookupService
    from tui.services.reconcile import Reconciler
    from tui.store.changes import ChangeWatcher


@dataclass(frozen=True)
class ProviderState:
    """One provider as the status line tells it: health, who polls the account, the loop, webhooks."""

    health: Health
    lease: str = ""  # "polling here" / "polled by host:pid" / "" (not elected)
    loop: LoopHealth | None = None
    push: str | None = None  # "flowing" / "silent" / None (no webhooks seen)
    #: what the webhook reconciler says of the provider's deliveries ("" when all is well)
    delivery: str = ""


#: how long `stop` waits for the poll loops to wind down before releasing their leases anyway
STOP_WAIT = 5.0
#: how long a send or a campaign listing asked for during start-up waits for the clients
READY_WAIT = 30.0


def _load_engine() -> tuple[type[Providers], type[Poller]]:
    """The provider clients' and the poller's classes (importing them loads httpx): in a thread."""
    providers: type[Providers] = importlib.import_module("tui.providers.lookup").Providers
    poller: type[Poller] = importlib.import_module("tui.polling.poller").Poller
    return providers, poller


class Monitor:
    """The engine of a watching instance: `await start()`, run `poll()`, `check()` now and then,
    `await stop()`.

    `polling=False` keeps the providers (lookups, refreshes, sends) without the poll loops.
    `elect`: share polling with other instances on the same history (one poller per account).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        on_event: OnEvent,
        clock: Callable[[], float] = time.time,
        polling: bool = True,
        elect: bool = True,
        receiver: Receiver | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.on_event = on_event
        self.clock = clock
        self.polling = polling
        self.elect = elect
        self.receiver = receiver
        self.policy = PollPolicy.from_settings(settings.polling)
        self.providers: Providers | None = None
        self.poller: Poller | None = None
        self.watcher: ChangeWatcher | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._health: dict[Provider, HealthState] = {}
        self._watcher_errors = 0
        self._receiving = False
        self._polling: asyncio.Task[object] | None = None
        self.reconciler: Reconciler | None = None
        self._reconciling: asyncio.Future[None] | None = None
        self._ready = asyncio.Event()

    @property
    def ready(self) -> bool:
        """The provider clients exist: lookups, refreshes and sends can go out."""
        return self.providers is not None

    async def wait_ready(self, timeout: float) -> bool:
        """Wait (at most `timeout` seconds) for `start` to have created the provider clients."""
        if not self.ready:
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                pass
        return self.ready

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self, since: int | None = None) -> None:
        """Create the clients and the poller, start watching other instances' writes (from
        revision `since`, the one the caller's view was read at) and the receiver, if any."""
        from tui.polling.election import leases_for

        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        providers_class, poller_class = await asyncio.to_thread(_load_engine)
        providers = providers_class(self.settings)
        leases = leases_for(self.settings, self.store, providers.accounts) if self.elect else {}
        self.poller = poller_class(
            self.store,
            providers,
            self.policy,
            on_update=self._answered,
            on_error=self._poll_failed,
            on_crash=lambda owner, error: self.on_event(
                LoopCrashed(owner.provider if owner else None, error)
            ),
            clock=self.clock,
            leases=leases,
        )
        self.providers = providers
        self._ready.set()
        self._health = {p: providers.health(p).state for p in Provider}
        await asyncio.to_thread(self._start_watcher, since)
        if self.receiver is not None:
            await self._start_receiver(self.receiver)

    async def stop(self) -> None:
        """Stop everything; safe to call twice, or before `start`. The leases are released here
        too: a host that cancels `poll()` more than once may cut the poller's own release short."""
        if self._stopping is not None:
            self._stopping.set()
        if self.poller is not None:
            self.poller.stop()
            polling = self._polling
            if polling is not None and not polling.done():
                await asyncio.wait([polling], timeout=STOP_WAIT)
            leases = list(self.poller.leases.values())
            await asyncio.shield(asyncio.to_thread(lambda: [lease.release() for lease in leases]))
        if self.watcher is not None:
            self.watcher.stop()
        if self._reconciling is not None:  # told to stop by `_stopping`; a log page is bounded
            await asyncio.wait([self._reconciling], timeout=STOP_WAIT)
        if self.receiver is not None and self._receiving:
            self._receiving = False
            await self.receiver.stop()
        if self.providers is not None:
            providers, self.providers = self.providers, None
            await providers.aclose()

    # -- long-running parts (the host runs them) --------------------------------------------------
    async def poll(self) -> None:
        """The poll loops, until `stop()`; returns at once when not polling or nothing is configured."""
        if self.polling and self.poller is not None and self.poller.providers.clients:
            self._polling = asyncio.current_task()
            await self.poller.run()

    async def watch(self, every: float = 1.0) -> None:
        """`check` every `every` seconds until `stop()` (hosts without a timer of their own)."""
        stopping = self._stopping
        while stopping is not None and not stopping.is_set():
            self.check()
            try:
                await asyncio.wait_for(stopping.wait(), timeout=every)
            except TimeoutError:
                pass

    async def keep_listing(self, campaign_id: str, name: str | None, every: float = 60.0) -> None:
        """List a Sendo campaign again and again until `stop()`, so messages sent later join it.
        Raises `SendwatchError` at once for a bad ID or without a Sendo key."""
        from tui.services.campaigns import sendo_discovery

        if self.providers is None or self._stopping is None:
            raise ConfigError("not started")
        discovery = sendo_discovery(
            self.providers, self.store, self.policy, campaign_id, name, clock=self.clock
        )
        await discovery.run(
            every=every,
            stop=self._stopping,
            on_error=lambda error: self.on_event(
                CampaignListingFailed(discovery.campaign_id, error)
            ),
        )

    # -- what the host asks ---------------------------------------------------------------------
    def wake(self) -> None:
        """New work (an import, a send, a lookup): the poller looks for due messages now."""
        if self.poller is not None:
            self.poller.wake()

    async def set_focus(self, selected: str | None, visible: Iterable[str]) -> None:
        """What the user looks at: polled more often, within the screen's share of the budget."""
        if self.polling and self.poller is not None:
            await self.poller.set_focus(selected, visible)

    def health(self, provider: Provider) -> Health:
        if self.providers is None:
            configured = provider in self.settings.configured_providers()
            return Health(HealthState.UNKNOWN if configured else HealthState.NOT_CONFIGURED)
        return self.providers.health(provider)

    def provider_state(self, provider: Provider) -> ProviderState:
        """The provider as a whole: its worst account's health; the lease and loop of its first
        account (the one that also polls messages of no recorded account)."""
        poller = self.poller
        if poller is None:
            return ProviderState(self.health(provider))
        first = self.providers.clients.get(provider) if self.providers else None
        owner = first.account if first is not None else None
        return ProviderState(
            self.health(provider),
            poller.lease_state.get(owner, "") if owner else "",
            poller.loop_health.get(owner) if owner else None,
            poller.push_state.get(provider),
            self.reconciler.status if self.reconciler and provider is Provider.SENTDM else "",
        )

    def account_health(self, provider: Provider) -> list[tuple[str, Health]]:
        """Each of the provider's accounts by name, with its own health (budgets are per account)."""
        if self.providers is None:
            return []
        return [(c.account.name, c.budget.health) for c in self.providers.of(provider)]

    def request_rate(self) -> float:
        """Requests per second the providers allow right now (what catching up is paced by)."""
        return self.providers.request_rate() if self.providers is not None else 0.0

    def check(self) -> None:
        """Report each provider whose health changed state since the last check, and a change
        watcher whose errors keep growing. Cheap (memory only): call it about once a second."""
        if self.providers is None:
            return
        for provider in Provider:
            health = self.providers.health(provider)
            before = self._health.get(provider, health.state)
            self._health[provider] = health.state
            if health.state is not before:
                self.on_event(HealthChanged(provider, before, health))
        watcher = self.watcher
        if watcher is not None and watcher.errors > self._watcher_errors:
            self._watcher_errors = watcher.errors
            self.on_event(WatcherFailed(None, watcher.errors))

    def lookup_service(self) -> LookupService:
        """The lookup/refresh path shared with `sendwatch get` (raises `ConfigError` before start)."""
        from tui.services.lookup import LookupService

        if self.providers is None:
            raise ConfigError("the provider clients are not ready yet")
        return LookupService(self.providers, self.store, self.policy, clock=self.clock)

    async def send(
        self, provider: Provider, req: SendRequest, account: str | None = None
    ) -> SendResult:
        """Send (from `account`, by name; None: the provider's first), record the new messages in
        history, and poll them soon."""
        from tui.services.send import send

        if not await self.wait_ready(READY_WAIT) or self.providers is None:
            raise ConfigError("the provider clients did not start")
        result = await send(self.providers, provider, req, self.store, account=account)
        self.wake()
        return result

    async def track_campaign(self, campaign_id: str, name: str | None = None) -> TrackedCampaign:
        """List a Sendo campaign once (its messages tracked and recorded), then poll them."""
        from tui.services.campaigns import track_sendo_campaign

        if not await self.wait_ready(READY_WAIT) or self.providers is None:
            raise ConfigError("the provider clients did not start")
        tracked = await track_sendo_campaign(
            self.providers, self.store, self.policy, campaign_id, name, clock=self.clock
        )
        self.wake()
        return tracked

    def pushed(self, applied: Pushed) -> None:
        """The receiver stored a push (`on_applied`): reported like a poll answer."""
        previous = applied.outcome.previous if applied.outcome is not None else applied.status
        self.on_event(AnswerStored(applied.message_id, previous, applied.status, pushed=True))

    # -- inside ---------------------------------------------------------------------------------
    def _answered(self, update: PollUpdate) -> None:
        self.on_event(AnswerStored(update.message_id, update.previous, update.current))

    def _poll_failed(self, provider: Provider | None, error: SendwatchError) -> None:
        clients = self.providers.of(provider) if self.providers and provider else []
        passing = isinstance(error, (UnavailableError, RateLimitedError, NotFoundError))
        needs_user = not passing or any(c.budget.circuit_open for c in clients)
        self.on_event(PollFailed(provider, error, needs_user))

    def _start_watcher(self, since: int | None) -> None:
        """In a thread (it reads the store): changes reach `on_event` from the watcher's thread."""
        from tui.store.changes import ChangeWatcher

        loop = self._loop

        def changed(changes: Changes) -> None:
            if loop is not None and not loop.is_closed():
                # another instance may have added work (an import, a webhook's new message)
                loop.call_soon_threadsafe(self.wake)
            self.on_event(StoreChanged(changes))

        try:
            self.watcher = ChangeWatcher(self.store, changed, since=since).start()
        except Exception as exc:  # noqa: BLE001 - others' changes are a bonus: never fatal
            self.on_event(WatcherFailed(exc))

    async def _start_receiver(self, receiver: Receiver) -> None:
        try:
            await receiver.start()
        except (OSError, RuntimeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.on_event(
                ReceiverUnavailable(
                    f"cannot listen on {receiver.base_url} ({why or type(exc).__name__})"
                )
            )
            return
        self._receiving = True
        self.on_event(ReceiverStarted(receiver.base_url))
        self._start_reconciler()

    def _start_reconciler(self) -> None:
        """Receiving webhooks while polling: read Sent.dm's delivery log every minute and have
        the messages of failed deliveries polled (services/reconcile.py, 2 % of the budget)."""
        from tui.services.reconcile import reconciler_for

        if not self.polling or self.providers is None or self._stopping is None:
            return
        self.reconciler = reconciler_for(self.store, self.providers, self.policy)
        if self.reconciler is not None:
            self._reconciling = asyncio.ensure_future(self.reconciler.run_forever(self._stopping))
