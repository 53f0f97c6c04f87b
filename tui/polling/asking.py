"""One ask: fetch one message with the right account's credentials and store the answer.

Whatever goes wrong while fetching, decoding, parsing or storing one answer is that message's
failure (`record_failed_ask`: backed off like a 5xx), never the loop's. A message of no known
account is asked of its provider's accounts in turn, and the one that answers is recorded as its
owner, so from then on its own account's loop polls it with that account's key and budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from tui.config_accounts import Account
from tui.errors import (
    AuthError,
    BadResponseError,
    CircuitOpenError,
    NotFoundError,
    RateLimitedError,
    SendwatchError,
    UnavailableError,
)
from tui.ids import MessageRef
from tui.model import Message, Provider
from tui.polling.loops import LoopStats, Owner, PollUpdate, describe
from tui.polling.policy import LoopVitals, PollPolicy, Priority
from tui.polling.record import record_failed_ask, record_lookup
from tui.providers.base import RequestTimeout
from tui.providers.lookup import Providers, in_turn
from tui.store import Store


@dataclass
class Asking:
    """What one ask needs of the poller: where to ask, where to store, whom to tell."""

    store: Store
    providers: Providers
    policy: PollPolicy
    clock: Callable[[], float]
    on_update: Callable[[PollUpdate], None]
    on_error: Callable[[Provider | None, SendwatchError], None]
    priority: Callable[[str], Priority]

    async def fetch(self, owner: Owner, message_id: str) -> tuple[Account, Message]:
        """The owner's answer; a provider's first account asks its accounts in turn (a message of
        no recorded account may be another's)."""
        if owner is None:
            return await self.providers.locate(MessageRef(message_id), retries=0)
        clients = self.providers.of(owner.provider)
        if len(clients) > 1 and clients[0].account == owner:
            known = await asyncio.to_thread(self.store.account_of, message_id)
            if known is None:  # nobody answered for it yet: whoever has it owns it
                return await in_turn(clients, message_id, 0)
        return owner, await self.providers.accounts[owner].fetch(message_id, retries=0)

    async def poll_one(
        self, owner: Owner, message_id: str, stats: LoopStats, vitals: LoopVitals
    ) -> None:
        """Ask for one message and store the answer. Anything wrong with this one answer is this
        message's failure; only a store that cannot even record that raises (the loop restarts)."""
        stats.requests += 1
        now = self.clock()
        provider = owner.provider if owner else None
        try:
            account, msg = await self.fetch(owner, message_id)
        except CircuitOpenError:
            return  # the loop waits for the breaker; the message stays due
        except AuthError as exc:
            stats.errors += 1
            stats.last_error = str(exc)
            self.on_error(provider, exc)
            return  # not the message's fault: leave its schedule alone
        except SendwatchError as exc:
            if isinstance(exc, RequestTimeout):
                vitals.timed_out(self.clock())
            elif not isinstance(exc, (UnavailableError, RateLimitedError)):
                vitals.answered(
                    self.clock()
                )  # a 404 or an unreadable answer: the provider is there
            await self.failed(provider, message_id, exc, now, stats)
            return
        except Exception as exc:  # noqa: BLE001 - a poison answer must not end the loop
            error = BadResponseError(
                f"the answer for {message_id} could not be read ({describe(exc)})",
                provider=provider.value if provider else None,
            )
            await self.failed(provider, message_id, error, now, stats)
            return
        vitals.answered(self.clock())
        try:
            await self.store_answer(msg, account, owner is None)
        except Exception as exc:  # noqa: BLE001 - e.g. a NUL PostgreSQL refuses: this message's failure
            error = BadResponseError(
                f"the answer for {message_id} could not be stored ({describe(exc)})",
                provider=msg.provider.value,
            )
            await self.failed(provider, message_id, error, now, stats)
            return
        stats.answers += 1
        stats.last_answer = self.clock()

    async def failed(
        self,
        provider: Provider | None,
        message_id: str,
        exc: SendwatchError,
        now: float,
        stats: LoopStats,
    ) -> None:
        """Record a failed ask with its backoff; raises only when the store cannot record it."""
        stats.errors += 1
        stats.last_error = str(exc)
        errors = await asyncio.to_thread(
            record_failed_ask, self.store, self.policy, message_id, exc, now
        )
        if not isinstance(exc, (RateLimitedError, NotFoundError)) or errors == 1:
            self.on_error(provider, exc)

    async def store_answer(self, msg: Message, account: Account, resolved_now: bool) -> None:
        at = self.clock()
        outcome = await asyncio.to_thread(
            record_lookup,
            self.store,
            self.policy,
            msg,
            at,
            self.priority(msg.id),
            account.name,
        )
        self.on_update(
            PollUpdate(
                msg.id,
                msg.provider,
                outcome.previous,
                outcome.current,
                outcome.changed or resolved_now,
                at,
                msg,
                account.name,
            )
        )
