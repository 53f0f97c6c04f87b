"""The dashboard summary's refresh at 10,000 and 100,000 messages (issue 18).

The history is bench_report's (both providers, five countries, channels, prices, failure codes,
pending messages; half of it in campaign `bench`). For each size, on SQLite, medians of a few runs:
- the baseline: a plain `SELECT COUNT(*)` of the campaign (`store.count`);
- the worker's part of a refresh while answers keep arriving (every refresh finds the history
  changed and reads everything: `summarize` + `SummaryService.pictures`);
- the worker's part when nothing changed since the last read (the revision check and the cheap
  polling numbers only);
- the UI thread's part: `CampaignSummary.show` with new numbers and Textual rendering the panel's
  lines, in a headless app at 120x40 and 80x24 (the largest of the runs is shown: one frame at
  60 Hz is 16.7 ms).

Run: .venv/bin/python -m benchmarks.bench_summary [--counts 10000,100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bench_report import seed
from tui.ids import MessageRef
from tui.services.report_summary import CampaignPictures, SummaryService
from tui.store import ListFilter, SQLiteStore, Store
from tui.store.summary import Summary, summarize

FRAME = 1 / 60
CAMPAIGN = ListFilter(campaign="bench")


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, answer = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), answer


def worker_part(store: Store, now: float, repeats: int) -> tuple[float, float, Any]:
    """(seconds when the history changed before each refresh, seconds when it did not, data).

    A changed history is read whole each time by a new service (so the pause a slow read earns
    does not hide the next one): this is the cost of one full read."""
    n = 0
    service = SummaryService(store)

    def changed() -> tuple[Summary, CampaignPictures]:
        nonlocal n, service
        n += 1  # one more message tracked: a new revision, as while polling
        store.track([MessageRef(f"00000000-0000-4000-8000-{n:012d}")], campaign="bench")
        service = SummaryService(store)
        return summarize(store, CAMPAIGN, now), service.pictures(CAMPAIGN, now)

    busy, data = timed(changed, repeats)
    reads = service.reads
    quiet, _ = timed(
        lambda: (summarize(store, CAMPAIGN, now), service.pictures(CAMPAIGN, now)), repeats
    )
    assert service.reads == reads, "an unchanged history was read again"
    return busy, quiet, data


def ui_part(
    store: Store,
    data: tuple[Summary, CampaignPictures],
    now: float,
    size: tuple[int, int],
    repeats: int,
) -> tuple[float, float, float]:
    """`show` + rendering the panel's lines, in a running headless app: (median, max, first)."""
    from dataclasses import replace

    from textual.app import App, ComposeResult
    from textual.geometry import Region

    from tui.app.widgets.summary import CampaignSummary

    summary, pictures = data
    panel = CampaignSummary(store, rate=lambda: 10.0, clock=lambda: now)
    panel.campaign = "bench"

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield panel

    times: list[float] = []

    async def run() -> None:
        app = Host()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            for i in range(repeats + 1):
                # different numbers each time: every region redraws, as when a campaign moves
                report = dict(pictures.report, total=pictures.report["total"] + i + 1)
                shown = replace(pictures, report=report)
                t0 = time.perf_counter()
                panel.show(summary, now, 10.0, shown)
                for widget in panel.query("*"):
                    if widget.display and widget.size.area:
                        widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
                times.append(time.perf_counter() - t0)
                await pilot.pause()

    asyncio.run(run())
    steady = times[1:]  # the first draw of a freshly mounted panel builds its lists: once
    return statistics.median(steady), max(steady), times[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10000,100000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows: list[tuple[int, str, float, str]] = []
    for count in (int(c) for c in args.counts.split(",")):
        now = time.time()
        tmp = Path(tempfile.mkdtemp(prefix="sendwatch-summary-"))
        try:
            seed(tmp / "h.sqlite3", count, now)
            store = SQLiteStore(tmp / "h.sqlite3")
            try:
                base, total = timed(lambda s=store: s.count(CAMPAIGN), args.repeats)
                busy, quiet, data = worker_part(store, now, args.repeats)
                rows.append(
                    (count, "baseline: COUNT(*) of the campaign", base, f"{total:,} messages")
                )
                rows.append(
                    (
                        count,
                        "worker: refresh, history changed",
                        busy,
                        f"{busy / base:.0f}x baseline",
                    )
                )
                rows.append(
                    (
                        count,
                        "worker: refresh, nothing changed",
                        quiet,
                        f"{quiet / base:.1f}x baseline",
                    )
                )
                for size in ((120, 40), (80, 24)):
                    median, worst, first = ui_part(store, data, now, size, args.repeats * 4)
                    ok = "yes" if worst < FRAME else "NO"
                    what = f"UI thread: show + render {size[0]}x{size[1]}"
                    rows.append((count, f"{what} (median)", median, ""))
                    rows.append((count, f"{what} (max)", worst, f"< 16.7 ms: {ok}"))
                    rows.append((count, f"{what} (first draw)", first, "once per panel"))
            finally:
                store.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'messages':>9} {'what':<44} {'seconds':>9}  note")
    for count, what, seconds, note in rows:
        print(f"{count:>9,} {what:<44} {seconds:>9.4f}  {note}")


if __name__ == "__main__":
    main()
