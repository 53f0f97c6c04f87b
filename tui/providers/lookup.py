"""Find a message without knowing its provider, and keep one client per configured provider.

A bare ID is asked of every configured provider at once; the first hit wins and a 404 elsewhere is
not an error. Which provider owned it is returned so later refreshes ask only that one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from tui.config import Settings
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
        self.clients: dict[Provider, ProviderClient] = {
            p: _CLIENTS[p](settings.provider(p), settings.network, config_path=str(settings.path))
            for p in settings.configured_providers()
        }

    def __contains__(self, provider: Provider) -> bool:
        return provider in self.clients

    def health(self, provider: Provider) -> Health:
        client = self.clients.get(provider)
        return client.budget.health if client else Health(HealthState.NOT_CONFIGURED)

    def request_rate(self) -> float:
        """Requests/second all providers may currently send (what catching up is paced by)."""
        return sum(c.budget.rate for c in self.clients.values())

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
        if ref.provider is not None:
            return await self.client(ref.provider).fetch(ref.id, retries=retries)
        if not self.clients:
            raise ConfigError(
                f"no provider is configured: set SENT_DM_API_KEY or SENDO_API_KEY, or add keys to {self.settings.path} "
                "(try `sendwatch --demo` to see the app without keys)"
            )
        return await first_answer(
            ref, [c.fetch(ref.id, retries=retries) for c in self.clients.values()]
        )

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients.values()), return_exceptions=True)


async def first_answer(ref: MessageRef, asks: list[Awaitable[Message]]) -> Message:
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


def combine_errors(ref: MessageRef, errors: dict[Provider, SendwatchError]) -> Message:
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
