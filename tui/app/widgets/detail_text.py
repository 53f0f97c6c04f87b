"""What the detail pane says about one stored message, as `rich.text.Text` lines.

The answer first (status, why it failed and what to do, one timeline row per status reached),
then every other field. Built from `Text` pieces, never from markup strings, so a body containing
`[bold]` or `[link=...]` is shown as those characters; `safe_text` removes control sequences first.
Words, times, gaps and reasons come from `tui.present`, as in `sendwatch get`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.text import Text

from tui import present
from tui.app.look import STATUS_STYLE
from tui.model import EventSource, Message, fold_status, status_word
from tui.reasons import explain, explain_status
from tui.store import Stored
from tui.textsafe import safe_text
from tui.timeline import TimelineEntry, by_attempt, merge_events


def _field(label: str, value: Any) -> Text | None:
    if value in (None, "", [], {}, ()):
        return None
    if isinstance(value, dict):
        value = "  ".join(f"{k}: {v}" for k, v in value.items())
    elif isinstance(value, list):
        value = json.dumps(value, ensure_ascii=False, default=str)
    elif not isinstance(value, str):
        value = str(value)
    line = Text()
    line.append(f"{label:<11}", style="bold")
    line.append(safe_text(value))
    return line


def one_line(text: Text) -> Text:
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def describe_head(stored: Stored, now: float) -> Text:
    """Status, provider and freshness on one line: the first thing a look-up must answer."""
    msg: Message = stored.message
    word = status_word(msg.status, msg.provider_status)
    head = Text()
    head.append(
        present.status_label(msg.status, msg.provider_status),
        style=STATUS_STYLE.get(msg.status.value, ""),
    )
    if fold_status(msg.provider_status) not in (word, msg.status.value):
        head.append(f" ({safe_text(msg.provider_status, single_line=True, limit=30)})", style="dim")
    last = msg.last_event_time()
    if present.is_no_receipt(msg.provider, msg.status, last.timestamp() if last else None, now):
        head.append(f"  {present.NO_RECEIPT}", style="yellow")
    if msg.attempt > 1:
        head.append(f"  attempt {msg.attempt}", style="bold magenta")
    head.append(f"  {msg.provider.label}", style="bold")
    head.append(
        f"  · polled {present.age(now - stored.last_polled)} ago"
        if stored.last_polled
        else "  · never polled",
        style="dim",
    )
    head.append(
        "  · final"
        if stored.next_poll is None
        else f"  · next in {present.age(stored.next_poll - now)}",
        style="dim",
    )
    return one_line(head)


def describe_answer(stored: Stored) -> list[Text]:
    """Why it failed (with what to do), then one line per status reached."""
    msg = stored.message
    lines: list[Text] = []
    if msg.error and (msg.error.code or msg.error.message):
        err = Text()
        err.append("Error  ", style="bold red")
        err.append(present.reason(msg.error.code, msg.error.message), style="red")
        lines.append(err)
        advice = explain(msg.provider, msg.error.code)
        if advice:
            lines.append(Text.assemble(("→ ", "bold"), advice))
    elif (meaning := explain_status(msg.provider_status)) is not None:
        lines.append(Text.assemble(("→ ", "bold"), meaning))
    if stored.poll_errors:
        lines.append(
            one_line(
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
    """One line per status reached: time, gap since the previous one, word, reason, who saw it;
    grouped under "Attempt 2 · resent 14:02" once a resend made the same ID start over."""
    out = [Text("Timeline", style="bold underline")]
    groups = by_attempt(entries)
    for number, group in groups:
        if len(groups) > 1:
            out.append(attempt_heading(number, group[0].timestamp))
        out += _timeline_rows(group)
    if len(out) == 1:
        out.append(Text("no events yet", style="dim"))
    return out


def attempt_heading(number: int, started: datetime) -> Text:
    """`Attempt 2 · resent 14:02`: where an attempt's rows begin."""
    return Text(present.attempt_title(number, started), style="bold magenta")


def _timeline_rows(entries: list[TimelineEntry]) -> list[Text]:
    out: list[Text] = []
    previous = None
    for entry in entries:
        style = STATUS_STYLE.get(entry.status.value, "")
        line = Text()
        line.append(
            present.SOURCE_MARK[entry.source] + " ",
            style="dim" if entry.source is EventSource.OBSERVED else style,
        )
        line.append(present.clock_time(entry.timestamp, millis=True)[11:-1], style="bold")
        since = present.gap((entry.timestamp - previous).total_seconds()) if previous else ""
        line.append(f" {since:>7} ", style="cyan")
        word = safe_text(fold_status(entry.provider_status), single_line=True, limit=16)
        line.append(f"{word:<10}", style=style)
        why = present.reason(entry.reason_code, entry.reason)
        if why:
            line.append(" " + safe_text(why, single_line=True, limit=200), style="red")
        elif entry.description:
            line.append(" " + safe_text(entry.description, single_line=True, limit=200))
        note = present.seen_note(entry)
        if note:
            line.append(f"  ({note})", style="dim italic")
        out.append(one_line(line))
        previous = entry.timestamp
    return out


def describe_fields(stored: Stored) -> list[Text]:
    """Everything else the provider said, after the answer."""
    msg = stored.message
    when = present.clock_time
    updated = msg.last_event_time()
    campaigns = dict.fromkeys([*([msg.campaign] if msg.campaign else []), *stored.campaigns])
    template = (msg.template_name, msg.template_category, msg.template_id)
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
        _field("Template", " · ".join(x for x in template if x)),
        _field("Campaign", ", ".join(campaigns)),
        _field("Created", when(msg.created_at, millis=True) if msg.created_at else None),
        _field("Scheduled", when(msg.scheduled_at, millis=True) if msg.scheduled_at else None),
        _field("Sent", when(msg.sent_at, millis=True) if msg.sent_at else None),
        _field("Updated", when(updated, millis=True) if updated else None),
        _field("Price", msg.price),
        _field("Contact $", msg.active_contact_price),
        _field("Segments", msg.segments),
        _field("Metadata", msg.metadata),
    ]
    return [line for line in lines if line is not None]


#: what the raw view draws at most: a small answer nested thousands deep pretty-prints to tens of
#: millions of characters (indentation grows with depth) and froze the screen for seconds
RAW_MAX_DEPTH = 24
RAW_MAX_CHARS = 60_000


def _shallow(value: object, depth: int = 0) -> object:
    """`value` with everything nested deeper than RAW_MAX_DEPTH replaced by a marker (iterative
    enough: the depth is bounded, so the recursion is too)."""
    if depth >= RAW_MAX_DEPTH and isinstance(value, (dict, list)):
        return f"… nested deeper than {RAW_MAX_DEPTH} levels (C copies the message as JSON)"
    if isinstance(value, dict):
        return {str(k): _shallow(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_shallow(v, depth + 1) for v in value]
    return value


def describe_raw(stored: Stored) -> list[Text]:
    """The provider's raw answer, pretty-printed within bounds (still plain text: never markup)."""
    raw = json.dumps(_shallow(stored.message.raw), indent=2, ensure_ascii=False, default=str)
    if len(raw) > RAW_MAX_CHARS:
        cut = len(raw) - RAW_MAX_CHARS
        raw = raw[:RAW_MAX_CHARS] + f"\n… {cut:,} more characters (C copies the message as JSON)"
    return [Text(safe_text(raw))]
