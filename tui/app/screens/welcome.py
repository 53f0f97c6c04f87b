"""First run with no provider configured: say how to configure, or to try the demo. Never a crash."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.textsafe import safe_text


class WelcomeScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,enter", "dismiss", "Browse history"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, config_path: str) -> None:
        super().__init__()
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("Welcome to sendwatch\n\n", style="bold")
        text.append("No provider is configured yet, so nothing can be looked up live.\n\n")
        text.append("Give it a key in one of these ways:\n")
        text.append("  export SENT_DM_API_KEY=…   ", style="bold")
        text.append("(Sent.dm)\n")
        text.append("  export SENDO_API_KEY=…     ", style="bold")
        text.append("(Sendo)\n")
        text.append("  sendwatch config init      ", style="bold")
        text.append(
            f"then edit {safe_text(self.config_path)}\n\n"
        )  # the path can come from $SENDWATCH_CONFIG
        text.append("Just looking? Quit (q) and run ")
        text.append("sendwatch --demo", style="bold")
        text.append(": the full app against a built-in simulator, no keys needed.\n\n")
        text.append("Esc / Enter: browse the cached history offline.", style="dim")
        with Vertical(id="welcome-box"):
            yield Static(text)
