"""`?`: the keys, the find syntax and the tips people ask for (copy over SSH, colours in tmux)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("/", "find: type to filter, paste an ID + Enter to look it up"),
    ("↑↓ jk PgUp PgDn g G", "move in the list (the mouse works too)"),
    ("Enter", "show the selected message's detail"),
    ("Esc", "back to the list / clear the filter"),
    ("r / R", "refresh the selected message now / every pending one"),
    ("v", "raw provider JSON on/off"),
    ("c / C", "copy the ID / the message JSON (OSC 52)"),
    ("s", "campaign summary on/off"),
    ("i", "import IDs from a file"),
    ("m", "send a test message (sandbox by default) and watch it"),
    ("o", "sort: newest first / last changed"),
    ("x", "forget the selected message"),
    ("e / E", "Sent.dm: resend the selected message / every eligible one in view (billed again)"),
    ("u / U", "Sent.dm: cancel the selected scheduled message / every scheduled one in view"),
    ("t", "switch theme"),
    ("ctrl+p", "command palette: every action, filters, export"),
    ("?", "this help"),
    ("q", "quit"),
]
FIND = [
    ("text", "matches ID, recipient, status, body, error code and reason"),
    ("status:failed,sent", "only these statuses (failed covers blocked, filtered, expired)"),
    ("status:blocked", "a provider's own word: blocked, filtered, expired, routed, …"),
    ("provider:sendo", "only one provider"),
    ("error:DELIVERY_003", "only this failure code (Sendo: 1009, …)"),
    ("campaign:NAME", "only one campaign"),
    ("sentdm:ID / sendo:ID", "look up at one provider only"),
]
STATUSES = [
    ("· created  … queued", "accepted / queued, processed, routed (the provider's word is shown)"),
    ("◷ scheduled → sent", "held until its time / handed to the carrier"),
    ("✓ delivered  ◉ read", "delivered; read receipts only on WhatsApp, RCS, Sendo MMS"),
    ("✗ failed", "failed, blocked, filtered, expired: the reason and what to do are in the detail"),
    ("⊘ cancelled  ↙ received", "a scheduled send called off / an inbound message"),
    ("sent, no receipt", "a Sendo message in SENT for over an hour (MMS often never report)"),
    ("● ▲ ◇ in the timeline", "said by the provider / pushed by webhook / seen by sendwatch"),
]
TIPS = (
    "Copy works over SSH through the terminal (OSC 52). Inside tmux add `set -g set-clipboard on` "
    "to ~/.tmux.conf; macOS Terminal.app ignores OSC 52 (iTerm2, kitty, WezTerm, Windows Terminal work).\n"
    "Wrong colours over SSH/tmux? Set TEXTUAL_COLOR_SYSTEM=256 (or truecolor), or pick the ansi-dark theme, "
    "which uses your terminal's palette. NO_COLOR is honoured: statuses keep their glyphs (✓ ✗ → …)."
)


def _table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, text in rows:
        table.add_row(key, text)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("sendwatch — keys", style="bold"))
            yield Static(_table("Keys", KEYS))
            yield Static(_table("Find bar", FIND))
            yield Static(_table("Statuses", STATUSES))
            yield Static(Text(TIPS))
            yield Static(Text("Esc closes this help.", style="dim"))
