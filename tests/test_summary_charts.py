"""The summary's pictures as text (tui/app/widgets/summary_charts.py): shapes, not only colours,
tell the series apart, percentiles are marked under their bins, provider text stays literal."""

from __future__ import annotations

from tui.app.widgets import summary_charts as charts
from tui.services.report_summary import LatencyHistogram, Timeline


def test_the_timeline_stacks_delivered_failed_and_pending_in_shapes() -> None:
    line = Timeline(
        start=0.0, step=60.0, delivered=[0, 2, 4, 6], failed=[0, 0, 2, 2], pending=[8, 6, 2, 0]
    )
    rows = charts.timeline_chart(line, 4, 5).plain.split("\n")
    # Every bar is eight messages high in four rows: two messages a cell.
    columns = ["".join(r[c] for r in rows[:4][::-1]) for c in range(4)]
    assert columns == ["░░░░", "█░░░", "██▒░", "███▒"]  # bottom to top
    legend = charts.timeline_legend(line).plain
    assert legend.split() == ["█", "delivered", "6", "▒", "failed", "2", "░", "pending", "0"]


def test_the_histogram_marks_its_percentiles() -> None:
    hist = LatencyHistogram(width=5.0, counts=[0, 4, 8, 2, 0, 1], p50=7.0, p90=14.0, p99=29.0)
    rows = charts.latency_chart(hist, 6, 4).plain.split("\n")
    # Two rows of eighths, the tallest bin full: 4 of 8 is one row, 2 is half a row, 1 a quarter.
    assert rows[0] == "  █   " and rows[1] == " ██▄ ▂"
    assert rows[2] == " ▲▲  ▲"  # p50 in 5-10 s, p90 in 10-15 s, p99 in the last bin
    assert rows[3].startswith("0") and rows[3].endswith("30s+")
    legend = charts.latency_legend(hist).plain
    assert "p50 7.0s" in legend and "p90 14s" in legend and "p99 29s" in legend


def test_nothing_to_draw_says_so() -> None:
    empty = Timeline(None, 1.0, [0], [0], [0])
    assert charts.timeline_chart(empty, 10, 4).plain == "nothing sent yet"
    nothing = LatencyHistogram(1.0, [0, 0], None, None, None)
    assert charts.latency_chart(nothing, 10, 4).plain == "no delivery timed yet"


def test_a_cohort_row_shows_provider_text_literally() -> None:
    hostile = {
        "provider": "sendo",
        "channel": "[bold]x\x1b[2J",
        "country": None,
        "total": 3,
        "delivered": 1,
        "failed": 2,
        "delivery_rate": 1 / 3,
    }
    text = charts.cohort_line(hostile)
    assert "\x1b" not in text.plain and all(str(span.style) != "bold" for span in text.spans)
    assert text.plain.startswith("Sendo   [bold]x") and "??" in text.plain and "✗2" in text.plain
