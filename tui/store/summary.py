"""What the summary shows beside the report's numbers: polling's backlog, the start, failure words.

Counts, rates, failures by code and cohorts are the report's (tui/services/report_summary.py:
one fold for `sendwatch report` and the dashboard); these are the few numbers only the dashboard
shows, each one indexed query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.store.base import Store
from tui.store.rows import ListFilter


@dataclass(frozen=True)
class Summary:
    name: str | None
    backlog: int  # messages due for a poll right now
    behind_seconds: float  # how overdue the most overdue message is
    started: float | None
    #: failed messages by the provider's word: {"blocked": 3, "expired": 2, "failed": 7}
    failure_kinds: dict[str, int] = field(default_factory=dict)


def summarize(store: Store, flt: ListFilter, now: float) -> Summary:
    oldest = store.oldest_due(now, flt)
    return Summary(
        name=flt.campaign,
        backlog=store.backlog(now, flt),
        behind_seconds=max(0.0, now - oldest) if oldest is not None else 0.0,
        started=store.campaign_started(flt.campaign) if flt.campaign else store.first_seen(),
        failure_kinds=store.failure_kinds(flt),
    )
