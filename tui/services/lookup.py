"""One lookup/refresh path for `sendwatch get` and the app's find bar and `r`.

Why one service: a lookup is more than a GET. It asks the right provider (the known owner, the
prefixed one, or every configured one at once; within a provider, the known account or its accounts
in turn), reads Sent.dm's activity log too, stores the answer
and its events in history, and gives up at a deadline instead of hanging. Doing that in one place
keeps the CLI and the dashboard telling the same story about a message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from tui.config_accounts import Account
from tui.errors import (
    AuthError,
    CircuitOpenError,
    ConfigError,
    InvalidIdError,
    SendwatchError,
    StoreError,
    UnavailableError,
)
from tui.ids import MessageRef
from tui.model import Event, Message, Provider
from tui.polling.policy import PollPolicy, Priority
from tui.polling.record import record_failed_ask, record_lookup
from tui.providers.lookup import Providers, first_answer
from tui.providers.sentdm import SentDmClient
from tui.providers.waiting import WaitHook, WaitInfo, waiting_reported_to
from tui.store import FetchOutcome, Store


class LookupTimeout(UnavailableError):
    """The overall deadline passed before any provider answered (CLI exit code 5)."""

    def __init__(self, message: str, *, waiting_for: tuple[Provider, ...], seconds: float) -> None:
        super().__init__(message, provider=waiting_for[0].value if len(waiting_for) == 1 else None)
        self.waiting_for = waiting_for
        self.seconds = seconds


@dataclass(frozen=True)
class LookupResult:
    """The answer: the message with its merged timeline, what the store made of it, and notes.

    `notes` are things the user should know that did not fail the lookup (the activity log could
    not be read, history could not be written).
    """

    message: Message
    outcome: FetchOutcome | None  # None without a history store (or when writing it failed)
    fetched_at: float
    notes: tuple[str, ...] = ()
    activities_read: bool = False
    #: the account that answered (its configured name; `default` for a provider's own key)
    account: str | None = None


def dedupe_events(*groups: tuple[Event, ...] | list[Event]) -> tuple[Event, ...]:
    """One timeline, oldest first: events with the same key are one event, and the copy that
    carries a failure reason wins (history does not keep reasons, the fresh answer does)."""
    merged: dict[tuple[str, str, float], Event] = {}
    for group in groups:
        for event in group:
            key = event.key()
            kept = merged.get(key)
            if kept is None or (
                not (kept.reason_code or kept.reason) and (event.reason_code or event.reason)
            ):
                merged[key] = event
    return tuple(sorted(merged.values(), key=lambda e: e.timestamp))


def describe_wait(info: WaitInfo) -> str:
    """A retry-loop wait in words, e.g. for a status line or stderr."""
    label = info.provider.label
    if info.kind == "retry_after":
        return f"{label} asked us to wait {info.seconds:.0f} s (Retry-After)"
    after = f" after {info.reason}" if info.reason else ""
    return (
        f"waiting for {label}… retry {info.retry} of {info.retries} in {info.seconds:.1f} s{after}"
    )


def _names(providers: list[Provider] | tuple[Provider, ...] | set[Provider]) -> str:
    labels = [p.label for p in Provider if p in providers]
    return " and ".join(labels) if labels else "the providers"


class LookupService:
    """Fetch, merge and record one message. Create and use inside one event loop.

    `waiting_for` (read by progress displays) names what is still outstanding right now. It
    holds no connections of its own (those are the shared `Providers`' clients), so creating one
    per lookup is cheap and keeps that progress state apart when lookups run side by side.
    """

    def __init__(
        self,
        providers: Providers,
        store: Store | None,
        policy: PollPolicy,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.providers = providers
        self.store = store
        self.policy = policy
        self.clock = clock
        self.pending: set[Provider] = set()
        self.phase = "message"  # "message" | "activities"
        self.last_wait: dict[Provider, WaitInfo] = {}

    @property
    def waiting_providers(self) -> set[Provider]:
        return {Provider.SENTDM} if self.phase == "activities" else set(self.pending)

    @property
    def waiting_for(self) -> str:
        if self.phase == "activities":
            return "Sent.dm's activity log"
        return _names(self.pending)

    async def refresh(
        self,
        message_id: str,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.SELECTED,
        on_wait: WaitHook | None = None,
    ) -> LookupResult:
        """Refresh a message already in history: only its known owner is asked."""
        return await self.lookup(
            MessageRef(message_id), timeout=timeout, priority=priority, on_wait=on_wait
        )

    async def lookup(
        self,
        ref: MessageRef,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.SELECTED,
        on_wait: WaitHook | None = None,
        activities: bool = True,
    ) -> LookupResult:
        """Ask, merge, record. Raises `SendwatchError` (`LookupTimeout` at the deadline)."""
        self.pending, self.phase, self.last_wait = set(), "message", {}
        ref, known_account = await self._resolve_owner(ref)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        started = loop.time()

        def hook(info: WaitInfo) -> None:
            self.last_wait[info.provider] = info
            if on_wait is not None:
                on_wait(info)

        notes: list[str] = []
        extra: tuple[Event, ...] = ()
        read_activities = False
        with waiting_reported_to(hook):
            try:
                async with asyncio.timeout_at(deadline):
                    account, msg = await self._ask(ref, known_account)
            except TimeoutError:
                error = self._timeout_error(
                    timeout if timeout is not None else loop.time() - started
                )
                await self._record_failure(ref, error)
                raise error from None
            except SendwatchError as exc:
                await self._record_failure(ref, exc)
                raise
            self.pending = set()
            client = self.providers.accounts.get(account)  # the owner's key (and profile)
            if activities and msg.provider is Provider.SENTDM and isinstance(client, SentDmClient):
                self.phase = "activities"
                try:
                    async with asyncio.timeout_at(deadline):
                        extra = await client.fetch_activities(msg.id)
                    read_activities = True
                except TimeoutError:
                    notes.append(
                        "Sent.dm's activity log did not arrive before the deadline; the timeline may be incomplete"
                    )
                except SendwatchError as exc:
                    notes.append(
                        f"Sent.dm's activity log could not be read ({exc}); the timeline may be incomplete"
                    )
                finally:
                    self.phase = "message"
        now = self.clock()
        outcome, stored_events, note = await asyncio.to_thread(
            self._record, msg, extra, now, priority, account.name
        )
        if note:
            notes.append(note)
        merged = dedupe_events(stored_events, msg.events, extra)
        return LookupResult(
            replace(msg, events=merged), outcome, now, tuple(notes), read_activities, account.name
        )

    # -- steps ------------------------------------------------------------------------------
    async def _resolve_owner(self, ref: MessageRef) -> tuple[MessageRef, Account | None]:
        """A message history already knows is asked only of its owner (its account, if known)."""
        if self.store is None:
            return ref, None
        store = self.store
        try:
            known, name = await asyncio.to_thread(
                lambda: (store.provider_of(ref.id), store.account_of(ref.id))
            )
        except StoreError:
            return ref, None
        if ref.provider is not None and known is not ref.provider:
            return ref, None
        if known is None or known not in self.providers:
            return ref, None
        account = Account(known, name) if name is not None else None
        return MessageRef(ref.id, known), account if account in self.providers.accounts else None

    async def _ask(
        self, ref: MessageRef, account: Account | None = None
    ) -> tuple[Account, Message]:
        """The named provider, or every configured one at once: first hit wins, 404 elsewhere is fine.

        `pending` keeps the providers that have not answered, also after a cancellation at the
        deadline, so the timeout message can name them.
        """
        if ref.provider is None and not self.providers.clients:
            return await self.providers.locate(ref)  # raises the "no provider is configured" error

        async def one(provider: Provider) -> tuple[Account, Message]:
            try:
                if account is not None and account.provider is provider:
                    found = account, await self.providers.accounts[account].fetch(ref.id)
                else:  # the provider's accounts in turn
                    found = await self.providers.locate(MessageRef(ref.id, provider))
            except SendwatchError:
                self.pending.discard(provider)
                raise
            self.pending.discard(provider)
            return found

        asked = [ref.provider] if ref.provider is not None else list(self.providers.clients)
        self.pending = set(asked)
        if len(asked) == 1:
            return await one(asked[0])
        return await first_answer(ref, [one(p) for p in asked])

    def _timeout_error(self, elapsed: float) -> LookupTimeout:
        waiting = tuple(p for p in Provider if p in self.pending) or tuple(self.providers.clients)
        details = []
        for p in waiting:
            info = self.last_wait.get(p)
            if info is None:
                details.append(f"{p.label} has not answered yet")
            elif info.kind == "retry_after":
                details.append(f"{p.label} asked us to wait {info.seconds:.0f} s (Retry-After)")
            else:
                details.append(
                    f"{p.label} failed {info.retry} time{'s' if info.retry > 1 else ''} (last: {info.reason or 'an error'})"
                )
        return LookupTimeout(
            f"gave up after {elapsed:.3g} s: {'; '.join(details)}",
            waiting_for=waiting,
            seconds=elapsed,
        )

    def _record(
        self, msg: Message, extra: tuple[Event, ...], now: float, priority: Priority, account: str
    ) -> tuple[FetchOutcome | None, list[Event], str | None]:
        """In a thread: store the answer (and who answered) and the activities; read back the
        whole stored timeline."""
        if self.store is None:
            return None, [], None
        try:
            outcome = record_lookup(self.store, self.policy, msg, now, priority, account)
            if extra:
                self.store.add_events(msg.id, extra)
            stored = self.store.get(msg.id)
        except (StoreError, OSError) as exc:
            return None, [], f"the answer could not be saved in history ({exc.__class__.__name__})"
        return outcome, list(stored.message.events) if stored else [], None

    async def _record_failure(self, ref: MessageRef, error: SendwatchError) -> None:
        """A tracked message whose lookup failed is scheduled like a failed poll (the policy's one
        rule), so the poller does not ask it again at once. Not for what is not the message's
        doing: a rejected key, an open breaker, a bad ID, no configuration."""
        if self.store is None or isinstance(
            error, (AuthError, CircuitOpenError, InvalidIdError, ConfigError)
        ):
            return
        try:
            await asyncio.to_thread(
                record_failed_ask, self.store, self.policy, ref.id, error, self.clock()
            )
        except (StoreError, OSError):
            pass  # history is a convenience here: the lookup's own error is what the user needs
