"""The summary's pictures: the report's numbers plus how the campaign went over time.

The dashboard's summary shows what `sendwatch report` says (the same fold, `fold_report`: the
same numbers, counted once) and draws it: the campaign since its first send (delivered, failed
and pending after each slice of time), the latency distribution (a histogram of the providers'
own creation-to-delivery times with p50/p90/p99) and the cohorts. `SummaryService` keeps the
last result and reads the report again only when the history changed (its revision moved) or a
minute passed (stalls and the timeline's end depend on the clock), so a panel refreshing every
two seconds costs one cheap query while nothing happens; a slow read (a large history polled
hard) waits five times its cost before the next.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui.model import Provider
from tui.services.report import fold_report, percentile
from tui.store import ListFilter, Store
from tui.textsafe import safe_text

SLICES = 60  # the timeline's resolution: a chart narrower than this takes every n-th slice
LATENCY_BINS = 24  # the histogram's resolution, from 0 to a little past p99
STALE_AFTER = 60.0  # seconds: a result this old is read again even when nothing was written
SLOW_READ = 0.25  # seconds: a read slower than this pauses the next one...
SLOW_GAP = 5.0  # ...for this many times as long


@dataclass(frozen=True)
class Timeline:
    """Cumulative counts at the end of each slice since the first send."""

    start: float | None  # the first send (None: nothing to draw)
    step: float  # seconds per slice
    delivered: list[int]
    failed: list[int]
    pending: list[int]  # created by then, not yet ended


@dataclass(frozen=True)
class LatencyHistogram:
    """How many deliveries took each `width`-second bin's time; the last bin takes the rest."""

    width: float
    counts: list[int]
    p50: float | None
    p90: float | None
    p99: float | None

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class CampaignPictures:
    """Everything the summary draws, read in one go."""

    report: dict[str, Any]  # the `report --json` object
    timeline: Timeline
    latency: LatencyHistogram
    rev: int  # the history's revision it was read at

    @property
    def cohorts(self) -> list[dict[str, Any]]:
        return list(self.report["by_cohort"])


def histogram(latencies: list[float], bins: int = LATENCY_BINS) -> LatencyHistogram:
    """Bins of a round width covering the latencies up to a little past p99 (the tail beyond it
    lands in the last bin: one slow outlier does not flatten the picture)."""
    ordered = sorted(x for x in latencies if math.isfinite(x) and x >= 0)
    p50, p90, p99 = (percentile(ordered, p) for p in (50, 90, 99))
    if not ordered:
        return LatencyHistogram(1.0, [0] * bins, None, None, None)
    width = _round_width(max(p99 or 0.0, 1.0) * 1.1 / bins)
    counts = [0] * bins
    for value in ordered:
        counts[min(int(value // width), bins - 1)] += 1
    return LatencyHistogram(width, counts, p50, p90, p99)


def _round_width(raw: float) -> float:
    """The next 1, 2 or 5 times a power of ten at or above `raw` (readable axis labels)."""
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def timeline(store: Store, flt: ListFilter, now: float, slices: int = SLICES) -> Timeline:
    """The view since its first send, in `slices` equal slices up to `now`."""
    start = store.report_started(flt)
    if start is None or start >= now:
        return Timeline(start, 1.0, [0] * slices, [0] * slices, [0] * slices)
    step = (now - start) / slices
    created, ended = store.report_timeline(flt, start, step, slices)
    delivered, failed, pending = [], [], []
    so_far = {"created": 0, "delivered": 0, "failed": 0, "ended": 0}
    for i in range(slices):
        so_far["created"] += created[i]
        for kind in ("delivered", "failed", "ended"):
            so_far[kind] += ended[kind][i]
        delivered.append(so_far["delivered"])
        failed.append(so_far["failed"])
        done = so_far["delivered"] + so_far["failed"] + so_far["ended"]
        pending.append(max(0, so_far["created"] - done))
    return Timeline(start, step, delivered, failed, pending)


def build_pictures(store: Store, flt: ListFilter, now: float) -> CampaignPictures:
    """The report and its pictures of one view (a campaign, or everything)."""
    rev = store.current_rev()
    builder = fold_report(store, flt, now)
    return CampaignPictures(
        builder.to_json(), timeline(store, flt, now), histogram(builder.latencies), rev
    )


class SummaryService:
    """The summary's numbers for one view, read again only when they can have changed, and, when
    a read is slow (a large history being polled hard), not more often than `SLOW_GAP` times
    what the last read took: the worker thread never spends more than a fifth of its time here."""

    def __init__(self, store: Store, timer: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.timer = timer  # a monotonic clock (the read's cost; `now` is the app's clock)
        self._last: tuple[ListFilter, float, CampaignPictures] | None = None
        self._next_read = 0.0  # by `timer`: a slow read's pause
        self.reads = 0  # how many times the report was read (the benchmark and tests count it)

    def pictures(self, flt: ListFilter, now: float) -> CampaignPictures:
        """The pictures of `flt`: the last ones when the history has not changed since and they
        are under a minute old (or a slow read's pause is not over), else read anew. Safe from
        one worker thread at a time."""
        last = self._last
        if last is not None and last[0] == flt and 0 <= now - last[1] < STALE_AFTER:
            if self.timer() < self._next_read or self.store.current_rev() == last[2].rev:
                return last[2]
        started = self.timer()
        fresh = build_pictures(self.store, flt, now)
        cost = self.timer() - started
        self._next_read = started + SLOW_GAP * cost if cost > SLOW_READ else 0.0
        self.reads += 1
        self._last = (flt, now, fresh)
        return fresh


def cause_line(report: dict[str, Any], esc: Any = None) -> str | None:
    """'Sendo · US · 1350 Rejected by the carrier: 82 % of failures (41). <advice>' or None.

    `esc` makes provider text safe for where the line goes (default: one plain, safe line)."""
    parts = cause_parts(report, esc)
    if parts is None:
        return None
    headline, advice = parts
    return f"{headline}. {advice}" if advice else headline


def cause_parts(report: dict[str, Any], esc: Any = None) -> tuple[str, str | None] | None:
    """The cause line's two halves: what and how much, and the advice (None when there is none)."""
    cause = report.get("cause")
    if not cause:
        return None
    esc = esc or _plain
    parts = [_provider(cause["provider"], esc)]
    parts += [esc(p) for p in (cause["country"], cause["channel"]) if p]
    what = " ".join(esc(p) for p in (cause["code"], cause["reason"]) if p)
    if what:
        parts.append(what)
    headline = f"{' · '.join(parts)}: {cause['share'] * 100:.0f} % of failures ({cause['count']})"
    return headline, esc(cause["advice"]) if cause["advice"] else None


def _provider(name: object, esc: Any) -> str:
    """`Sent.dm`, `Sendo`, or the stored name made safe (a provider this version does not know)."""
    try:
        return Provider(name).label
    except ValueError:
        return str(esc(name))


def _plain(value: object) -> str:
    return safe_text(value, single_line=True, limit=200) if value not in (None, "") else "-"
