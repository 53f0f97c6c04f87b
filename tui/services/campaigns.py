"""Campaigns: importing a file of IDs as one, and tracking a whole Sendo campaign by its ID.

One path for `sendwatch watch` and the dashboard's import screen, so both read the same file the
same way, keep the same lines, and say the same thing about it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tui.errors import ConfigError, InvalidIdError, SendwatchError
from tui.importers import ImportResult, read_ids_from
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.store import Store
from tui.textsafe import safe_text

if TYPE_CHECKING:  # httpx (behind the providers) is not needed to import a file
    from tui.polling.discovery import CampaignDiscovery, DiscoveryPass
    from tui.providers.lookup import Providers

#: the longest campaign name quoted in a sentence (names come from files and the command line)
NAME_LIMIT = 60


class ImportFileError(SendwatchError):
    """The file to import could not be read (the CLI's usage error)."""

    exit_code = 2


def quoted(name: str) -> str:
    """A campaign name inside our wording: `'spring-sale'`, printable, never too long."""
    return f"'{safe_text(name, single_line=True, limit=NAME_LIMIT)}'"


@dataclass(frozen=True)
class Imported:
    """What an import did: the IDs read (and the lines skipped), how many were new."""

    campaign: str
    result: ImportResult
    added: int

    def summary(self) -> str:
        """`3 IDs read (text), 1 lines skipped; 3 new in campaign 'launch'`."""
        return f"{self.result.summary()}; {self.added} new in campaign {quoted(self.campaign)}"

    def skipped(self, limit: int = 3) -> str:
        """The first problems on one line, `line 4: why; line 9: why (+2 more)`; "" for none."""
        problems = self.result.problems
        shown = "; ".join(
            f"{safe_text(p.where, single_line=True, limit=40)}: "
            f"{safe_text(p.reason, single_line=True, limit=120)}"
            for p in problems[:limit]
        )
        more = f" (+{len(problems) - limit} more)" if len(problems) > limit else ""
        return shown + more


def read_id_source(source: Path | IO[Any], provider: Provider | None = None) -> ImportResult:
    """Every valid ID in a file (or a stream: stdin), read line by line within the import cap
    (64 MB), whatever the file is (`/dev/zero`, an endless pipe). Blocking."""
    try:
        return read_ids_from(source, provider)
    except OSError as exc:
        where = source if isinstance(source, Path) else "the input"
        raise ImportFileError(
            f"cannot read {safe_text(where, single_line=True, limit=200)}: "
            f"{exc.strerror or type(exc).__name__}"
        ) from None


def track_imported(store: Store, result: ImportResult, campaign: str) -> Imported:
    """Track the IDs an import found as members of `campaign`. Blocking (call it in a thread)."""
    added = store.track(result.refs, campaign=campaign) if result.refs else 0
    return Imported(campaign, result, added)


def import_file(
    store: Store, path: Path, campaign: str | None = None, provider: Provider | None = None
) -> Imported:
    """Track every valid ID in a file (read within bounds) as members of `campaign`, named after
    the file unless named. Blocking (call it in a thread)."""
    return track_imported(store, read_id_source(path, provider), campaign or path.stem)


# -- a whole Sendo campaign ------------------------------------------------------------------
def check_sendo_campaign(campaign_id: str) -> str:
    """The ID as Sendo spells it (8 letters or digits); raises `InvalidIdError` otherwise."""
    from tui.providers.sending import SENDO_CAMPAIGN

    campaign_id = campaign_id.strip()
    if not SENDO_CAMPAIGN.match(campaign_id):
        raise InvalidIdError(f"not a Sendo campaign ID: {campaign_id[:40]!r} (8 letters or digits)")
    return campaign_id


def sendo_campaign_name(campaign_id: str, name: str | None = None) -> str:
    """The campaign's name in history: the one given, or `sendo:<ID>`."""
    return (name or "").strip() or f"sendo:{campaign_id}"


@dataclass(frozen=True)
class TrackedCampaign:
    """A Sendo campaign listed once: its ID, its name in history, what the pass found."""

    campaign_id: str
    name: str
    found: DiscoveryPass

    def summary(self) -> str:
        """`Sendo campaign U7fQ3123: 240 messages found, tracked as 'sendo:U7fQ3123'`."""
        return (
            f"Sendo campaign {self.campaign_id}: {self.found.seen} messages found, "
            f"tracked as {quoted(self.name)}"
        )


def sendo_discovery(
    providers: Providers,
    store: Store,
    policy: PollPolicy,
    campaign_id: str,
    name: str | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> CampaignDiscovery:
    """A lister of the campaign's pages; raises `InvalidIdError` or `ConfigError` (no Sendo key)."""
    from tui.polling.discovery import CampaignDiscovery
    from tui.providers.sendo import SendoClient

    campaign_id = check_sendo_campaign(campaign_id)
    client = providers.clients.get(Provider.SENDO)
    if not isinstance(client, SendoClient):
        raise ConfigError(
            "Sendo is not configured: set SENDO_API_KEY or providers.sendo.api_key",
            provider=Provider.SENDO.value,
        )
    return CampaignDiscovery(
        client,
        store,
        policy,
        campaign_id,
        sendo_campaign_name(campaign_id, name),
        clock=clock,
    )


async def track_sendo_campaign(
    providers: Providers,
    store: Store,
    policy: PollPolicy,
    campaign_id: str,
    name: str | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> TrackedCampaign:
    """List the campaign once: every message tracked (as the campaign) and recorded as an answer.
    Raises `SendwatchError` (a bad ID, no Sendo key, the listing failed)."""
    discovery = sendo_discovery(providers, store, policy, campaign_id, name, clock=clock)
    found = await discovery.run_once()
    return TrackedCampaign(discovery.campaign_id, discovery.name, found)
