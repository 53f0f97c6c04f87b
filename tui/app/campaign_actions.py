"""Campaign actions of the dashboard: the summary panel, importing IDs, exporting the view."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from tui.app.toasts import part, toast_text
from tui.app.widgets.message_list import MessageList
from tui.errors import SendwatchError
from tui.store import ListFilter

if TYPE_CHECKING:
    from tui.app.app import SendwatchApp
    from tui.app.widgets.summary import CampaignSummary


class CampaignActions:
    """Mixed into `SendwatchApp`; the summary widget and importers load on first use."""

    @work(group="discover", exclusive=True, exit_on_error=False)
    async def discover_campaign(self: SendwatchApp, campaign_id: str) -> None:
        """Keep listing a Sendo campaign (every minute) so messages sent later join the view."""
        from tui.model import Provider
        from tui.polling.discovery import CampaignDiscovery

        if self.providers is None or Provider.SENDO not in self.providers.clients:
            return
        discovery = CampaignDiscovery(
            self.providers.client(Provider.SENDO),
            self.store,
            self.policy,
            campaign_id,
            self.campaign or "",
            clock=self.clock,
        )
        await discovery.run(
            every=60.0,
            on_error=lambda exc: self.notify(
                toast_text("Listing Sendo campaign {} failed: {}", campaign_id, part(exc, 300)),
                severity="warning",
            ),
        )

    def summary_panel(self: SendwatchApp, show: bool | None = None) -> CampaignSummary:
        """The summary panel, mounted the first time it is wanted (keeps start-up light)."""
        from tui.app.widgets.summary import CampaignSummary

        found = self.query(CampaignSummary)
        if found:
            panel = found.first()
        else:
            panel = CampaignSummary(id="summary")
            panel.display = False
            self.query_one("#list-region").mount(panel, before=0)
        if show is not None:
            panel.display = show
            if show:
                self.update_summary()
        return panel

    @work(group="summary", exclusive=True, exit_on_error=False)
    async def update_summary(self) -> None:
        from tui.app.widgets.summary import CampaignSummary
        from tui.store.summary import summarize

        found = self.query(CampaignSummary)
        if not found or not found.first().display:
            return
        panel = found.first()
        now = self.clock()
        data = await asyncio.to_thread(
            summarize,
            self.store,
            ListFilter(campaign=self.model.filter.campaign or self.campaign),
            now,
        )
        panel.show(data, now, self.providers.request_rate() if self.providers else 0.0)

    def action_toggle_summary(self) -> None:
        panel = self.summary_panel()
        self.summary_panel(show=not panel.display)

    def on_campaign_summary_filter_chosen(self, event: CampaignSummary.FilterChosen) -> None:
        flt = ListFilter(
            statuses=frozenset({event.status}) if event.status else frozenset(),
            error_code=event.error_code,
            campaign=self.model.filter.campaign,
        )
        self._apply_filter(flt)
        self.query_one(MessageList).focus()

    def show_campaign(self: SendwatchApp, name: str | None) -> None:
        """Only this campaign's messages (None: every message), with its summary."""
        if name is not None:
            self.campaign = name
        self._apply_filter(ListFilter(campaign=name))
        if name is not None:
            self.summary_panel(show=True)

    def action_import_ids(self) -> None:
        from tui.app.screens.import_ids import ImportScreen

        def chosen(answer: tuple[Path | str, str] | None) -> None:
            if answer and isinstance(answer[0], str):
                self.import_sendo_campaign(*answer)
            elif answer:
                self.import_file(*answer)

        self.push_screen(ImportScreen(), chosen)

    @work(group="import", exit_on_error=False)
    async def import_file(self, path: Path, name: str) -> None:
        from tui.importers import read_ids

        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig", errors="replace")
        except OSError as exc:
            self.notify(toast_text("Cannot read {}: {}", path, exc.strerror), severity="error")
            return
        result = await asyncio.to_thread(read_ids, text)
        added = (
            await asyncio.to_thread(self.store.track, result.refs, campaign=name)
            if result.refs
            else 0
        )
        self.known_campaigns = await asyncio.to_thread(
            self.store.campaigns
        )  # the palette offers it at once
        problems = "; ".join(
            f"{part(p.where, 40)}: {part(p.reason, 120)}" for p in result.problems[:3]
        )
        more = f" (+{len(result.problems) - 3} more)" if len(result.problems) > 3 else ""
        text = toast_text("{}; {} new in {}", result.summary(), added, name)
        if problems:
            text += toast_text(". Skipped {}{}", problems, more, limit=600)
        self.notify(text, severity="warning" if result.problems else "information", timeout=12)
        if result.refs:
            self.campaign = name
            self._apply_filter(ListFilter(campaign=name))
            self.summary_panel(show=True)
            if self.poller:
                self.poller.wake()

    @work(group="import", exit_on_error=False)
    async def import_sendo_campaign(self, campaign_id: str, name: str) -> None:
        """A whole Sendo campaign: list it now, show it, and keep listing it while the app runs."""
        from tui.model import Provider
        from tui.polling.discovery import CampaignDiscovery
        from tui.providers.sending import SENDO_CAMPAIGN

        if not SENDO_CAMPAIGN.match(campaign_id):
            self.notify(
                toast_text("Not a Sendo campaign ID: {} (8 letters or digits)", campaign_id),
                severity="error",
            )
            return
        if self.providers is None or Provider.SENDO not in self.providers.clients:
            self.notify("Sendo is not configured: set SENDO_API_KEY first", severity="error")
            return
        discovery = CampaignDiscovery(
            self.providers.client(Provider.SENDO),
            self.store,
            self.policy,
            campaign_id,
            name,
            clock=self.clock,
        )
        try:
            found = await discovery.run_once()
        except SendwatchError as exc:
            self.notify(
                toast_text("Listing Sendo campaign {} failed: {}", campaign_id, part(exc, 300)),
                severity="error",
            )
            return
        self.known_campaigns = await asyncio.to_thread(self.store.campaigns)
        self.notify(
            toast_text(
                "Sendo campaign {}: {} messages, tracked as {}", campaign_id, found.seen, name
            ),
            timeout=10,
        )
        self.campaign = name
        self._apply_filter(ListFilter(campaign=name))
        self.summary_panel(show=True)
        self.discover_campaign(campaign_id)

    def action_export(self, fmt: str = "csv") -> None:
        self.export_view(fmt)

    @work(group="export", exit_on_error=False, thread=True)
    def export_view(self, fmt: str) -> None:
        from tui.export import write_export

        folder = self.settings.history_path().parent / "exports"
        target = folder / f"sendwatch-{time.strftime('%Y%m%d-%H%M%S')}.{fmt}"
        flt = self.model.filter
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with target.open("w", encoding="utf-8", newline="") as out:
                count = write_export(self.store, flt, fmt, out)
        except OSError as exc:
            self.notify(toast_text("Export failed: {}", exc.strerror), severity="error")
            return
        self.notify(toast_text("Exported {} messages to {}", count, target), timeout=12)
