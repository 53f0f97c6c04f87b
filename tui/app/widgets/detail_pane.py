"""The detail pane: the answer first (status, why it failed, the timeline), then every other field.

At 80x24 a looked-up message shows its status, its error with what to do, and its whole timeline
(up to ~8 statuses) without another key; the descriptive fields follow below.

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

from tui.app.format import (
    NO_RECEIPT,
    STATUS_STYLE,
    age,
    clock_time,
    gap,
    is_no_receipt,
    status_label,
)
from tui.model import EventSource, Message, fold_status, status_word
from tui.reasons import explain, explain_status
from tui.store import Stored
from tui.textsafe import safe_text
from tui.timeline import TimelineEntry, merge_events

SOURCE_MARK = {"provider": "●", "webhook": "▲", "observed": "◇"}


def _field(label: str, value: Any) -> Text | None:
    if value in (None, "", [], {}, ()):
        return None
    if isinstance(value, dict):
        value = "  ".join(f"{k}: {v}" for k, v in value.items())
    elif not isinstance(value, str):
        value = (
            json.dumps(value, ensure_ascii=False, default=str)
            if isinstance(value, list)
            else str(value)
        )
    line = Text()
    line.append(f"{label:<11}", style="bold")
    line.append(safe_text(value))
    return line


def _one_line(text: Text) -> Text:
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def describe_head(stored: Stored, now: float) -> Text:
    """Status, provider and freshness on one line: the first thing a look-up must answer."""
    msg: Message = stored.message
    word = status_word(msg.status, msg.provider_status)
    head = Text()
    head.append(
        status_label(msg.status.value, msg.provider_status),
        style=STATUS_STYLE.get(msg.status.value, ""),
    )
    if fold_status(msg.provider_status) not in (word, msg.status.value):
        head.append(f" ({safe_text(msg.provider_status, single_line=True, limit=30)})", style="dim")
    last = msg.last_event_time()
    if is_no_receipt(msg.provider.value, msg.status.value, last.timestamp() if last else None, now):
        head.append(f"  {NO_RECEIPT}", style="yellow")
    head.append(f"  {msg.provider.label}", style="bold")
    head.append(
        f"  · polled {age(now - stored.last_polled)} ago"
        if stored.last_polled
        else "  · never polled",
        style="dim",
    )
    head.append(
        "  · final" if stored.next_poll is None else f"  · next in {age(stored.next_poll - now)}",
        style="dim",
    )
    return _one_line(head)


def describe_answer(stored: Stored) -> list[Text]:
    """Why it failed (with what to do), then one line per status reached."""
    msg = stored.message
    lines: list[Text] = []
    if msg.error:
        err = Text()
        err.append("Error  ", style="bold red")
        err.append(
            safe_text(
                " ".join(x for x in (msg.error.code, msg.error.message) if x), single_line=True
            ),
            style="red",
        )
        lines.append(err)
        advice = explain(msg.provider, msg.error.code)
        if advice:
            lines.append(Text.assemble(("→ ", "bold"), advice))
    elif (meaning := explain_status(msg.provider_status)) is not None:
        lines.append(Text.assemble(("→ ", "bold"), meaning))
    if stored.poll_errors:
        lines.append(
            _one_line(
                Text(
                    f"{stored.poll_errors} failed polls: "
                    f"{safe_text(stored.last_error or '', single_line=True, limit=200)}",
                    style="yellow",
                )
            )
        )
    lines += describe_timeline(merge_events(msg.events))
    return lines


def describe_timeline(entries: list[TimelineEntry]) -> list[Text]:
    """One line per status reached: time, gap since the previous one, word, reason, who saw it."""
    out = [Text("Timeline", style="bold underline")]
    previous = None
    for entry in entries:
        style = STATUS_STYLE.get(entry.status.value, "")
        line = Text()
        line.append(
            SOURCE_MARK[entry.source.value] + " ",
            style="dim" if entry.source is EventSource.OBSERVED else style,
        )
        line.append(clock_time(entry.timestamp, millis=True)[11:-1], style="bold")
        line.append(
            f" {gap((entry.timestamp - previous).total_seconds()) if previous else '':>7} ",
            style="cyan",
        )
        line.append(
            f"{safe_text(fold_status(entry.provider_status), single_line=True, limit=16):<10}",
            style=style,
        )
        if entry.reason_code or entry.reason:
            line.append(
                " "
                + safe_text(
                    " ".join(x for x in (entry.reason_code, entry.reason) if x),
                    single_line=True,
                    limit=200,
                ),
                style="red",
            )
        elif entry.description:
            line.append(" " + safe_text(entry.description, single_line=True, limit=200))
        line.append(_who(entry), style="dim italic")
        out.append(_one_line(line))
        previous = entry.timestamp
    if len(out) == 1:
        out.append(Text("no events yet", style="dim"))
    return out


def _who(entry: TimelineEntry) -> str:
    if entry.source is EventSource.OBSERVED:
        return "  (seen by sendwatch)"
    if entry.source is EventSource.WEBHOOK:
        return "  (pushed)"
    after = entry.seen_after
    return f"  (seen {gap(after)[1:]} later)" if after is not None else ""


def describe_fields(stored: Stored) -> list[Text]:
    """Everything else the provider said, after the answer."""
    msg = stored.message
    lines = [
        _field("ID", msg.id),
        _field("To", msg.to),
        _field("From", msg.from_),
        _field("Channel", msg.channel),
        _field("Direction", msg.direction),
        _field("Body", msg.body),
        _field("Subject", msg.subject),
        _field("Header", msg.header),
        _field("Footer", msg.footer),
        _field("Buttons", msg.buttons),
        _field("Head media", msg.header_media),
        _field("Media", list(msg.media)),
        _field(
            "Template",
            " · ".join(x for x in (msg.template_name, msg.template_category, msg.template_id) if x),
        ),
        _field(
            "Campaign",
            ", ".join(
                dict.fromkeys([*([msg.campaign] if msg.campaign else []), *stored.campaigns])
            ),
        ),
        _field("Created", clock_time(msg.created_at, millis=True) if msg.created_at else None),
        _field(
            "Scheduled", clock_time(msg.scheduled_at, millis=True) if msg.scheduled_at else None
        ),
        _field("Sent", clock_time(msg.sent_at, millis=True) if msg.sent_at else None),
        _field(
            "Updated",
            clock_time(msg.last_event_time(), millis=True) if msg.last_event_time() else None,
        ),
        _field("Price", msg.price),
        _field("Contact $", msg.active_contact_price),
        _field("Segments", msg.segments),
        _field("Metadata", msg.metadata),
    ]
    return [line for line in lines if line is not None]


class DetailPane(VerticalScroll, can_focus=True):
    """Shows one stored message; `show_raw` swaps the fields for the provider's raw JSON."""

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.show_raw = False
        self.stored: Stored | None = None
        self.notice: str | None = None
        self.plain = ""  # what is shown, as plain text (tests, copy)
        self._parts: dict[str, str] = {}

    def compose(self):
        yield Static(id="detail-head")
        yield Static(id="detail-answer")
        yield Static(id="detail-fields")

    def show(self, stored: Stored | None, notice: str | None = None) -> None:
        self.stored, self.notice = stored, notice
        self.redraw()

    def _put(self, part: str, lines: list[Text]) -> None:
        """Update one region only when its text changed: a tick that changes one age redraws one line."""
        plain = "\n".join(t.plain for t in lines)
        before = self._parts.get(part)
        if before != plain:
            self._parts[part] = plain
            # the head is one unwrapped line: a new age there needs no layout pass; other regions wrap
            self.query_one(f"#detail-{part}", Static).update(
                Group(*lines) if lines else "", layout=part != "head" or before is None
            )

    def tick(self) -> None:
        """Once a second: only the head line reads the clock (polled … ago, next in …)."""
        if self.stored is not None and not self.show_raw and "head" in self._parts:
            head = [describe_head(self.stored, self.clock())]
            if self.notice:
                head.insert(0, Text(self.notice, style="yellow"))
            self._put("head", head)

    def redraw(self) -> None:
        now = self.clock()
        if self.stored is None:
            parts = {
                "head": [
                    Text(
                        self.notice or "Select a message, or press / and paste a message ID.",
                        style="dim",
                    )
                ],
                "answer": [],
                "fields": [],
            }
        elif self.show_raw:
            raw = json.dumps(self.stored.message.raw, indent=2, ensure_ascii=False, default=str)
            parts = {
                "head": [Text("Raw provider response (v to hide)", style="bold underline")],
                "answer": [Text(safe_text(raw))],
                "fields": [],
            }
        else:
            head = [describe_head(self.stored, now)]
            if self.notice:
                head.insert(0, Text(self.notice, style="yellow"))
            parts = {
                "head": head,
                "answer": describe_answer(self.stored),
                "fields": describe_fields(self.stored),
            }
        for part, lines in parts.items():
            self._put(part, lines)
        self.plain = "\n".join(
            self._parts[p] for p in ("head", "answer", "fields") if self._parts.get(p)
        )
