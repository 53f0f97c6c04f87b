"""The summary's pictures as text: the campaign over time, the latency histogram, the cohorts.

Pure functions from the numbers (tui/services/report_summary.py) and a size to Rich `Text`, drawn
with block glyphs whose SHAPES tell the series apart (█ delivered, ▒ failed, ░ pending; ▲ marks
a percentile), so they read the same with NO_COLOR and on any terminal. Provider text (channels,
countries, codes) goes through `safe_text`. Each is a few hundred characters: far under a frame.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from tui import present
from tui.app.look import STATUS_STYLE
from tui.services.report_summary import LatencyHistogram, Timeline
from tui.textsafe import safe_text

DELIVERED, FAILED, PENDING = "█", "▒", "░"
BARS = " ▁▂▃▄▅▆▇█"  # eighths of a cell, for the histogram's bars
MARK = "▲"
PENDING_STYLE = "dim"


def _samples(values: list[int], columns: int) -> list[int]:
    """`columns` samples of cumulative `values` (each the value at the end of its column)."""
    n = len(values)
    return [values[min(n - 1, max(0, round((c + 1) * n / columns) - 1))] for c in range(columns)]


def timeline_chart(line: Timeline, width: int, height: int) -> Text:
    """Stacked bars since the first send: delivered at the bottom, failed, then pending."""
    text = Text(no_wrap=True, overflow="crop")
    bars = max(1, height - 1)
    columns = max(1, width)
    delivered = _samples(line.delivered, columns)
    failed = _samples(line.failed, columns)
    pending = _samples(line.pending, columns)
    top = max((d + f + p for d, f, p in zip(delivered, failed, pending, strict=True)), default=0)
    if line.start is None or top == 0:
        text.append("nothing sent yet", style="dim")
        return text
    rows = [[(" ", "")] * columns for _ in range(bars)]
    for c in range(columns):
        edges = (
            round(delivered[c] / top * bars),
            round((delivered[c] + failed[c]) / top * bars),
            round((delivered[c] + failed[c] + pending[c]) / top * bars),
        )
        for r in range(bars):
            if r < edges[0]:
                cell = (DELIVERED, STATUS_STYLE["delivered"])
            elif r < edges[1]:
                cell = (FAILED, STATUS_STYLE["failed"])
            elif r < edges[2]:
                cell = (PENDING, PENDING_STYLE)
            else:
                continue
            rows[bars - 1 - r][c] = cell
    for row in rows:
        for glyph, style in row:
            text.append(glyph, style=style)
        text.append("\n")
    span = present.age(line.step * len(line.delivered))
    text.append(_spread(f"{span} ago", "now", columns), style="dim")
    return text


def timeline_legend(line: Timeline) -> Text:
    """What the bars are, with the latest counts: '█ delivered 120 ▒ failed 40 ░ pending 6'."""
    last = -1
    text = Text(no_wrap=True, overflow="ellipsis")
    for glyph, word, values, style in (
        (DELIVERED, "delivered", line.delivered, STATUS_STYLE["delivered"]),
        (FAILED, "failed", line.failed, STATUS_STYLE["failed"]),
        (PENDING, "pending", line.pending, PENDING_STYLE),
    ):
        text.append(f"{glyph} {word} ", style=style)
        text.append(f"{values[last] if values else 0} ")
    return text


def latency_chart(hist: LatencyHistogram, width: int, height: int) -> Text:
    """Columns of eighth-blocks per bin, ▲ under the p50/p90/p99 bins, and the axis."""
    text = Text(no_wrap=True, overflow="crop")
    if not hist.total:
        text.append("no delivery timed yet", style="dim")
        return text
    bins = len(hist.counts)
    per_bin = max(1, width // bins)
    bars = max(1, height - 2)
    peak = max(hist.counts)
    for r in range(bars - 1, -1, -1):
        for count in hist.counts:
            eighths = round(count / peak * bars * 8) - r * 8
            glyph = BARS[max(0, min(8, eighths))]
            if count and r == 0 and eighths < 1:
                glyph = BARS[1]  # a bin with any delivery shows
            text.append(glyph * per_bin, style="cyan")
        text.append("\n")
    marks = [" "] * (bins * per_bin)
    for value in (hist.p50, hist.p90, hist.p99):
        if value is not None:
            marks[min(bins - 1, int(value // hist.width)) * per_bin] = MARK
    text.append("".join(marks), style="bold")
    text.append("\n")
    ends = _spread("0", f"{_seconds(hist.width * bins)}+", bins * per_bin)
    text.append(ends, style="dim")
    return text


def latency_legend(hist: LatencyHistogram) -> Text:
    """'▲ p50 2.5s  p90 31s  p99 1m' (the providers' creation-to-delivery times)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{MARK} ", style="bold")
    for name, value in (("p50", hist.p50), ("p90", hist.p90), ("p99", hist.p99)):
        text.append(f"{name} ", style="dim")
        text.append(f"{_seconds(value) if value is not None else '-'} ")
    return text


def cohort_line(cohort: dict[str, Any]) -> Text:
    """One cohort row: provider, channel, country, total, delivery rate, failures."""
    provider = present.provider_label(cohort["provider"])
    channel = safe_text(cohort["channel"] or "-", single_line=True, limit=8)
    country = safe_text(cohort["country"] or "??", single_line=True, limit=2)
    rate = cohort["delivery_rate"]
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{provider:<7} {channel:<8} {country:<2} {cohort['total']:>6} ")
    text.append(f"✓{rate:>5.0%}" if rate is not None else "✓    -", style=STATUS_STYLE["delivered"])
    if cohort["failed"]:
        text.append(f" ✗{cohort['failed']}", style=STATUS_STYLE["failed"])
    return text


def cohort_header() -> Text:
    return Text(
        f"{'cohort':<7} {'channel':<8} {'cc':<2} {'total':>5} {'deliv.':>5}",
        style="dim",
        no_wrap=True,
        overflow="ellipsis",
    )


def _seconds(value: float) -> str:
    """A latency: '850ms', '4.2s', '31s', '2m05s'."""
    if value < 1:
        return f"{value * 1000:.0f}ms"
    if value < 10:
        return f"{value:.1f}s"
    if value < 120:
        return f"{value:.0f}s"
    return f"{int(value // 60)}m{int(value % 60):02d}s"


def _spread(left: str, right: str, width: int) -> str:
    """`left` and `right` at the two ends of `width` columns."""
    gap = max(1, width - len(left) - len(right))
    return (left + " " * gap + right)[: max(width, 0)]
