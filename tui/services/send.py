"""Send a message and start watching it: one path for `sendwatch send` and the dashboard's send screen.

The provider call lives in the provider client (`send`); this adds what a user expects around it:
the provider chosen (asked, or the only one configured) and its account, the new messages in history at once (as a
campaign when named, due for their first poll now, owned by the sending account), and the idempotency key kept with them so a
retry of the same send can reuse it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import NoReturn

from tui.config import Settings
from tui.config_accounts import Account
from tui.errors import ConfigError, StoreError
from tui.ids import MessageRef
from tui.model import Provider
from tui.providers.lookup import Providers
from tui.providers.sending import SendRequest, SendResult
from tui.store import Store


@dataclass(frozen=True)
class Cost:
    """What a send will create, for the confirmation: 2 recipients x 2 channels = 4 messages."""

    recipients: int
    channels: int

    @property
    def messages(self) -> int:
        return self.recipients * self.channels

    def __str__(self) -> str:
        r = f"{self.recipients} recipient{'s' if self.recipients != 1 else ''}"
        c = f"{self.channels} channel{'s' if self.channels != 1 else ''}"
        return f"{r} x {c} = {self.messages} message{'s' if self.messages != 1 else ''}"


def cost(req: SendRequest) -> Cost:
    return Cost(len(set(req.to)), max(1, len(set(req.channels))))


def choose_provider(settings: Settings, asked: str | None) -> Provider:
    """The asked provider, or the only configured one; refuse to guess between two."""
    configured = settings.configured_providers()
    if asked:
        provider = Provider(asked)
        if provider not in configured:
            raise ConfigError(f"{provider.label} is not configured: set its API key first")
        return provider
    if len(configured) == 1:
        return configured[0]
    if not configured:
        raise ConfigError("no provider is configured: set SENT_DM_API_KEY or SENDO_API_KEY")
    raise ConfigError("both providers are configured: say which with --provider sentdm|sendo")


async def send(
    providers: Providers,
    provider: Provider,
    req: SendRequest,
    store: Store | None,
    campaign: str | None = None,
    account: str | None = None,
) -> SendResult:
    """Send from `account` (by name; None: the provider's first account), then record the new
    messages, the sending account and the idempotency key in history, in one transaction.

    Raises `SendwatchError` only when nothing was sent. Whatever was created is recorded, also when
    a later recipient failed or sending stopped (`result.stopped`): it is printed and tracked."""
    client = providers.client(provider)
    if account is not None:
        client = providers.accounts.get(Account(provider, account)) or _no_account(
            providers, provider, account
        )
    result = await client.send(req)
    if store is not None and result.messages:
        refs = [MessageRef(m.id, provider) for m in result.messages]
        owners = [(ref.id, client.account.name) for ref in refs]

        def record(db: Store) -> None:
            with db.transaction():
                db.record_send(provider, result.idempotency_key, refs, campaign)
                db.set_accounts(owners)

        try:
            await asyncio.to_thread(record, store)
        except (StoreError, OSError) as exc:
            # the send happened: say so, or the user might send (and pay) again
            result.notes.append(
                f"sent, but history could not record it ({exc.__class__.__name__}); "
                f"track the IDs with `sendwatch watch` — they are printed above"
            )
    return result


def _no_account(providers: Providers, provider: Provider, name: str) -> NoReturn:
    names = ", ".join(c.account.name for c in providers.of(provider)) or "none"
    raise ConfigError(f"{provider.label} has no account named {name!r} (configured: {names})")


def result_to_dict(result: SendResult) -> dict[str, object]:
    """`sendwatch send --json`: {provider, idempotency_key, messages: [{id, to, channel}]}."""
    out: dict[str, object] = {
        "provider": result.provider.value,
        "idempotency_key": result.idempotency_key,
        "messages": [{"id": m.id, "to": m.to, "channel": m.channel} for m in result.messages],
    }
    if result.unknown:
        out["outcome_unknown"] = [{"to": to, "why": why} for to, why in result.unknown]
    if result.refused:
        out["refused"] = [{"to": to, "why": why} for to, why in result.refused]
    if result.not_sent:
        out["not_sent"] = [{"to": to, "why": why} for to, why in result.not_sent]
    if result.stopped is not None:
        out["stopped"] = str(result.stopped)
    return out
