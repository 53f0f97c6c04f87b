"""A yes/no question (clear history) that needs a deliberate key."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.textsafe import safe_text


class ConfirmScreen(ModalScreen[bool]):
    """The question may quote names from files (a campaign): it is drawn as `Text`, never markup."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(
                Text(safe_text(self.question) + "\n\n", style="bold")
                + Text("y: yes    n / Esc: no", style="dim")
            )

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
