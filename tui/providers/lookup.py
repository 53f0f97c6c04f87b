"""Find a message without knowing its provider, and keep one client per configured account.

A bare ID is asked of every configured provider at once; the first hit wins and a 404 elsewhere is
not an error. Within a provider, its accounts are asked in turn (the `default` one first): another
account's message is a 404 to this one. Which account owned it is returned (`locate`) so later
refreshes ask only that one, with its own key, budget and connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import NoReturn, TypeVar

from tui.config import Settings
from tui.config_accounts import Account
from tui.errors import (
    AuthError,
    ConfigError,
    InvalidIdError,
    NotFoundError,
    SendwatchError,
)
from tui.ids import MessageRef
from tui.model import Message, Provider
from tui.providers.base import ProviderClient
from tui.providers.budget import Health, HealthState
from tui.providers.sendo import SendoClient
from tui.providers.sentdm import SentDmClient

T = TypeVar("T")

_CLIENTS: dict[Provider, type[ProviderClient]] = {
    Provider.SENTDM: SentDmClient,
    Provider.SENDO: SendoClient,
}

# When every provider failed, the error shown is the most actionable one.
_SEVERITY = [AuthError, InvalidIdError, SendwatchError]


class Providers:
    """The configured provider clients. Create and use inside one event loop; `aclose()` at the end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: every configured account's client, by provider then as configured
        self.accounts: dict[Account, ProviderClient] = {
            account: _CLIENTS[account.provider](
                account_settings,
                settings.network,
                config_path=str(settings.path),
                account=account.name,
            )
            for account, account_settings in settings.accounts().items()
        }
        #: each provider's first account (`default` when its own key is set): what asks first
        self.clients: dict[Provider, ProviderClient] = {}
        for account, client in self.accounts.items():
            self.clients.setdefault(account.provider, client)

    def __contains__(self, provider: Provider) -> bool:
        return provider in self.clients

    def of(self, provider: Provider) -> list[ProviderClient]:
        """The provider's accounts' clients, in the order they are asked."""
        return [c for a, c in self.accounts.items() if a.provider is provider]

    def named(self) -> bool:
        """More than one account for some provider: the account is worth showing."""
        return len(self.accounts) > len(self.clients)

    def health(self, provider: Provider) -> Health:
        """The provider's health: its worst account's (one account refused is worth seeing)."""
        clients = self.of(provider)
        if not clients:
            return Health(HealthState.NOT_CONFIGURED)
        return max((c.budget.health for c in clients), key=lambda h: _WORST.get(h.state, 0))

    def all_rejected(self) -> bool:
        """Every account's key was refused: nothing can be polled (one refused leaves the rest)."""
        states = [c.budget.health.state for c in self.accounts.values()]
        return bool(states) and all(s is HealthState.AUTH_REJECTED for s in states)

    def request_rate(self) -> float:
        """Requests/second all accounts may currently send (what catching up is paced by)."""
        return sum(c.budget.rate for c in self.accounts.values())

    def client(self, provider: Provider) -> ProviderClient:
        try:
            return self.clients[provider]
        except KeyError:
            hint = _CLIENTS[provider].key_hint
            raise ConfigError(
                f"{provider.label} is not configured. {hint} in {self.settings.path}.",
                provider=provider.value,
            ) from None

    async def fetch(self, ref: MessageRef, *, retries: int | None = None) -> Message:
        """Fetch from the named provider, or from all configured ones concurrently."""
        return (await self.locate(ref, retries=retries))[1]

    async def locate(
        self, ref: MessageRef, *, retries: int | None = None
    ) -> tuple[Account, Message]:
        """Which account owns the message, and its answer: providers concurrently, each one's
        accounts in turn."""
        if ref.provider is not None:
            self.client(ref.provider)  # a clear ConfigError when it is not configured
            return await in_turn(self.of(ref.provider), ref.id, retries)
        if not self.clients:
            raise ConfigError(
                f"no provider is configured: set SENT_DM_API_KEY or SENDO_API_KEY, or add keys to {self.settings.path} "
                "(try `sendwatch --demo` to see the app without keys)"
            )
        return await first_answer(ref, [in_turn(self.of(p), ref.id, retries) for p in self.clients])

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.accounts.values()), return_exceptions=True)


#: which account's health stands for the provider's (higher: worse, shown)
_WORST = {
    HealthState.AUTH_REJECTED: 5,
    HealthState.OFFLINE: 4,
    HealthState.RATE_LIMITED: 3,
    HealthState.SLOW: 2,
    HealthState.OK: 1,
}


async def in_turn(
    clients: list[ProviderClient], message_id: str, retries: int | None
) -> tuple[Account, Message]:
    """Ask one provider's accounts in turn: the first that has the message owns it. A 404 moves on;
    any other error is kept and raised when no account has it (the most telling one first)."""
    errors: list[SendwatchError] = []
    for client in clients:
        try:
            return client.account, await client.fetch(message_id, retries=retries)
        except NotFoundError as exc:
            errors.append(exc)
        except SendwatchError as exc:
            if len(clients) == 1:
                raise
            errors.append(exc)
    others = [e for e in errors if not isinstance(e, NotFoundError)]
    raise others[0] if others else errors[0]


async def first_answer(ref: MessageRef, asks: list[Awaitable[T]]) -> T:
    """Ask every provider at once: the first that has the message wins, the others are cancelled;
    when none has it, the errors are combined into the one that tells the most."""
    tasks = [asyncio.ensure_future(ask) for ask in asks]
    errors: dict[Provider, SendwatchError] = {}
    try:
        for finished in asyncio.as_completed(tasks):
            try:
                return await finished
            except SendwatchError as exc:
                errors[Provider(exc.provider) if exc.provider else Provider.SENTDM] = exc
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return combine_errors(ref, errors)


def combine_errors(ref: MessageRef, errors: dict[Provider, SendwatchError]) -> NoReturn:
    """Every provider failed: raise the error that tells the user the most."""
    if all(isinstance(e, NotFoundError) for e in errors.values()):
        names = " or ".join(p.label for p in Provider if p in errors)
        raise NotFoundError(f"message {ref.id} was not found at {names}")
    others = [e for e in errors.values() if not isinstance(e, NotFoundError)]
    if all(isinstance(e, InvalidIdError) for e in others) and others:
        raise others[0]
    for kind in _SEVERITY:
        for error in others:
            if isinstance(error, kind):
                missing = [p.label for p, e in errors.items() if isinstance(e, NotFoundError)]
                if missing:
                    error.message = f"{error.message} (not found at {', '.join(missing)})"
                raise error
    raise others[0]
