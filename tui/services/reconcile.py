"""The reconciler: events Sent.dm tried to push that the receiver never applied, repaired by a poll.

Sent.dm keeps a delivery log per webhook (docs/providers.md Part 2 §3). A row whose delivery failed
(marked failed, or attempted without a 2xx: a timeout leaves `http_status_code` null) is an event
the receiver never applied, so its message is made due for a poll now; the poller then asks for
the message's status like any other. All of it — the log pages read and the messages made due — is
held to `budget_share` of the provider's polling budget per minute (2 % by default); what does not
fit waits for the next round. The log requests go through the same `ProviderClient`, hence the same
`RequestBudget`, as every other request to that account.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tui.errors import NotFoundError, SendwatchError
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.providers.base import ProviderClient
from tui.providers.lookup import Providers
from tui.providers.webhooks_api import RECEIVER_PATHS, LogRow, RemoteHook, SentDmHooks
from tui.services.webhook_setup import FAILING_AFTER
from tui.store import Store

log = logging.getLogger(__name__)


@dataclass
class RoundResult:
    """What one `run_once` did: requests spent, gaps found, messages made due, gaps left."""

    log_requests: int = 0
    found: int = 0
    repaired: list[str] = field(default_factory=list)
    waiting: int = 0

    @property
    def spent(self) -> int:
        return self.log_requests + len(self.repaired)


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class Reconciler:
    """Pages our Sent.dm webhooks' delivery logs since the last look and repairs each missed event.

    `status` is one line for a status bar ("" when there is nothing to say)."""

    def __init__(
        self,
        store: Store,
        client: ProviderClient,
        policy: PollPolicy,
        budget_share: float = 0.02,
        clock: Callable[[], float] = time.time,
        *,
        lookback: float = 3600.0,
        relist_every: float = 600.0,
    ) -> None:
        self.store = store
        self.client = client
        self.policy = policy
        self.clock = clock
        self.api = SentDmHooks(client)
        #: requests a minute the reconciler may spend (log pages and messages made due together)
        self.per_minute = max(0.0, budget_share) * client.settings.requests_per_minute
        self.lookback = lookback
        self.relist_every = relist_every
        self.status = ""
        self.hooks: list[RemoteHook] = []
        self._credit = max(1.0, self.per_minute)
        self._refilled: float | None = None
        self._listed: float | None = None
        self._since: dict[str, datetime] = {}  # per webhook: rows older than this are settled
        self._resume: dict[str, int] = {}  # per webhook: the page an unfinished pass goes on from
        self._handled: dict[str, datetime | None] = {}  # log row id -> its created_at
        self._due: dict[str, None] = {}  # message ids waiting to be made due (ordered, unique)

    def _refill(self, now: float) -> None:
        if self._refilled is not None:
            gained = self.per_minute * max(0.0, now - self._refilled) / 60.0
            self._credit = min(max(1.0, self.per_minute), self._credit + gained)
        self._refilled = now

    def _spend(self) -> bool:
        if self._credit < 1.0:
            return False
        self._credit -= 1.0
        return True

    async def run_once(self, now: float | None = None) -> RoundResult:
        """One round: (re)list our webhooks now and then, read new log rows, repair what fits."""
        now = self.clock() if now is None else now
        self._refill(now)
        result = RoundResult()
        if self._listed is None or now - self._listed >= self.relist_every:
            if self._spend():
                result.log_requests += 1
                path = RECEIVER_PATHS[Provider.SENTDM]
                self.hooks = [h for h in await self.api.list_all() if h.url.endswith(path)]
                self._listed = now
        for hook in list(self.hooks):
            try:
                result.found += await self._read_log(hook, now, result)
            except NotFoundError:  # deleted since it was listed: list again next round
                self.hooks.remove(hook)
                self._listed = None
        take = list(self._due)[: int(self._credit)]
        if take:
            await asyncio.to_thread(self._make_due, take, now)
            for message_id in take:
                del self._due[message_id]
                self._spend()
            result.repaired = take
        result.waiting = len(self._due)
        self.status = self._describe()
        return result

    async def _read_log(self, hook: RemoteHook, now: float, result: RoundResult) -> int:
        """Read the log from the newest row down to where the last complete pass settled."""
        since = self._since.get(hook.id) or _at(now - self.lookback)
        page = self._resume.get(hook.id, 1)
        found = 0
        newest: datetime | None = None
        open_from: datetime | None = None  # the oldest row still waiting for its first attempt
        complete = False
        while self._spend():
            result.log_requests += 1
            rows, more = await self.api.events(hook.id, page)
            reached = False
            for row in rows:
                created = row.created_at
                if created is not None and created < since:
                    reached = True
                    break
                if created is not None and (newest is None or created > newest):
                    newest = created
                if row.id in self._handled:
                    continue
                if row.failed:
                    self._handled[row.id] = created
                    found += self._missed(row)
                elif row.in_flight:
                    if created is not None and (open_from is None or created < open_from):
                        open_from = created
                else:
                    self._handled[row.id] = created
            if reached or not more:
                complete = True
                break
            page += 1
        if not complete:
            self._resume[hook.id] = page
            return found
        self._resume.pop(hook.id, None)
        settled = open_from or newest or since
        self._since[hook.id] = settled
        self._handled = {
            k: at
            for k, at in self._handled.items()
            if at is None or at >= min(self._since.values())
        }
        return found

    def _missed(self, row: LogRow) -> int:
        """A message event that never reached the receiver: queue its message for a poll."""
        if not row.event_type.startswith("message.") or row.message_id is None:
            return 0
        if row.message_id in self._due:
            return 0
        self._due[row.message_id] = None
        return 1

    def _make_due(self, message_ids: list[str], now: float) -> None:
        """In a thread: track what history does not know yet, then make every one due now."""
        unknown = [m for m in message_ids if self.store.row(m) is None]
        if unknown:
            self.store.track([MessageRef(m, Provider.SENTDM) for m in unknown], now=now)
        self.store.pull_forward(message_ids, self.policy.min_interval, now)

    def _describe(self) -> str:
        label = self.client.label
        if any(h.active is False for h in self.hooks):
            return f"{label} webhook disabled: falling back to polling"
        failures = max((h.consecutive_failures or 0 for h in self.hooks), default=0)
        if failures >= FAILING_AFTER:
            return f"{label} failing to deliver webhooks ({failures} in a row)"
        if self._due:
            return f"{label}: {len(self._due)} missed webhook events waiting for a poll"
        return ""

    async def run_forever(self, stop_event: asyncio.Event, every: float = 60.0) -> None:
        """A round every `every` seconds until `stop_event` is set; a failed round is logged and
        said on the status line, and the next one tries again."""
        while not stop_event.is_set():
            try:
                await self.run_once()
            except SendwatchError as exc:
                self.status = f"{self.client.label} delivery log not read: {exc}"
                log.warning("reconciler: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=every)


def reconciler_for(store: Store, providers: Providers, policy: PollPolicy) -> Reconciler | None:
    """The reconciler of an instance that receives webhooks (`poll --listen`, the dashboard with
    `--listen`): Sent.dm's delivery log, read with its first account; None without Sent.dm."""
    client = providers.clients.get(Provider.SENTDM)
    return None if client is None else Reconciler(store, client, policy)
