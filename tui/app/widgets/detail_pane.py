"""The detail pane: every field the provider gave for the selected message, then its timeline.

Built from `rich.text.Text` pieces, never from markup strings, so a body containing `[bold]` or
`[link=...]` is shown as those characters; `safe_text` removes control sequences first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.app.format import STATUS_STYLE, age, clock_time, gap, status_label
from tui.model import EventSource, Message
from tui.store.history import Stored
from tui.textsafe import safe_text


def _field(label: str, value: Any) -> Text | None:
    if value in (None, "", [], {}, ()):
        return None
    if isinstance(value, dict):
        value = "  ".join(f"{k}: {v}" for k, v in value.items())
    elif not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, list) else str(value)
    line = Text()
    line.append(f"{label:<11}", style="bold")
    line.append(safe_text(value))
    return line


def describe_message(stored: Stored, now: float) -> list[Text]:
    msg: Message = stored.message
    head = Text()
    head.append(status_label(msg.status.value), style=STATUS_STYLE.get(msg.status.value, ""))
    head.append(f"  ({safe_text(msg.provider_status)})  ", style="dim")
    head.append(msg.provider.label, style="bold")
    lines: list[Text | None] = [head]
    if msg.error:
        err = Text()
        err.append("Error      ", style="bold red")
        err.append(safe_text(" ".join(x for x in (msg.error.code, msg.error.message) if x)), style="red")
        lines.append(err)
    freshness = Text()
    freshness.append("Polled     ", style="bold")
    freshness.append(f"{age(now - stored.last_polled)} ago" if stored.last_polled else "never")
    if stored.next_poll is None:
        freshness.append("  ·  final, not polled again", style="dim")
    else:
        freshness.append(f"  ·  next in {age(stored.next_poll - now)}", style="dim")
    if stored.poll_errors:
        freshness.append(f"  · {stored.poll_errors} failed polls: {safe_text(stored.last_error or '', single_line=True, limit=120)}", style="yellow")
    lines += [
        freshness,
        _field("ID", msg.id),
        _field("To", msg.to),
        _field("From", msg.from_),
        _field("Channel", msg.channel),
        _field("Direction", msg.direction),
        _field("Template", " · ".join(x for x in (msg.template_name, msg.template_category, msg.template_id) if x)),
        _field("Campaign", ", ".join(dict.fromkeys([*([msg.campaign] if msg.campaign else []), *stored.campaigns]))),
        _field("Created", clock_time(msg.created_at, millis=True) if msg.created_at else None),
        _field("Scheduled", clock_time(msg.scheduled_at, millis=True) if msg.scheduled_at else None),
        _field("Sent", clock_time(msg.sent_at, millis=True) if msg.sent_at else None),
        _field("Updated", clock_time(msg.last_event_time(), millis=True) if msg.last_event_time() else None),
        _field("Price", msg.price),
        _field("Contact $", msg.active_contact_price),
        _field("Segments", msg.segments),
        _field("Media", list(msg.media)),
        _field("Metadata", msg.metadata),
        _field("Header", msg.header),
        _field("Body", msg.body),
        _field("Footer", msg.footer),
        _field("Buttons", msg.buttons),
    ]
    return [line for line in lines if line is not None]


def describe_timeline(stored: Stored, now: float) -> list[Text]:
    """Each event with absolute and relative time and the gap since the previous one."""
    out = [Text("Timeline", style="bold underline")]
    previous = None
    for event in stored.message.events:
        observed = event.source is EventSource.OBSERVED
        style = STATUS_STYLE.get(event.status.value, "")
        line = Text()
        line.append("◇ " if observed else "● ", style="dim" if observed else style)
        line.append(clock_time(event.timestamp, millis=True)[11:], style="bold")
        line.append(f" {age(now - event.timestamp.timestamp()) + ' ago':>8}", style="dim")
        line.append(f" {gap((event.timestamp - previous).total_seconds()) if previous else '':>7}  ", style="cyan")
        line.append(safe_text(event.provider_status.lower(), single_line=True, limit=30), style=style)
        out.append(line)
        detail = Text("    ")
        detail.append(safe_text(event.description, single_line=True, limit=300))
        if observed:
            detail.append("  (seen by sendwatch)", style="dim italic")
        out.append(detail)
        previous = event.timestamp
    if len(out) == 1:
        out.append(Text("no events yet", style="dim"))
    return out


class DetailPane(VerticalScroll, can_focus=True):
    """Shows one stored message; `show_raw` swaps the fields for the provider's raw JSON."""

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.show_raw = False
        self.stored: Stored | None = None
        self.notice: str | None = None
        self.plain = ""  # what is shown, as plain text (tests, copy)
        self._drawn: Stored | None = None

    def compose(self):
        yield Static(id="detail-fields")
        yield Static(id="detail-timeline")

    def show(self, stored: Stored | None, notice: str | None = None) -> None:
        self.stored, self.notice = stored, notice
        self.redraw()

    def redraw(self) -> None:
        fields = self.query_one("#detail-fields", Static)
        timeline = self.query_one("#detail-timeline", Static)
        now = self.clock()
        if self.stored is None:
            text = Text(self.notice or "Select a message, or press / and paste a message ID.", style="dim")
            fields.update(text)
            timeline.update("")
            self.plain, self._drawn = text.plain, None
            return
        if self.show_raw:
            raw = json.dumps(self.stored.message.raw, indent=2, ensure_ascii=False, default=str)
            lines = [Text("Raw provider response (v to hide)", style="bold underline"), Text(safe_text(raw))]
            fields.update(Group(*lines))
            timeline.update("")
            self.plain, self._drawn = "\n".join(t.plain for t in lines), None
            return
        lines = describe_message(self.stored, now)
        if self.notice:
            lines.insert(0, Text(self.notice, style="yellow"))
        events = describe_timeline(self.stored, now)
        plain = "\n".join(t.plain for t in [*lines, *events])
        if plain == self.plain and self._drawn is self.stored:
            return  # the once-a-second tick changed nothing visible: no re-layout
        fields.update(Group(*lines))
        timeline.update(Group(*events))
        self.plain, self._drawn = plain, self.stored
