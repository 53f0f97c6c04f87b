"""`i`: import message IDs from a file (text, CSV or a Sent.dm send response) as a campaign, or
track a whole Sendo campaign by its ID.

The screen does the import itself (`tui.services.campaigns`, the same path as `sendwatch watch`)
and stays open until it is done: a file that cannot be read or a campaign that cannot be listed is
said here, and the user can fix the path. It tells what it imported and dismisses with the campaign to show (`ImportDone`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static
from textual.worker import Worker

from tui.app.failures import worker_failure
from tui.errors import SendwatchError
from tui.services.campaigns import import_file
from tui.services.monitor import Monitor
from tui.store import Store
from tui.textsafe import safe_text

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel


@dataclass(frozen=True)
class ImportDone:
    """What was imported (and told): the campaign to show, and a Sendo campaign to keep listing."""

    campaign: str
    listing: str | None = None


class ImportScreen(ModalScreen[ImportDone | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    WORKER_LABELS = {"import": "Import"}

    def __init__(self, store: Store, monitor: Monitor) -> None:
        super().__init__()
        self.store = store
        self.monitor = monitor
        self.working = False

    def compose(self) -> ComposeResult:
        with Vertical(id="import-box"):
            yield Static(Text("Import message IDs", style="bold"))
            yield Static(
                Text(
                    "One ID per line (sentdm:/sendo: prefixes, # comments), a CSV with an id column, "
                    "or the JSON a Sent.dm send returned.",
                    style="dim",
                )
            )
            yield Input(placeholder="path to the file", id="import-path")
            yield Input(
                placeholder="…or a Sendo campaign ID (8 characters): track the whole campaign",
                id="import-sendo",
            )
            yield Input(placeholder="campaign name (default: the file's name)", id="import-name")
            yield Static("", id="import-problem")
            yield Static(Text("Enter: import    Esc: cancel", style="dim"))

    def _value(self, name: str) -> str:
        return self.query_one(f"#import-{name}", Input).value.strip()

    def _say(self, text: str, *, problem: bool = False) -> None:
        line = Text("⚠ " if problem else "", style="bold yellow")
        line.append(
            safe_text(text, single_line=True, limit=300), style="yellow" if problem else "dim"
        )
        self.query_one("#import-problem", Static).update(line)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.working:
            return
        path, sendo, name = self._value("path"), self._value("sendo"), self._value("name")
        if sendo and not path:
            self.working = True
            self._say(f"Listing Sendo campaign {sendo}…")
            self._import_sendo(sendo, name or None)
        elif path:
            self.working = True
            self._say("Importing…")
            self._import_file(Path(path).expanduser(), name or None)
        else:
            self.query_one("#import-path", Input).focus()

    @work(group="import", exclusive=True, exit_on_error=False)
    async def _import_file(self, path: Path, name: str | None) -> None:
        try:
            imported = await asyncio.to_thread(import_file, self.store, path, name)
        except SendwatchError as exc:
            self.working = False
            self._say(str(exc), problem=True)
            return
        told, skipped = imported.summary(), imported.skipped()
        severity: SeverityLevel = "warning" if skipped else "information"
        self.notify(
            told + (f". Skipped {skipped}" if skipped else ""), severity=severity, timeout=12
        )
        if imported.result.refs:
            self.monitor.wake()
        self.dismiss(ImportDone(imported.campaign))

    @work(group="import", exclusive=True, exit_on_error=False)
    async def _import_sendo(self, campaign_id: str, name: str | None) -> None:
        try:
            tracked = await self.monitor.track_campaign(campaign_id, name)
        except SendwatchError as exc:
            self.working = False
            self._say(f"Listing Sendo campaign failed: {exc}", problem=True)
            return
        self.notify(tracked.summary(), timeout=12)
        self.dismiss(ImportDone(tracked.name, listing=tracked.campaign_id))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS)
        if failure is not None:
            self.working = False
            self._say(f"Import failed: {type(failure.error).__name__}", problem=True)
            self.post_message(failure)

    def action_cancel(self) -> None:
        self.dismiss(None)
