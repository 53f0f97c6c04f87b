"""The campaign summary: progress, rates, status counts, changes per minute, failures by code.

It owns its refresh: while it is displayed it re-reads its campaign's numbers in a worker every
two seconds (`refresh_summary` also asks at once). Selecting a status or an error code in its
list posts `FilterChosen`; the screen filters the message list to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import OptionList, Sparkline, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from tui import present
from tui.app.failures import worker_failure
from tui.app.look import STATUS_STYLE
from tui.store import ListFilter, Store
from tui.store.summary import Summary, summarize
from tui.textsafe import safe_text

REFRESH_EVERY = 2.0


class CampaignSummary(Vertical):
    WORKER_LABELS = {"summary": "Campaign summary"}

    class FilterChosen(Message):
        def __init__(self, status: str | None, error_code: str | None) -> None:
            self.status = status
            self.error_code = error_code
            super().__init__()

    def __init__(
        self,
        store: Store,
        *,
        rate: Callable[[], float],
        clock: Callable[[], float] = time.time,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.store = store
        self.rate = rate  # requests/second the providers allow: the catch-up estimate
        self.clock = clock
        self.campaign: str | None = None  # whose numbers (None: every message)
        self.loaded = False
        self._shown: dict[str, str] = {}  # region -> the text it shows (redraw only on change)

    def compose(self) -> ComposeResult:
        yield Static(id="summary-head")
        yield Static(id="summary-rates")
        with Horizontal(id="summary-activity"):
            yield Static("changes/min, last 30 ", id="summary-spark-label")
            yield Sparkline([0], id="summary-spark")
        yield Static(id="summary-polling")
        yield OptionList(id="summary-filters")

    def on_mount(self) -> None:
        self.set_interval(REFRESH_EVERY, self.refresh_summary)

    def refresh_summary(self) -> None:
        """Read the numbers again (only while displayed: a hidden panel costs nothing)."""
        if self.display:
            self.loaded = False
            self._summarize(self.campaign)

    @work(group="summary", exclusive=True, exit_on_error=False)
    async def _summarize(self, campaign: str | None) -> None:
        now = self.clock()
        data = await asyncio.to_thread(summarize, self.store, ListFilter(campaign=campaign), now)
        self.show(data, now, self.rate())
        self.loaded = True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS)
        if failure is not None:
            self.post_message(failure)

    def _set(self, selector: str, text: Text) -> None:
        """Update a one-line region only when its text changed, without a layout pass."""
        if self._shown.get(selector) != text.plain:
            self._shown[selector] = text.plain
            self.query_one(selector, Static).update(text, layout=False)

    def show(self, summary: Summary, now: float, rate: float) -> None:
        """Redraw what changed: every 2 s most of the panel reads the same, and over SSH each
        repainted line is latency (the option list is rebuilt only when its text changes)."""
        head = Text()
        head.append(
            f"Campaign {safe_text(summary.name, limit=40)}" if summary.name else "All messages",
            style="bold",
        )
        head.append(f" · {summary.total} messages")
        if summary.started:
            head.append(f" · started {present.age(now - summary.started)} ago", style="dim")
        self._set("#summary-head", head)
        if summary.backlog:
            eta = f", ~{present.age(summary.backlog / rate)} to catch up" if rate else ""
            overdue = present.age(summary.behind_seconds)
            polling = Text(
                f"Polling: {summary.backlog} due now, most overdue by {overdue}{eta}",
                style="yellow",
            )
        else:
            polling = Text("Polling: up to date", style="green")
        self._set("#summary-polling", polling)
        width = 24
        filled = round(summary.progress * width)
        rates = Text()
        rates.append("█" * filled, style="green")
        rates.append("░" * (width - filled), style="dim")
        rates.append(f" {summary.progress:4.0%} settled ({summary.settled}/{summary.total}) · ")
        delivered = summary.rate("delivered", "read")
        rates.append(f"delivered {delivered:.1%}", style=STATUS_STYLE["delivered"])
        rates.append(" · ")
        rates.append(f"failed {summary.rate('failed'):.1%}", style=STATUS_STYLE["failed"])
        self._set("#summary-rates", rates)
        spark = summary.changes_per_minute or [0]
        if self._shown.get("#summary-spark") != repr(spark):
            self._shown["#summary-spark"] = repr(spark)
            self.query_one("#summary-spark", Sparkline).data = spark
        self._show_filters(summary)

    def _show_filters(self, summary: Summary) -> None:
        lines: list[tuple[Text, str]] = [(Text("all statuses", style="dim"), "all")]
        for status in present.STATUS_ORDER:
            n = summary.counts.get(status, 0)
            if not n:
                continue
            line = Text(
                f"{present.glyph(status)} {status:<10} {n:>7}  {n / summary.total:6.1%}",
                style=STATUS_STYLE[status],
            )
            kinds = summary.failure_kinds if status == "failed" else {}
            if len(kinds) > 1 or (kinds and "failed" not in kinds):
                words = ", ".join(
                    f"{safe_text(k, single_line=True, limit=16)} {v}" for k, v in kinds.items()
                )
                line.append(f"  {words}", style="dim")
            lines.append((line, f"status:{status}"))
        for code, example, n in summary.errors:
            line = Text(
                f"  ✗ {safe_text(code, single_line=True, limit=24)} ×{n}  ",
                style=STATUS_STYLE["failed"],
            )
            line.append(safe_text(example, single_line=True, limit=60), style="dim")
            lines.append((line, f"error:{code}"))
        for line, _ in lines:  # one row each: a wrapped option would shift the list's scroll
            line.no_wrap, line.overflow = True, "ellipsis"
        key = "\n".join(f"{option_id}\t{line.plain}" for line, option_id in lines)
        if self._shown.get("#summary-filters") == key:
            return
        self._shown["#summary-filters"] = key
        options = self.query_one("#summary-filters", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options([Option(line, id=option_id) for line, option_id in lines])
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
