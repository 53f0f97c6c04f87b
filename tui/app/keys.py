"""The dashboard's keys (kept out of the screen's module, which stays small); `[keys]` in the
config remaps them by id. The help screen (screens/help.py) describes each."""

from __future__ import annotations

from textual.binding import Binding, BindingType

DASHBOARD_KEYS: list[BindingType] = [
    Binding("slash", "find", "Find", id="find"),
    Binding("r", "refresh", "Refresh", id="refresh"),
    Binding("R", "refresh_all", "Refresh all", show=False, id="refresh_all"),
    Binding("v", "toggle_raw", "Raw", id="raw"),
    Binding("c", "copy_id", "Copy ID", id="copy_id"),
    Binding("C", "copy_json", "Copy JSON", show=False, id="copy_json"),
    Binding("s", "toggle_summary", "Summary", id="summary"),
    Binding("i", "import_ids", "Import", show=False, id="import"),
    Binding("m", "send_message", "Send", show=False, id="send"),
    Binding("o", "toggle_sort", "Sort", show=False, id="sort"),
    Binding("x", "forget", "Forget", show=False, id="forget"),
    Binding("e", "act('resend')", "Resend", show=False, id="resend"),
    Binding("E", "act('resend', True)", "Resend all", show=False, id="resend_all"),
    Binding("u", "act('cancel')", "Cancel send", show=False, id="cancel"),
    Binding("U", "act('cancel', True)", "Cancel all", show=False, id="cancel_all"),
    Binding("escape", "back", "Back", show=False),
]
