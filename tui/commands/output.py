"""Shared CLI output helpers: errors on stderr, human-readable message text, all sanitized."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from tui.model import Message, Status
from tui.textsafe import safe_text

GLYPHS = {
    Status.CREATED: "·", Status.SCHEDULED: "◷", Status.QUEUED: "…", Status.SENT: "→",
    Status.DELIVERED: "✓", Status.READ: "✓✓", Status.FAILED: "✗", Status.UNKNOWN: "?",
}


def fail(message: str, code: int) -> int:
    print(f"sendwatch: {safe_text(message)}", file=sys.stderr)
    return code


def fmt_time(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def describe(msg: Message) -> str:
    """The human form of `sendwatch get`: the answer first, then the details, then the timeline."""
    s = lambda v: safe_text(v) if v not in (None, "") else "-"  # noqa: E731
    lines = [
        f"{msg.id}  {msg.provider.label}  {GLYPHS[msg.status]} {msg.status.value} ({s(msg.provider_status)})",
    ]
    if msg.error:
        lines.append(f"Error      {s(msg.error.code)}: {s(msg.error.message)}")
    lines += [
        f"To         {s(msg.to)}",
        f"From       {s(msg.from_)}",
        f"Channel    {s(msg.channel)}",
        f"Created    {fmt_time(msg.created_at)}",
        f"Updated    {fmt_time(msg.last_event_time())}",
    ]
    if msg.template_name or msg.template_id:
        lines.append(f"Template   {s(msg.template_name)} ({s(msg.template_category)}) {s(msg.template_id)}")
    if msg.campaign:
        lines.append(f"Campaign   {s(msg.campaign)}")
    if msg.price is not None:
        lines.append(f"Price      {msg.price}")
    if msg.segments is not None:
        lines.append(f"Segments   {msg.segments}")
    for label, value in (("Header", msg.header), ("Body", msg.body), ("Footer", msg.footer)):
        if value:
            lines.append(f"{label:<10} {s(value)}")
    if msg.events:
        lines.append("Events")
        previous = None
        for e in msg.events:
            gap = f"  (+{(e.timestamp - previous).total_seconds():.1f}s)" if previous else ""
            seen = "  [observed by sendwatch]" if e.source.value == "observed" else ""
            lines.append(f"  {fmt_time(e.timestamp)}  {s(e.provider_status.lower()):<10} {s(e.description)}{gap}{seen}")
            previous = e.timestamp
    return "\n".join(lines)
