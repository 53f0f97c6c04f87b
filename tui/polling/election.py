"""One poller per provider account, whoever runs it: a lease that exactly one instance holds.

Rate limits are per account, so every instance that shares a history (two tmux windows on one
laptop, three people on one PostgreSQL) must leave polling each account to one of them. The lease
itself is the store's (`Store.lease`: an `flock` beside a SQLite file, an advisory lock on
PostgreSQL; see tui/store/lease.py); it is released the moment its holder dies. The others keep
trying every few seconds and take over within `RETRY` of the holder's end. With several accounts,
two instances may each hold a different account's lease: that is how polling scales out.

The lease name is a hash of provider, base URL, key (and child profile): the key itself is never
written anywhere, and two instances naming the same credentials differently still share a lease.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from tui.config import Settings
from tui.config_accounts import Account
from tui.model import Provider
from tui.store import Lease, Store
from tui.store.lease import FileLease, PgLease, me

__all__ = [
    "RETRY",
    "FileLease",
    "Lease",
    "PgLease",
    "account_key",
    "lease_for",
    "leases_for",
    "me",
]

RETRY = 3.0  # seconds between attempts by instances that do not hold a lease

#: whose lease: an account, a provider (its first account, as callers before accounts said), or
#: None (the loop for IDs whose provider is not known yet)
LeaseOwner = Account | Provider | None


def account_key(settings: Settings, owner: LeaseOwner) -> str:
    """A stable, non-secret name for a provider account (None: the loop for IDs of unknown owner)."""
    if owner is None:
        return "unresolved"
    accounts = settings.accounts()
    if isinstance(owner, Provider):
        first = next((a for a in accounts if a.provider is owner), Account(owner))
        owner = first
    p = accounts.get(owner, settings.provider(owner.provider))
    credentials = f"{owner.provider.value}\0{p.base_url}\0{p.api_key.reveal()}"
    if p.profile_id:  # one organization key acting for several child profiles: one lease each
        credentials += f"\0{p.profile_id.lower()}"
    digest = hashlib.sha256(credentials.encode()).hexdigest()[:16]
    return f"{owner.provider.value}-{digest}"


def lease_for(settings: Settings, store: Store, owner: LeaseOwner) -> Lease:
    """The lease of this provider account among the instances sharing `store`."""
    return store.lease(account_key(settings, owner))


def leases_for(
    settings: Settings, store: Store, accounts: Iterable[Account]
) -> dict[Account | None, Lease]:
    """A lease per account, plus the one for IDs of unknown provider: what a `Poller` takes."""
    owners: list[Account | None] = [*accounts, None]
    return {owner: lease_for(settings, store, owner) for owner in owners}
