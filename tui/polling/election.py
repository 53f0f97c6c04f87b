"""One poller per provider account, whoever runs it: a lease that exactly one instance holds.

Rate limits are per account, so every instance that shares a history (two tmux windows on one
laptop, three people on one PostgreSQL) must leave polling to one of them. The lease itself is the
store's (`Store.lease`: an `flock` beside a SQLite file, an advisory lock on PostgreSQL; see
tui/store/lease.py); it is released the moment its holder dies. The others keep trying every few
seconds and take over within `RETRY` of the holder's end.

The account is a hash of provider, base URL and key: the key itself is never written anywhere.
"""

from __future__ import annotations

import hashlib

from tui.config import Settings
from tui.model import Provider
from tui.store import Lease, Store
from tui.store.lease import FileLease, PgLease, me

__all__ = ["RETRY", "FileLease", "Lease", "PgLease", "account_key", "lease_for", "me"]

RETRY = 3.0  # seconds between attempts by instances that do not hold a lease


def account_key(settings: Settings, provider: Provider | None) -> str:
    """A stable, non-secret name for a provider account (None: the loop for IDs of unknown owner)."""
    if provider is None:
        return "unresolved"
    p = settings.provider(provider)
    digest = hashlib.sha256(
        f"{provider.value}\0{p.base_url}\0{p.api_key.reveal()}".encode()
    ).hexdigest()[:16]
    return f"{provider.value}-{digest}"


def lease_for(settings: Settings, store: Store, provider: Provider | None) -> Lease:
    """The lease of this provider account among the instances sharing `store`."""
    return store.lease(account_key(settings, provider))
