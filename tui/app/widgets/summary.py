"""The campaign summary: the cause, rates, the campaign over time, latency, statuses and cohorts.

Its numbers are `sendwatch report`'s (tui/services/report_summary.py: one fold, read in a worker
and again only when the history changed); what the UI thread does is draw a few hundred glyphs
(summary_charts.py). It owns its refresh: while displayed it asks every two seconds
(`refresh_summary` also asks at once). Selecting a status, an error code or a cohort posts
`FilterChosen`; the screen filters the message list to it. Where the panel's share of the screen
is too small for the pictures (under 110 columns), showing it fills the screen
(Textual's maximize; Escape or choosing a row gives the list back).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from tui import present
from tui.app.failures import worker_failure
from tui.app.look import STATUS_STYLE
from tui.app.widgets import summary_charts as charts
from tui.services.report_summary import CampaignPictures, SummaryService, cause_parts
from tui.store import ListFilter, Store
from tui.store.summary import Summary, summarize
from tui.textsafe import safe_text

REFRESH_EVERY = 2.0
#: below this many columns the list (and the panel above it) shares the screen with the detail
#: below it, and the panel's share cannot hold the pictures (the dashboard's own breakpoint)
ROOMY_WIDTH = 110


class CampaignSummary(Vertical):
    WORKER_LABELS = {"summary": "Campaign summary"}
    ALLOW_MAXIMIZE = True
    DEFAULT_CSS = """
    #summary-cause { height: auto; max-height: 2; color: $warning; }
    #summary-pictures { height: 6; }
    #summary-timeline-box, #summary-latency-box { height: 6; }
    #summary-timeline-box { width: 3fr; }
    #summary-latency-box { width: 2fr; margin-left: 2; }
    #summary-timeline, #summary-latency { height: 5; }
    #summary-timeline-legend, #summary-latency-legend { height: 1; color: $text-muted; }
    #summary-lists { height: auto; }
    #summary-filters { width: 2fr; }
    CampaignSummary.-maximized #summary-cohorts { height: 1fr; }
    CampaignSummary.-maximized #summary-lists { height: 1fr; }
    #summary-cohorts {
        width: 3fr;
        height: 7;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        border: none;
        padding: 0;
        margin-left: 2;
    }
    """

    class FilterChosen(Message):
        """Filter the list to what was chosen: a status (and error code), or a cohort (provider,
        channel, country); what is None is not filtered on."""

        def __init__(
            self,
            status: str | None,
            error_code: str | None,
            *,
            provider: str | None = None,
            channel: str | None = None,
            country: str | None = None,
        ) -> None:
            self.status = status
            self.error_code = error_code
            self.provider = provider
            self.channel = channel
            self.country = country
            super().__init__()

        def view(self, campaign: str | None) -> ListFilter:
            """The list's view of what was chosen, within `campaign`."""
            return ListFilter(
                statuses=frozenset({self.status}) if self.status else frozenset(),
                error_code=self.error_code,
                campaign=campaign,
                provider=self.provider,
                channel=self.channel,
                country=self.country,
            )

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
        self.service = SummaryService(store)
        self._reading = threading.Lock()
        self._watching = False  # whether the screen's `maximized` is watched
        self.pictures: CampaignPictures | None = None  # the numbers on screen
        self._shown: dict[str, str] = {}  # region -> the text it shows (redraw only on change)
        self._cohorts: dict[str, dict[str, object]] = {}  # option id -> the cohort it filters to

    def compose(self) -> ComposeResult:
        yield Static(id="summary-head")
        cause = Static(id="summary-cause")
        cause.display = False  # until a cause is known (set here: a read can land before on_mount)
        yield cause
        yield Static(id="summary-rates")
        yield Static(id="summary-polling")
        with Horizontal(id="summary-pictures"):
            with Vertical(id="summary-timeline-box"):
                yield Static(id="summary-timeline")
                yield Static(id="summary-timeline-legend")
            with Vertical(id="summary-latency-box"):
                yield Static(id="summary-latency")
                yield Static(id="summary-latency-legend")
        with Horizontal(id="summary-lists"):
            yield OptionList(id="summary-filters")
            yield OptionList(id="summary-cohorts")

    def on_mount(self) -> None:
        self.set_interval(REFRESH_EVERY, self.refresh_summary)

    def on_show(self) -> None:
        """Shown where its share of the screen is too small for the pictures: fill the screen."""
        if self.screen.size.width < ROOMY_WIDTH and self.screen.maximized is None:
            if not self._watching:
                self._watching = True
                self.watch(self.screen, "maximized", self._maximized, init=False)
            self.screen.maximize(self, container=False)

    def _maximized(self, widget: object) -> None:
        """Filling the screen, the panel takes all of it: the stylesheet caps its share, and a
        height that followed its content would not be re-arranged when the cause line appears
        (the screen caches a maximized widget's place by the screen's size)."""
        filters = self.query_one("#summary-filters")
        if widget is self:
            self.styles.max_height = "100%"
            self.styles.height = "100%"
            filters.styles.height = "1fr"  # the lists take the rest of the screen
        else:
            self.styles.clear_rule("max_height")
            self.styles.clear_rule("height")
            filters.styles.clear_rule("height")

    def on_hide(self) -> None:
        if self.screen.maximized is self:
            self.screen.minimize()

    def on_resize(self) -> None:
        """Redraw the charts to their regions' new sizes (known once the layout is done)."""
        if self.pictures is not None:
            self.call_after_refresh(self._draw_pictures, self.pictures)

    def refresh_summary(self) -> None:
        """Read the numbers again (only while displayed: a hidden panel costs nothing)."""
        if self.display:
            self.loaded = False
            self._summarize(self.campaign)

    @work(group="summary", exclusive=True, exit_on_error=False)
    async def _summarize(self, campaign: str | None) -> None:
        now = self.clock()
        flt = ListFilter(campaign=campaign)
        data, pictures = await asyncio.to_thread(self._read, flt, now)
        self.show(data, now, self.rate(), pictures)
        self.loaded = True

    def _read(self, flt: ListFilter, now: float) -> tuple[Summary, CampaignPictures]:
        """The numbers (in a worker thread: the reads are the heavy part). One read at a time: a
        refresh that replaced a slow one waits for it, then mostly finds its result."""
        with self._reading:
            return summarize(self.store, flt, now), self.service.pictures(flt, now)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS)
        if failure is not None:
            self.post_message(failure)

    def _set(self, selector: str, text: Text, layout: bool = False) -> None:
        """Update a region only when its text changed (a fixed-height one without a layout pass)."""
        if self._shown.get(selector) != text.plain:
            self._shown[selector] = text.plain
            self.query_one(selector, Static).update(text, layout=layout)

    def show(self, summary: Summary, now: float, rate: float, pictures: CampaignPictures) -> None:
        """Redraw what changed: every 2 s most of the panel reads the same, and over SSH each
        repainted line is latency (the option lists are rebuilt only when their text changes)."""
        report = pictures.report
        total, final = report["total"], report["final"]
        head = Text()
        head.append(
            f"Campaign {safe_text(summary.name, limit=40)}" if summary.name else "All messages",
            style="bold",
        )
        head.append(f" · {total} messages")
        if summary.started:
            head.append(f" · started {present.age(now - summary.started)} ago", style="dim")
        self._set("#summary-head", head)
        cause = cause_parts(report)
        cause_text = Text(no_wrap=True, overflow="ellipsis")
        if cause is not None:
            cause_text.append(f"⚠ {cause[0]}", style="bold")
            if cause[1]:
                cause_text.append(f"\n  {cause[1]}", style="dim")
        self._set("#summary-cause", cause_text, layout=True)  # one line, or two with advice
        self.query_one("#summary-cause").display = cause is not None
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
        progress = final / total if total else 0.0
        filled = round(progress * width)
        rates = Text(no_wrap=True, overflow="ellipsis")
        rates.append("█" * filled, style="green")
        rates.append("░" * (width - filled), style="dim")
        rates.append(f" {progress:4.0%} settled ({final}/{total}) · ")
        rates.append(
            f"delivered {report['delivery_rate'] or 0.0:.1%}", style=STATUS_STYLE["delivered"]
        )
        rates.append(" · ")
        rates.append(f"failed {report['failure_rate'] or 0.0:.1%}", style=STATUS_STYLE["failed"])
        self._set("#summary-rates", rates)
        self.pictures = pictures
        self._draw_pictures(pictures)
        self._show_filters(summary, report)
        self._show_cohorts(pictures.cohorts)

    def _draw_pictures(self, pictures: CampaignPictures) -> None:
        """The charts, drawn to the size their regions have now."""
        timeline = self.query_one("#summary-timeline", Static).content_size
        if timeline.width and timeline.height:
            chart = charts.timeline_chart(pictures.timeline, timeline.width, timeline.height)
            self._set("#summary-timeline", chart)
        latency = self.query_one("#summary-latency", Static).content_size
        if latency.width and latency.height:
            chart = charts.latency_chart(pictures.latency, latency.width, latency.height)
            self._set("#summary-latency", chart)
        self._set("#summary-timeline-legend", charts.timeline_legend(pictures.timeline))
        self._set("#summary-latency-legend", charts.latency_legend(pictures.latency))

    def _show_filters(self, summary: Summary, report: dict[str, Any]) -> None:
        lines: list[tuple[Text, str]] = [(Text("all statuses", style="dim"), "all")]
        total = report["total"]
        for status in present.STATUS_ORDER:
            n = report["by_status"].get(status, 0)
            if not n:
                continue
            line = Text(
                f"{present.glyph(status)} {status:<9} {n:>6} {n / total:>4.0%}",
                style=STATUS_STYLE[status],
            )
            kinds = summary.failure_kinds if status == "failed" else {}
            if len(kinds) > 1 or (kinds and "failed" not in kinds):
                words = ", ".join(
                    f"{safe_text(k, single_line=True, limit=16)} {v}" for k, v in kinds.items()
                )
                line.append(f"  {words}", style="dim")
            lines.append((line, f"status:{status}"))
        codes: dict[str, tuple[str, int]] = {}  # code -> (a reason, count), both providers
        for failure in report["failures_by_code"]:
            if failure["code"] is not None and len(codes) < 8:
                reason, n = codes.get(failure["code"], (failure["reason"] or "", 0))
                codes[failure["code"]] = (reason, n + failure["count"])
        for code, (reason, n) in codes.items():
            line = Text(
                f"  ✗ {safe_text(code, single_line=True, limit=24)} ×{n}  ",
                style=STATUS_STYLE["failed"],
            )
            line.append(safe_text(reason, single_line=True, limit=60), style="dim")
            lines.append((line, f"error:{code}"))
        self._fill("#summary-filters", lines)

    def _show_cohorts(self, cohorts: list[dict[str, Any]]) -> None:
        lines: list[tuple[Text, str]] = [(charts.cohort_header(), "all")]
        self._cohorts = {}
        for n, cohort in enumerate(cohorts):
            option_id = f"cohort:{n}"
            self._cohorts[option_id] = cohort
            lines.append((charts.cohort_line(cohort), option_id))
        self._fill("#summary-cohorts", lines)

    def _fill(self, selector: str, lines: list[tuple[Text, str]]) -> None:
        """Rebuild an option list when its text changed, keeping the highlighted row."""
        for line, _ in lines:  # one row each: a wrapped option would shift the list's scroll
            line.no_wrap, line.overflow = True, "ellipsis"
        key = "\n".join(f"{option_id}\t{line.plain}" for line, option_id in lines)
        if self._shown.get(selector) == key:
            return
        before = self._shown.get(selector, "").split("\n")
        self._shown[selector] = key
        options = self.query_one(selector, OptionList)
        if [row.partition("\t")[0] for row in before] == [option_id for _, option_id in lines]:
            # the same rows, other numbers (the usual refresh): new prompts, no rebuild
            for index, (line, option_id) in enumerate(lines):
                if before[index] != f"{option_id}\t{line.plain}":
                    options.replace_option_prompt_at_index(index, line)
            return
        highlighted = options.highlighted
        options.clear_options()
        options.add_options([Option(line, id=option_id) for line, option_id in lines])
        if highlighted is not None and highlighted < options.option_count:
            options.highlighted = highlighted

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        kind, _, value = option_id.partition(":")
        if kind == "status":
            self.post_message(self.FilterChosen(value, None))
        elif kind == "error":
            self.post_message(self.FilterChosen("failed", value))
        elif kind == "cohort" and option_id in self._cohorts:
            cohort = self._cohorts[option_id]
            self.post_message(
                self.FilterChosen(
                    None,
                    None,
                    provider=_text(cohort["provider"]),
                    channel=_text(cohort["channel"]),
                    country=_text(cohort["country"]),
                )
            )
        else:
            self.post_message(self.FilterChosen(None, None))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
