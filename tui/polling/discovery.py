"""A whole Sendo campaign by its ID: find its messages, track them, and keep finding new ones.

`GET /v1/message/list?campaign=ID` answers up to a page of full message objects per request, so a
listing pass is also the cheapest poll there is: 100 statuses for one request of the budget instead
of 100. Its order is undocumented, so every pass walks all pages (short pages end it) rather than
trusting "new ones come last".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tui.errors import BadResponseError, SendwatchError, StoreError
from tui.ids import MessageRef
from tui.model import Message
from tui.polling.policy import PollPolicy
from tui.polling.record import record_failed_ask, record_lookup
from tui.providers.sendo import SendoClient
from tui.store import Store

MAX_PAGES = 2_000  # 200,000 messages at 100 a page: a runaway listing stops here


@dataclass
class DiscoveryPass:
    """What one walk over the campaign's pages found."""

    seen: int = 0
    new: int = 0
    pages: int = 0


@dataclass
class CampaignDiscovery:
    client: SendoClient
    store: Store
    policy: PollPolicy
    campaign_id: str
    #: the campaign's name in history (defaults to `sendo:<ID>`)
    name: str = ""
    page_size: int = 100
    clock: Callable[[], float] = time.time
    passes: list[DiscoveryPass] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.name or f"sendo:{self.campaign_id}"

    async def run_once(self) -> DiscoveryPass:
        """Walk every page once, recording each message as an answer and as a campaign member."""
        result = DiscoveryPass()
        skip = 0
        while result.pages < MAX_PAGES:
            page = await self.client.list_campaign(
                self.campaign_id, limit=self.page_size, skip=skip
            )
            result.pages += 1
            result.seen += len(page)
            result.new += await asyncio.to_thread(self._record, page)
            if len(page) < self.page_size:
                break
            skip += self.page_size
        self.passes.append(result)
        return result

    def _record(self, page: list[Message]) -> int:
        """Track the page and store each answer; one the store refuses (a NUL PostgreSQL will not
        take) is that message's failure, never the page's or the pass's."""
        added = self.store.track(
            [MessageRef(m.id, m.provider) for m in page], campaign=self.name, now=self.clock()
        )
        now = self.clock()
        for msg in page:
            try:
                # the listing key's account owns what it lists
                record_lookup(self.store, self.policy, msg, now, account=self.client.account.name)
            except StoreError as exc:
                error = BadResponseError(
                    f"the answer for {msg.id} could not be stored ({exc})",
                    provider=msg.provider.value,
                )
                record_failed_ask(self.store, self.policy, msg.id, error, now)
        return added

    async def run(
        self,
        every: float = 60.0,
        stop: asyncio.Event | None = None,
        on_error: Callable[[SendwatchError], None] = lambda exc: None,
    ) -> None:
        """Pass after pass until `stop` is set; a failed pass is reported and retried next time."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.run_once()
            except SendwatchError as exc:
                on_error(exc)
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
            except TimeoutError:
                pass
