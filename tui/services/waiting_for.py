"""`sendwatch wait`'s use case: keep a set of messages fresh until every one is final, or time runs out.

It is `sendwatch poll` with an end condition: the same `Poller` (joining the one-poller-per-account
election, so a wait next to a dashboard on the same history does not double the requests), plus a
`ChangeWatcher` so a wait on a history that another instance polls still sees every answer at once.

"Final" here is what the poller considers final (no next poll), except that a delivery counts as
final even where a read receipt could still follow: waiting is about delivery, not about reads.
Delivery % = (delivered + read) / total; failed % = failed / total.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tui.config import Settings
from tui.errors import AuthError, SendwatchError, StoreError, UnavailableError
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.election import leases_for
from tui.polling.policy import PollPolicy
from tui.polling.poller import Poller
from tui.providers.budget import HealthState
from tui.providers.lookup import Providers
from tui.store import ListFilter, Row, Store
from tui.store.changes import ChangeWatcher

#: statuses that end a wait whatever the poller still plans (a delivered WhatsApp may still be read)
SETTLED_FOR_WAITING = frozenset({"delivered", "read", "failed", "cancelled", "received"})
CHECK_EVERY = 1.0  # seconds between progress reads when nothing woke the waiter earlier
PAGE = 2000  # rows per read of a campaign


def is_final_for_waiting(row: Row) -> bool:
    """Answered at least once, and either settled or never to be polled again (the policy gave up)."""
    if row.last_polled is None:
        return False
    return row.status in SETTLED_FOR_WAITING or row.next_poll is None


def _shown_status(row: Row) -> str:
    return row.status if row.last_polled is not None else "waiting"


@dataclass(frozen=True)
class Progress:
    """Where the awaited messages stand right now."""

    total: int
    final: int
    by_status: dict[str, int]
    #: the messages not final yet, as `provider:id` (or the bare ID while its provider is unknown)
    pending: tuple[str, ...] = ()
    #: providers of the pending messages; None stands for "not known yet" (any configured one)
    pending_providers: frozenset[Provider | None] = frozenset()

    @property
    def all_final(self) -> bool:
        return self.final == self.total

    @property
    def delivered(self) -> int:
        return self.by_status.get("delivered", 0) + self.by_status.get("read", 0)

    @property
    def failed(self) -> int:
        return self.by_status.get("failed", 0)

    @property
    def delivered_pct(self) -> float:
        return 100.0 * self.delivered / self.total if self.total else 0.0

    @property
    def failed_pct(self) -> float:
        return 100.0 * self.failed / self.total if self.total else 0.0


def progress_of(rows: Iterable[Row]) -> Progress:
    total = final = 0
    by_status: dict[str, int] = {}
    pending: list[str] = []
    owners: set[Provider | None] = set()
    for row in rows:
        total += 1
        status = _shown_status(row)
        by_status[status] = by_status.get(status, 0) + 1
        if is_final_for_waiting(row):
            final += 1
            continue
        owner = Provider(row.provider) if row.provider in ("sentdm", "sendo") else None
        owners.add(owner)
        pending.append(str(MessageRef(row.id, owner)))
    return Progress(total, final, by_status, tuple(pending), frozenset(owners))


def read_progress(store: Store, ids: Sequence[str] | None, campaign: str | None) -> Progress:
    """Progress of these IDs, or of every message of the campaign (read in pages)."""
    if ids is not None:
        return progress_of(row for mid in ids if (row := store.row(mid)) is not None)
    flt = ListFilter(campaign=campaign)
    rows: list[Row] = store.page(flt, 0, PAGE)
    collected = list(rows)
    while len(rows) == PAGE:
        rows = store.page_after(flt, rows[-1], PAGE)
        collected += rows
    return progress_of(collected)


@dataclass(frozen=True)
class Thresholds:
    """`--min-delivered` and `--max-failed`, in percent of all awaited messages."""

    min_delivered: float | None = None
    max_failed: float | None = None

    def hold(self, progress: Progress) -> bool:
        if self.min_delivered is not None and progress.delivered_pct < self.min_delivered:
            return False
        return self.max_failed is None or progress.failed_pct <= self.max_failed


@dataclass(frozen=True)
class WaitResult:
    progress: Progress
    met: bool
    timed_out: bool
    elapsed: float
    #: why the wait ended early or could not make progress: an AuthError (4) or a provider/store failure (5)
    failure: SendwatchError | None = None

    @property
    def exit_code(self) -> int:
        """0 all final and thresholds hold; 1 a threshold missed; 6 timeout; 4 auth; 5 provider/store."""
        if self.failure is not None:
            return self.failure.exit_code
        if self.timed_out:
            return 6
        return 0 if self.met else 1


@dataclass
class Waiter:
    """Poll (while elected) and watch the history until the awaited messages are all final."""

    settings: Settings
    store: Store
    refs: Sequence[MessageRef] = ()
    campaign: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    timeout: float | None = None
    on_progress: Callable[[Progress, float], None] = lambda progress, elapsed: None
    #: called (in a thread) after each progress read with the wall time and whether it is the last
    #: one (the wait ends): the alert engine's tick
    on_tick: Callable[[float, bool], None] = lambda now, last: None
    clock: Callable[[], float] = time.monotonic
    check_every: float = CHECK_EVERY

    def __post_init__(self) -> None:
        self.poller: Poller | None = None
        self.providers: Providers | None = None

    def polling_here(self) -> bool:
        """True while this instance holds at least one account's lease (alerts are evaluated here)."""
        if self.poller is None:
            return False
        return any(state == "polling here" for state in self.poller.lease_state.values())

    async def run(self) -> WaitResult:
        started = self.clock()
        ids = [r.id for r in self.refs] if self.refs else None
        try:
            if self.refs:
                await asyncio.to_thread(self.store.track, self.refs)
        except SendwatchError as exc:
            return WaitResult(Progress(0, 0, {}), False, False, 0.0, exc)
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        providers = Providers(self.settings)
        self.providers = providers
        task: asyncio.Future[None] | None = None
        if providers.clients:
            policy = PollPolicy.from_settings(self.settings.polling)
            # one lease per account, as the dashboard and `poll` elect (tui/polling/election.py)
            leases = leases_for(self.settings, self.store, providers.accounts)
            self.poller = Poller(
                self.store, providers, policy, on_update=lambda _: woken.set(), leases=leases
            )
            task = asyncio.ensure_future(self.poller.run())

        def changed(_: object) -> None:
            loop.call_soon_threadsafe(woken.set)

        watcher = ChangeWatcher(self.store, changed).start()
        try:
            return await self._until_final(started, ids, woken, providers)
        finally:
            watcher.stop()
            if self.poller is not None:
                self.poller.stop()
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
            await providers.aclose()

    async def _until_final(
        self,
        started: float,
        ids: list[str] | None,
        woken: asyncio.Event,
        providers: Providers,
    ) -> WaitResult:
        while True:
            woken.clear()
            elapsed = self.clock() - started
            try:
                progress = await asyncio.to_thread(read_progress, self.store, ids, self.campaign)
            except SendwatchError as exc:
                return WaitResult(Progress(0, 0, {}), False, False, elapsed, exc)
            except Exception as exc:  # noqa: BLE001 - e.g. a sqlite3 error: one line, exit 5
                unreadable = StoreError(f"cannot read the history: {type(exc).__name__}")
                return WaitResult(Progress(0, 0, {}), False, False, elapsed, unreadable)
            self.on_progress(progress, elapsed)
            last = progress.all_final or (self.timeout is not None and elapsed >= self.timeout)
            await asyncio.to_thread(self.on_tick, time.time(), last)
            if progress.all_final:
                return WaitResult(progress, self.thresholds.hold(progress), False, elapsed)
            rejected = _all_needed(providers, progress, HealthState.AUTH_REJECTED)
            if rejected:
                failure: SendwatchError = AuthError(
                    f"{rejected} rejected the API key: nothing can be polled (check the key)"
                )
                return WaitResult(progress, False, False, elapsed, failure)
            if self.timeout is not None and elapsed >= self.timeout:
                offline = _all_needed(providers, progress, HealthState.OFFLINE)
                failure_at_end = (
                    UnavailableError(f"{offline} could not be reached until the timeout")
                    if offline
                    else None
                )
                return WaitResult(progress, False, True, elapsed, failure_at_end)
            pause = self.check_every
            if self.timeout is not None:
                pause = max(0.0, min(pause, self.timeout - elapsed))
            try:
                await asyncio.wait_for(woken.wait(), timeout=pause)
            except TimeoutError:
                pass


def _all_needed(providers: Providers, progress: Progress, state: HealthState) -> str:
    """The providers' names when every provider the pending messages need is in `state`, else ""."""
    if not providers.clients:
        return ""
    needed: set[Provider] = set()
    for owner in progress.pending_providers:
        needed |= set(providers.clients) if owner is None else {owner}
    if not needed or any(providers.health(p).state is not state for p in needed):
        return ""
    return " and ".join(p.label for p in Provider if p in needed)
