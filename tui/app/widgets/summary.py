"""The campaign summary: progress, rates, status counts, changes per minute, failures by code.

Selecting a status or an error code in its list filters the message list to it.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import OptionList, Sparkline, Static
from textual.widgets.option_list import Option

from tui.app.format import GLYPH, STATUS_ORDER, STATUS_STYLE, age
from tui.store.summary import Summary
from tui.textsafe import safe_text


class CampaignSummary(Vertical):
    class FilterChosen(Message):
        def __init__(self, status: str | None, error_code: str | None) -> None:
            self.status = status
            self.error_code = error_code
            super().__init__()

    def compose(self) -> ComposeResult:
        yield Static(id="summary-head")
        yield Static(id="summary-rates")
        with Horizontal(id="summary-activity"):
            yield Static("changes/min, last 30 ", id="summary-spark-label")
            yield Sparkline([0], id="summary-spark")
        yield Static(id="summary-polling")
        yield OptionList(id="summary-filters")

    def show(self, summary: Summary, now: float, rate: float) -> None:
        head = Text()
        head.append(f"Campaign {safe_text(summary.name, limit=40)}" if summary.name else "All messages", style="bold")
        head.append(f" · {summary.total} messages")
        if summary.started:
            head.append(f" · started {age(now - summary.started)} ago", style="dim")
        self.query_one("#summary-head", Static).update(head)
        if summary.backlog:
            eta = f", ~{age(summary.backlog / rate)} to catch up" if rate else ""
            polling = Text(f"Polling: {summary.backlog} due now, most overdue by {age(summary.behind_seconds)}{eta}", style="yellow")
        else:
            polling = Text("Polling: up to date", style="green")
        self.query_one("#summary-polling", Static).update(polling)
        width = 24
        filled = round(summary.progress * width)
        rates = Text()
        rates.append("█" * filled, style="green")
        rates.append("░" * (width - filled), style="dim")
        rates.append(f" {summary.progress:4.0%} settled ({summary.settled}/{summary.total}) · ")
        rates.append(f"delivered {summary.rate('delivered', 'read'):.1%}", style=STATUS_STYLE["delivered"])
        rates.append(" · ")
        rates.append(f"failed {summary.rate('failed'):.1%}", style=STATUS_STYLE["failed"])
        self.query_one("#summary-rates", Static).update(rates)
        self.query_one("#summary-spark", Sparkline).data = summary.changes_per_minute or [0]
        options = self.query_one("#summary-filters", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_option(Option(Text("all statuses", style="dim"), id="all"))
        for status in STATUS_ORDER:
            n = summary.counts.get(status, 0)
            if n:
                line = Text(f"{GLYPH[status]} {status:<10} {n:>7}  {n / summary.total:6.1%}", style=STATUS_STYLE[status])
                kinds = summary.failure_kinds if status == "failed" else {}
                if len(kinds) > 1 or (kinds and "failed" not in kinds):
                    line.append("  " + ", ".join(f"{safe_text(k, single_line=True, limit=16)} {v}" for k, v in kinds.items()),
                                style="dim")
                options.add_option(Option(line, id=f"status:{status}"))
        for code, example, n in summary.errors:
            line = Text(f"  ✗ {safe_text(code, single_line=True, limit=24)} ×{n}  ", style=STATUS_STYLE["failed"])
            line.append(safe_text(example, single_line=True, limit=60), style="dim")
            options.add_option(Option(line, id=f"error:{code}"))
        if highlighted is not None and highlighted < options.option_count:
            options.highlighted = highlighted

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        kind, _, value = (event.option.id or "").partition(":")
        if kind == "status":
            self.post_message(self.FilterChosen(value, None))
        elif kind == "error":
            self.post_message(self.FilterChosen("failed", value))
        else:
            self.post_message(self.FilterChosen(None, None))
