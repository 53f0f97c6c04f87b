"""`i`: import message IDs from a file (text, CSV or a Sent.dm send response) as a campaign, or
track a whole Sendo campaign by its ID."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ImportScreen(ModalScreen[tuple[Path | str, str] | None]):
    """Dismisses with (file path, name), or (Sendo campaign ID as a str, name)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

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
            yield Static(Text("Enter: import    Esc: cancel", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        raw = self.query_one("#import-path", Input).value.strip()
        sendo = self.query_one("#import-sendo", Input).value.strip()
        if sendo and not raw:
            self.dismiss(
                (sendo, self.query_one("#import-name", Input).value.strip() or f"sendo:{sendo}")
            )
            return
        if not raw:
            self.query_one("#import-path", Input).focus()
            return
        path = Path(raw).expanduser()
        name = self.query_one("#import-name", Input).value.strip() or path.stem
        self.dismiss((path, name))

    def action_cancel(self) -> None:
        self.dismiss(None)
