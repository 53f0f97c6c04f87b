"""The detail pane: the selected message, the answer first, then every other field.

It owns what it shows and what is done to it: `show_message(id)` reads the message in a worker
(the newest request wins), `note_changed(ids)` re-reads it when one of those is the one shown,
`refresh_message` asks its provider now (through the monitor's lookup service), `forget` deletes
it, `copy_*` copy it; its own once-a-second tick redraws only the head line (the ages there). At
80x24 a looked-up message shows its status, its error with what to do, and its whole timeline
(up to ~8 statuses) without another key.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker

from tui.app.failures import worker_failure
from tui.app.toasts import part, toast_text
from tui.errors import SendwatchError
from tui.store import Store, Stored
from tui.textsafe import safe_text

if TYPE_CHECKING:
    from tui.services.monitor import Monitor

HINT = "Select a message, or press / and paste a message ID."
#: a refresh still unanswered after this long gives up (the poller keeps asking)
REFRESH_DEADLINE = 30.0


class DetailPane(VerticalScroll, can_focus=True):
    """Shows one stored message; `show_raw` swaps the fields for the provider's raw JSON."""

    WORKER_LABELS = {
        "detail": "Reading the selected message",
        "refresh": "Refresh",
        "forget": "Forgetting",
    }

    class Refreshed(Message):
        """The message was asked again and stored: its row may read differently."""

        def __init__(self, message_id: str) -> None:
            self.message_id = message_id
            super().__init__()

    class Forgotten(Message):
        def __init__(self, message_id: str) -> None:
            self.message_id = message_id
            super().__init__()

    def __init__(
        self, store: Store, *, clock: Callable[[], float] = time.time, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.store = store
        self.monitor: Monitor | None = None  # set once the dashboard is live (refreshes need it)
        self.clock = clock
        self.message_id: str | None = None  # what is shown (or being read)
        self.show_raw = False
        self.stored: Stored | None = None
        self.notice: str | None = None
        self.plain = ""  # what is shown, as plain text (tests, copy)
        self.loading = False
        self._parts: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="detail-head")
        yield Static(id="detail-answer")
        yield Static(id="detail-fields")

    def on_mount(self) -> None:
        self.redraw()
        self.set_interval(1.0, self.tick)

    # -- what to show ---------------------------------------------------------------------------
    def show_message(self, message_id: str | None) -> None:
        """Read and show this message (None: nothing selected)."""
        self.message_id = message_id
        if message_id is None:
            self.show(None)
        else:
            self.loading = True
            self._load(message_id)

    def note_changed(self, ids: Iterable[str]) -> None:
        """These messages were stored anew: re-read the one shown, if it is among them."""
        if self.message_id is not None and self.message_id in ids:
            self.show_message(self.message_id)

    def reload(self) -> None:
        self.show_message(self.message_id)

    def show_notice(self, notice: str) -> None:
        """A line about no stored message ("Looking up…", why a lookup failed)."""
        self.show(None, notice)

    def toggle_raw(self) -> None:
        self.show_raw = not self.show_raw
        self.redraw()

    @work(group="detail", exclusive=True, exit_on_error=False)
    async def _load(self, message_id: str) -> None:
        store = self.store
        stored = await asyncio.to_thread(store.get, message_id)
        if stored is not None:
            self.loading = False
            self.show(stored)
            return
        row = await asyncio.to_thread(store.row, message_id)
        waiting = f"{safe_text(message_id)}: waiting for the first answer from the provider."
        if row and row.last_error:
            waiting += f"\nLast attempt: {safe_text(row.last_error, single_line=True, limit=300)}"
        self.loading = False
        self.show(None, waiting)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS)
        if failure is None:
            return
        if event.worker.group == "detail":
            self.loading = False
            self.show(None, toast_text("Could not read this message: {}", failure.error))
        self.post_message(failure)

    # -- what is done to it ---------------------------------------------------------------------
    @work(group="refresh", exclusive=True, exit_on_error=False)
    async def refresh_message(self, message_id: str) -> None:
        """Ask the message's provider now (with Sent.dm's activity log) and show the answer."""
        monitor = self.monitor
        if monitor is None or not await monitor.wait_ready(REFRESH_DEADLINE):
            return
        service = monitor.lookup_service()
        try:
            result = await service.refresh(message_id, timeout=REFRESH_DEADLINE)
        except SendwatchError as exc:
            self.notify(part(exc, 400), severity="error", timeout=8)
            return
        for note in result.notes:
            self.notify(toast_text("{}", part(note, 300)), severity="warning", timeout=8)
        self.note_changed([message_id])
        self.post_message(self.Refreshed(message_id))

    @work(group="forget", exit_on_error=False)
    async def forget(self) -> None:
        """Delete the message shown from history."""
        message_id = self.message_id
        if message_id is None:
            return
        await asyncio.to_thread(self.store.forget, message_id)
        self.show_message(None)
        self.notify(toast_text("Forgot {}", message_id[:8]))
        self.post_message(self.Forgotten(message_id))

    def copy_id(self) -> None:
        if self.message_id:
            self.app.copy_to_clipboard(self.message_id)
            self.notify(toast_text("Copied {}", self.message_id))

    def copy_json(self) -> None:
        from tui.serialize import message_to_dict

        if self.stored is not None:
            answer = message_to_dict(self.stored.message, self.stored.fetched_at)
            self.app.copy_to_clipboard(json.dumps(answer, indent=2))
            self.notify("Copied the message as JSON")

    # -- drawing --------------------------------------------------------------------------------
    def show(self, stored: Stored | None, notice: str | None = None) -> None:
        self.stored, self.notice = stored, notice
        self.redraw()

    def _put(self, part: str, lines: list[Text]) -> None:
        """Update one region only when its text changed: a tick that changes one age redraws one line."""
        plain = "\n".join(t.plain for t in lines)
        before = self._parts.get(part)
        if before != plain:
            self._parts[part] = plain
            # the head is one unwrapped line: a new age there needs no layout pass; others wrap
            self.query_one(f"#detail-{part}", Static).update(
                Group(*lines) if lines else "", layout=part != "head" or before is None
            )

    def _head(self) -> list[Text]:
        from tui.app.widgets.detail_text import describe_head  # a message shown: loaded by then

        assert self.stored is not None
        head = [describe_head(self.stored, self.clock())]
        if self.notice:
            head.insert(0, Text(self.notice, style="yellow"))
        return head

    def tick(self) -> None:
        """Once a second: only the head line reads the clock (polled … ago, next in …)."""
        if self.stored is not None and not self.show_raw and "head" in self._parts:
            self._put("head", self._head())

    def redraw(self) -> None:
        if self.stored is None:
            parts = {"head": [Text(self.notice or HINT, style="dim")], "answer": [], "fields": []}
            self._show(parts)
            return
        from tui.app.widgets.detail_text import describe_answer, describe_fields, describe_raw

        if self.show_raw:
            title = Text("Raw provider response (v to hide)", style="bold underline")
            parts = {"head": [title], "answer": describe_raw(self.stored), "fields": []}
        else:
            parts = {
                "head": self._head(),
                "answer": describe_answer(self.stored),
                "fields": describe_fields(self.stored),
            }
        self._show(parts)

    def _show(self, parts: dict[str, list[Text]]) -> None:
        for region, lines in parts.items():
            self._put(region, lines)
        self.plain = "\n".join(
            self._parts[p] for p in ("head", "answer", "fields") if self._parts.get(p)
        )
