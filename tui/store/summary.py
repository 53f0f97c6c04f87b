"""A campaign's (or the whole history's) state in numbers, computed from the store in one go."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.store.base import Store
from tui.store.rows import ListFilter

SETTLED = ("delivered", "read", "failed", "cancelled", "received")


@dataclass(frozen=True)
class Summary:
    name: str | None
    total: int
    counts: dict[str, int]
    errors: list[tuple[str, str, int]]  # code, example message, count
    changes_per_minute: list[int]  # oldest first, one bucket per minute
    backlog: int  # messages due for a poll right now
    behind_seconds: float  # how overdue the most overdue message is
    started: float | None
    extra: dict[str, float] = field(default_factory=dict)
    #: failed messages by the provider's word: {"blocked": 3, "expired": 2, "failed": 7}
    failure_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def settled(self) -> int:
        return sum(self.counts.get(s, 0) for s in SETTLED)

    @property
    def progress(self) -> float:
        return self.settled / self.total if self.total else 0.0

    def rate(self, *statuses: str) -> float:
        """Share of settled messages in these statuses (delivery rate, failure rate)."""
        return sum(self.counts.get(s, 0) for s in statuses) / self.settled if self.settled else 0.0


def summarize(store: Store, flt: ListFilter, now: float, minutes: int = 30) -> Summary:
    counts = store.status_counts(flt)
    since = now - minutes * 60
    buckets = [0] * minutes
    for ts in store.transitions_since(since, flt):
        index = int((ts - since) // 60)
        if 0 <= index < minutes:
            buckets[index] += 1
    oldest = store.oldest_due(now, flt)
    return Summary(
        name=flt.campaign,
        total=sum(counts.values()),
        counts=counts,
        errors=store.error_counts(flt, limit=8),
        changes_per_minute=buckets,
        backlog=store.backlog(now, flt),
        behind_seconds=max(0.0, now - oldest) if oldest is not None else 0.0,
        started=store.campaign_started(flt.campaign) if flt.campaign else store.first_seen(),
        failure_kinds=store.failure_kinds(flt),
    )
