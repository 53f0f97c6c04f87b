"""The summary's numbers (tui/services/report_summary.py) over real HTTP: the report's fold plus the
campaign over time and the latency histogram, read again only when the history changed."""

from __future__ import annotations

from tests.test_report import seeded  # noqa: F401 (a fixture: the report's seeded campaign)
from tui.ids import MessageRef
from tui.model import Provider
from tui.services.report import build_report
from tui.services.report_summary import (
    STALE_AFTER,
    SummaryService,
    build_pictures,
    cause_line,
    histogram,
)
from tui.store import ListFilter

SPRING = ListFilter(campaign="spring")


def test_the_pictures_say_what_the_report_says(seeded) -> None:  # noqa: F811
    store, now = seeded
    pictures = build_pictures(store, SPRING, now)
    assert pictures.report == build_report(store, SPRING, now)
    line = pictures.timeline
    # Sent six hours ago: 60 slices of six minutes. Everything ended in the first slice but
    # Sendo's EXPIRED (at 400 s: the second); the never-answered message was tracked a minute ago.
    assert line.step == 360.0
    assert line.delivered == [8] * 60
    assert line.failed == [7] + [8] * 59
    assert line.pending == [3] + [2] * 58 + [3]
    # Latencies 10..60 s: p99 60 s, bins of 5 s (60 x 1.1 / 24 rounded up to 1-2-5).
    hist = pictures.latency
    assert (hist.width, hist.p50, hist.p90, hist.p99, hist.total) == (5.0, 25.0, 60.0, 60.0, 8)
    assert [i for i, n in enumerate(hist.counts) for _ in range(n)] == [2, 3, 4, 5, 6, 7, 8, 12]
    assert cause_line(pictures.report) == (
        "Sendo · US · 1350 Rejected by the carrier: 62 % of failures (5). "
        + pictures.report["cause"]["advice"]
    )


def test_the_service_reads_again_only_when_something_changed(seeded) -> None:  # noqa: F811
    store, now = seeded
    service = SummaryService(store)
    first = service.pictures(SPRING, now)
    assert service.pictures(SPRING, now + 2) is first and service.reads == 1
    assert service.pictures(ListFilter(), now + 2) is not first and service.reads == 2
    service.pictures(SPRING, now + 4)
    assert service.reads == 3  # another view was read in between
    store.track(
        [MessageRef("6c0e2f4a-1b2c-4d5e-8f90-a1b2c3d4e5f7", Provider.SENDO)], campaign="spring"
    )
    fresh = service.pictures(SPRING, now + 6)
    assert service.reads == 4 and fresh.report["total"] == first.report["total"] + 1
    assert service.pictures(SPRING, now + 6 + STALE_AFTER) is not fresh and service.reads == 5


def test_a_histogram_of_nothing_or_of_odd_values() -> None:
    empty = histogram([])
    assert empty.total == 0 and empty.p50 is None
    odd = histogram([float("nan"), -3.0, float("inf"), 0.0, 0.4])
    assert (
        odd.total == 2 and odd.width == 0.05 and odd.counts[0] == 1 and odd.counts[8] == 1
    )  # 0.4 s


def test_the_timeline_on_both_backends(open_store) -> None:
    """The same slices from SQLite and PostgreSQL (their CASTs round differently: floor is spelled
    out), over the report's own history of every kind of message."""
    from tests.test_store_report import NOW, _history
    from tui.services.report_summary import timeline

    store = open_store()
    _history(store)
    line = timeline(store, ListFilter(), NOW)
    assert line.step == 360.0
    # Delivered at 12.5, 20, 33 and 40 s, and one only observed (counted at its creation).
    assert line.delivered == [5] * 60
    assert line.failed == [1] + [2] * 59  # the EXPIRED one at 400 s
    assert line.pending == [4] + [3] * 58 + [4]  # the never-answered one: tracked at the end


def test_a_slow_read_pauses_the_next_one(seeded) -> None:  # noqa: F811
    """A read that took a second (a large history) is not repeated for five seconds, even while
    the history keeps changing; a fast one is repeated as soon as something changed."""
    store, now = seeded
    clock = [100.0]
    ticks = iter([100.0, 101.0])  # the first read starts at 100 s and ends at 101 s

    def timer() -> float:
        return next(ticks, clock[0])

    service = SummaryService(store, timer=timer)
    first = service.pictures(SPRING, now)
    store.track(
        [MessageRef("6c0e2f4a-1b2c-4d5e-8f90-a1b2c3d4e5f8", Provider.SENDO)], campaign="spring"
    )
    clock[0] = 104.0
    assert service.pictures(SPRING, now + 4) is first and service.reads == 1
    clock[0] = 105.5
    fresh = service.pictures(SPRING, now + 5)
    assert service.reads == 2 and fresh.report["total"] == first.report["total"] + 1
    store.track(
        [MessageRef("6c0e2f4a-1b2c-4d5e-8f90-a1b2c3d4e5f9", Provider.SENDO)], campaign="spring"
    )
    assert service.pictures(SPRING, now + 5) is not fresh  # that read was fast: no pause


def test_the_summary_and_the_report_command_say_the_same_cause(seeded) -> None:  # noqa: F811
    """One cause line (report_summary.cause_line) in the summary, `report` and `report --format md`."""
    from tui.commands.report import _md, render_markdown, render_text

    store, now = seeded
    report = build_report(store, SPRING, now)
    line = cause_line(report)
    assert line is not None and line in render_text(report)
    assert cause_line(report, _md) in render_markdown(report)
