"""One row per status a message reached: the timeline the detail pane, `get` and `export` show.

The store keeps every event it was told or saw: the provider's own (event list, activities), the
webhook's, and the transitions sendwatch observed between two polls. Shown raw, Sent.dm messages
read `queued, queued, sent, delivered, delivered`. Here an observation (or a push) that confirms an
event the provider reported is folded into that event's row — "seen 1.2 s later" — and only
transitions that nobody else reported (Sendo has no event list) keep rows of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tui.model import Event, EventSource, Status, fold_status

# Which source a merged row takes its time and wording from, best first.
_PRIORITY = {EventSource.PROVIDER: 0, EventSource.WEBHOOK: 1, EventSource.OBSERVED: 2}


@dataclass(frozen=True)
class TimelineEntry:
    """A status reached, when, who said so, and when sendwatch saw or was told of it."""

    status: Status
    provider_status: str
    timestamp: datetime
    description: str
    source: EventSource
    reason_code: str | None = None
    reason: str | None = None
    observed_at: datetime | None = None  # first poll that showed this status
    pushed_at: datetime | None = None  # first webhook that announced it
    attempt: int = 1  # the delivery attempt it belongs to (a Sent.dm resend starts another)

    @property
    def seen_after(self) -> float | None:
        """Seconds between the status and sendwatch first knowing of it (poll or push)."""
        times = [t for t in (self.observed_at, self.pushed_at) if t is not None]
        if not times or self.source is EventSource.OBSERVED:
            return None
        return max(0.0, (min(times) - self.timestamp).total_seconds())


def merge_events(events: list[Event] | tuple[Event, ...]) -> list[TimelineEntry]:
    """Fold events that report the same status into one entry, oldest first.

    Events are grouped by the provider's word for the status (case-insensitive); within a group
    the provider's own event wins, then the webhook's, then the observation. A status reached
    twice (a recheck that saw it again much later) is still one row: the first time it was reached;
    a status reached again in a later attempt (after a resend) is a row of that attempt.
    """
    groups: dict[tuple[int, str], list[Event]] = {}
    for event in sorted(events, key=lambda e: e.timestamp):
        groups.setdefault((event.attempt, fold_status(event.provider_status)), []).append(event)
    entries: list[TimelineEntry] = []
    for group in groups.values():
        best = min(group, key=lambda e: (_PRIORITY[e.source], e.timestamp))
        observed = [e.timestamp for e in group if e.source is EventSource.OBSERVED]
        pushed = [e.timestamp for e in group if e.source is EventSource.WEBHOOK]
        reasons = next((e for e in group if e.reason_code or e.reason), None)
        entry = TimelineEntry(
            status=best.status,
            provider_status=best.provider_status,
            timestamp=best.timestamp,
            description=best.description,
            source=best.source,
            reason_code=best.reason_code or (reasons.reason_code if reasons else None),
            reason=best.reason or (reasons.reason if reasons else None),
            observed_at=min(observed) if observed else None,
            pushed_at=min(pushed) if pushed else None,
            attempt=best.attempt,
        )
        entries.append(entry)
    return sorted(entries, key=lambda e: (e.attempt, e.timestamp))


def by_attempt(entries: list[TimelineEntry]) -> list[tuple[int, list[TimelineEntry]]]:
    """The merged timeline split into its attempts, oldest first: [(attempt, entries)]."""
    groups: dict[int, list[TimelineEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.attempt, []).append(entry)
    return sorted(groups.items())
