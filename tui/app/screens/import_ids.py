"""`i`: import message IDs from a file (text, CSV or a Sent.dm send response) as a campaign."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ImportScreen(ModalScreen[tuple[Path, str] | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="import-box"):
            yield Static(Text("Import message IDs", style="bold"))
            yield Static(Text("One ID per line (sentdm:/sendo: prefixes, # comments), a CSV with an id column, "
                              "or the JSON a Sent.dm send returned.", style="dim"))
            yield Input(placeholder="path to the file", id="import-path")
            yield Input(placeholder="campaign name (default: the file's name)", id="import-name")
            yield Static(Text("Enter: import    Esc: cancel", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        raw = self.query_one("#import-path", Input).value.strip()
        if not raw:
            self.query_one("#import-path", Input).focus()
            return
        path = Path(raw).expanduser()
        name = self.query_one("#import-name", Input).value.strip() or path.stem
        self.dismiss((path, name))

    def action_cancel(self) -> None:
        self.dismiss(None)
