"""A whole Sendo campaign by its ID, over real HTTP to the simulator's listing endpoint."""

from __future__ import annotations

from pathlib import Path

from tui.model import Provider, Status
from tui.polling.discovery import CampaignDiscovery
from tui.polling.policy import PollPolicy
from tui.providers.lookup import Providers
from tui.store import ListFilter, SQLiteStore


def _sendo(world, campaign: str, steps, **kw):
    return world.add_message(Provider.SENDO, steps, campaign=campaign, created=-30, **kw)


async def test_discovers_every_page_and_picks_up_new_messages(
    settings, world, sim, tmp_path: Path
) -> None:
    ours = [
        _sendo(world, "SPRNG001", [(0, "CREATED"), (1, "SENT"), (2, "DELIVERED")]) for _ in range(7)
    ]
    ours.append(
        _sendo(world, "SPRNG001", [(0, "CREATED"), (1, "FAILED")], error=("1002", "Invalid number"))
    )
    other = _sendo(world, "OTHER001", [(0, "CREATED")])
    store = SQLiteStore(tmp_path / "h.sqlite3")
    providers = Providers(settings)
    try:
        discovery = CampaignDiscovery(
            providers.client(Provider.SENDO), store, PollPolicy(), "SPRNG001", page_size=3
        )
        first = await discovery.run_once()
        assert (first.seen, first.new, first.pages) == (8, 8, 3)  # pages of 3, 3, 2
        ids = {r.id for r in store.page(ListFilter(campaign="sendo:SPRNG001"), 0, 50)}
        assert ids == {m.id for m in ours} and other.id not in ids
        failed = store.get(ours[-1].id)
        assert failed.message.status is Status.FAILED and failed.message.error.code == "1002"
        # listing answered for them: nothing is due for a single-message poll at once
        assert not store.due(store.row(ours[0].id).last_polled, 100, Provider.SENDO)

        late = _sendo(world, "SPRNG001", [(0, "CREATED")])
        second = await discovery.run_once()
        assert (second.seen, second.new) == (9, 1)
        assert store.row(late.id) is not None
        listed = [r for r in sim.records if r.message_id == "list:SPRNG001"]
        assert (
            len(listed) == 3 + 3 + 1
        )  # the second pass walked every page again (order is undocumented)
    finally:
        await providers.aclose()
        store.close()


async def test_unknown_campaign_is_an_empty_pass(settings, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.sqlite3")
    providers = Providers(settings)
    try:
        result = await CampaignDiscovery(
            providers.client(Provider.SENDO), store, PollPolicy(), "NOPE0000"
        ).run_once()
        assert (result.seen, result.new, result.pages) == (0, 0, 1)
    finally:
        await providers.aclose()
        store.close()
