"""The app's own commands in the command palette (ctrl+p): every action, plus filters and export.

Textual parses palette titles and help texts as markup: everything here is our own wording. A
command that ever names something from outside (a campaign name from a file, a provider string)
must pass it through `tui.app.toasts.markup_literal`.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand

from tui.app.screens.dashboard import DashboardScreen
from tui.app.toasts import markup_literal
from tui.model import Provider, Status


def palette_commands(screen: DashboardScreen) -> Iterable[SystemCommand]:
    """The dashboard's actions for the palette ."""
    yield SystemCommand(
        "Look up a message ID",
        "Focus the find bar: paste an ID and press Enter",
        screen.action_find,
    )
    yield SystemCommand(
        "Refresh selected",
        "Ask the provider for the selected message now (r)",
        screen.action_refresh,
    )
    yield SystemCommand(
        "Refresh all pending", "Poll every message that is not final (R)", screen.action_refresh_all
    )
    yield SystemCommand(
        "Copy ID", "Copy the selected message ID to the clipboard (c)", screen.action_copy_id
    )
    yield SystemCommand(
        "Copy JSON", "Copy the selected message as JSON (C)", screen.action_copy_json
    )
    yield SystemCommand(
        "Raw JSON", "Show/hide the provider's raw response (v)", screen.action_toggle_raw
    )
    yield SystemCommand(
        "Toggle sort", "Newest first / last changed first (o)", screen.action_toggle_sort
    )
    if not screen.guard.on:  # read-only mode: nothing that changes the history or a provider
        yield SystemCommand(
            "Forget message", "Remove the selected message from history (x)", screen.action_forget
        )
    yield SystemCommand(
        "Campaign summary", "Show/hide the campaign summary (s)", screen.action_toggle_summary
    )
    yield SystemCommand(
        "Import IDs", "Track the IDs in a file as a campaign (i)", screen.action_import_ids
    )
    if not screen.guard.on:
        yield SystemCommand(
            "Send a test message",
            "Send with a provider (sandbox by default) and watch it arrive (m)",
            screen.action_send_message,
        )
    if not screen.guard.on:
        yield SystemCommand(
            "Resend selected",
            "Sent.dm: resend the selected message, the same ID as a new billed attempt (e)",
            lambda: screen.action_act("resend"),
        )
        yield SystemCommand(
            "Resend all in view",
            "Sent.dm: resend every delivered, failed, blocked or read message shown (E, asks first)",
            lambda: screen.action_act("resend", True),
        )
        yield SystemCommand(
            "Cancel selected scheduled send",
            "Sent.dm: call off the selected scheduled message (u)",
            lambda: screen.action_act("cancel"),
        )
        yield SystemCommand(
            "Cancel all scheduled in view",
            "Sent.dm: call off every scheduled message shown (U, asks first)",
            lambda: screen.action_act("cancel", True),
        )
    yield SystemCommand(
        "Export CSV",
        "Write the messages in the current view to a CSV file",
        lambda: screen.action_export("csv"),
    )
    yield SystemCommand(
        "Export JSON",
        "Write the messages in the current view to a JSON file",
        lambda: screen.action_export("json"),
    )
    if not screen.guard.on:
        yield SystemCommand(
            "Clear history", "Delete every cached message (asks first)", screen.action_clear_history
        )
    yield SystemCommand("Filter: all statuses", "Show every status", lambda: screen.show_filter())
    for status in [*(s.value for s in Status), "blocked", "filtered", "expired"]:
        yield SystemCommand(
            f"Filter: {status}",
            f"Show only {status} messages",
            lambda s=status: screen.show_filter(status=s),
            discover=False,
        )
    yield SystemCommand(
        "Filter: all providers",
        "Show both providers",
        lambda: screen.show_filter(),
        discover=False,
    )
    for provider in Provider:
        yield SystemCommand(
            f"Filter: {provider.label}",
            f"Show only {provider.label} messages",
            lambda p=provider.value: screen.show_filter(provider=p),
            discover=False,
        )
    yield SystemCommand(
        "Campaign: all messages",
        "Show every message, in any campaign or none",
        lambda: screen.show_campaign(None),
        discover=False,
    )
    campaigns = screen.history.campaigns if screen.history is not None else []
    for name, count in campaigns[
        :200
    ]:  # names come from files and the command line (cached: no I/O here)
        yield SystemCommand(
            f"Campaign: {markup_literal(name, 60)}",
            f"Show only this campaign ({count} messages)",
            lambda n=name: screen.show_campaign(n),
            discover=False,
        )
