"""`sendwatch report`'s numbers: counts, rates, latency, cohorts, spend, failures and a cause.

One service for the command (and later the dashboard's summary and `wait --json`): a
`ReportBuilder` counts messages one at a time (`add`: a stored snapshot, the `get --json` object)
or in groups (`add_group`: rows of `store.report_groups`, over the columns tui/store/facts.py
keeps). `build_report` uses the groups: the same numbers as folding every snapshot, in a fraction
of a second at 100,000 messages instead of tens of seconds.

Choices (the issue leaves them open; the README and `--help` say the same):
- `by_status` has every normalized status plus `waiting` (tracked, never answered yet), 0 where none.
- final = delivered, read, failed, cancelled, received. Rates are over final messages only.
- latency runs from the provider's creation time to the provider's own DELIVERED time (Sent.dm's
  DELIVERED event; Sendo's `updatedAt` of the answer that said DELIVERED, kept as its event; a
  webhook's time is the provider's too). A delivery only sendwatch observed has no provider time
  and is not counted. Percentiles are nearest-rank.
- country: Sent.dm's `region_code`, else the E.164 number through phonenumbers; null when neither.
- spend sums Sent.dm's `price` (Sendo states no price, only segments); neither provider states a
  currency (docs/providers.md), so `currency` is null.
- stalled: messages in a non-final stage longer than `STALL_AFTER` says that stage takes, counted
  from the provider's time of entering it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from tui.countries import CountryLookup as CountryLookup  # re-exported for the report's callers
from tui.model import Status
from tui.reasons import explain, explain_status
from tui.services.report_facts import MessageFacts
from tui.services.report_facts import short_text as _text
from tui.store import ListFilter, Store
from tui.store.facts import clean_region
from tui.store.report_queries import ReportGroup

WAITING = "waiting"
STATUS_KEYS: tuple[str, ...] = (WAITING, *(s.value for s in Status))
FINAL = frozenset({"delivered", "read", "failed", "cancelled", "received"})
DELIVERED = frozenset({"delivered", "read"})
#: How long a stage usually takes at most (seconds); longer is "stalled". `sent` matches the
#: poll policy's "sent, no receipt" hour; the others are minutes at both providers.
STALL_AFTER: dict[str, float] = {
    "created": 600.0,
    "scheduled": 600.0,  # counted from `scheduled_at`, the release time
    "queued": 600.0,
    "sent": 3600.0,
    "unknown": 3600.0,
}
CAUSE_SHARE = 0.5  # a cause is named when it explains more than this share of the failures


def percentile(ordered: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending list; None when empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class _Cohort:
    total: int = 0
    delivered: int = 0
    failed: int = 0
    final: int = 0


@dataclass
class _FailureGroup:
    provider: str
    code: str | None
    word: str | None  # the provider's word when no code came with the failure (`expired`)
    count: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def reason(self) -> str | None:
        if not self.reasons:
            return self.word
        return min(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))[0]

    def advice(self) -> str | None:
        if self.code:
            return explain(self.provider, self.code)
        return explain_status(self.word)


@dataclass(frozen=True)
class Cause:
    """What explains more than half of the failures: one line and the advice."""

    provider: str
    country: str | None
    channel: str | None
    code: str | None
    reason: str | None
    count: int
    share: float
    advice: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ReportBuilder:
    """Folds stored message snapshots (the `get --json` objects with events) into the report."""

    def __init__(self, campaign: str | None, now: float) -> None:
        self.campaign = campaign
        self.now = now
        self.countries = CountryLookup()
        self.by_status: Counter[str] = Counter({key: 0 for key in STATUS_KEYS})
        self.total = 0
        self.latencies: list[float] = []
        self.cohorts: dict[tuple[str, str | None, str | None], _Cohort] = {}
        self.spend_total: float | None = None
        self.spend_failed = 0.0
        self.priced = 0
        self.segments: int | None = None
        self.failures: dict[tuple[str, str | None, str | None], _FailureGroup] = {}
        # (provider, country, code-or-word) -> count: the narrowest cause a failure can have.
        self.failure_places: Counter[tuple[str, str | None, str | None]] = Counter()
        self.stalled: Counter[str] = Counter()
        self.stalled_oldest: dict[str, float] = {}

    def add_all(self, snapshots: Iterable[Mapping[str, Any]]) -> ReportBuilder:
        for snapshot in snapshots:
            self.add(snapshot)
        return self

    def add(self, snap: Mapping[str, Any]) -> None:
        """Count one message (a snapshot as `store.iter_snapshots` yields it)."""
        self.add_facts(MessageFacts.from_snapshot(snap))

    def add_group(self, group: ReportGroup) -> None:
        """Count messages alike in every fact but their times (a `store.report_groups` row);
        their latencies and stalls come from `add_latencies` and `add_stalled`."""
        provider = _text(group.provider)
        status = group.status if group.status in Status._value2member_map_ else "unknown"
        facts = MessageFacts(
            provider or "",
            status,
            waiting=group.waiting or provider is None,
            provider_status=_text(group.provider_status),
            channel=_text(group.channel),
            to=_text(group.number),
            region=clean_region(group.region_code),
            error_code=_text(group.error_code),
            error_message=_text(group.error_message, 500),
        )
        self.add_facts(facts, group.count)
        if not facts.waiting:
            self._add_spend(status, group.price_total, group.priced, group.segments_total)

    def add_latencies(self, seconds: Iterable[float]) -> None:
        """Delivery latencies (provider creation to the provider's DELIVERED time)."""
        self.latencies.extend(seconds)

    def add_stalled(self, stage: str, count: int, oldest: float) -> None:
        """`count` messages stalled in `stage`, the oldest for `oldest` seconds."""
        self.stalled[stage] += count
        self.stalled_oldest[stage] = max(self.stalled_oldest.get(stage, 0.0), oldest)

    def add_facts(self, facts: MessageFacts, count: int = 1) -> None:
        """Count `count` messages alike in these facts (a snapshot's, or a group of rows')."""
        self.total += count
        if facts.waiting:
            self.by_status[WAITING] += count
            return
        provider, status = facts.provider, facts.status
        self.by_status[status] += count
        country = facts.region or self.countries.country(facts.to)
        cohort = self.cohorts.setdefault((provider, facts.channel, country), _Cohort())
        cohort.total += count
        if status in FINAL:
            cohort.final += count
        if status in DELIVERED:
            cohort.delivered += count
        if facts.price is not None:
            self._add_spend(status, facts.price, 1, None)
        if facts.segments is not None:
            self._add_spend(status, None, 0, facts.segments)
        if status == "failed":
            cohort.failed += count
            self._add_failure(facts, country, count)
        elif status not in FINAL:
            self._check_stalled(facts)
        if status in DELIVERED and facts.created is not None and facts.delivered is not None:
            if facts.delivered >= facts.created:
                self.latencies.append(facts.delivered - facts.created)

    def _add_spend(
        self, status: str, price_total: float | None, priced: int, segments: int | None
    ) -> None:
        if price_total is not None and priced:
            self.spend_total = (self.spend_total or 0.0) + price_total
            self.priced += priced
            if status == "failed":
                self.spend_failed += price_total
        if segments is not None:
            self.segments = (self.segments or 0) + segments

    def _add_failure(self, facts: MessageFacts, country: str | None, count: int) -> None:
        code = facts.error_code
        word = None
        if code is None:
            word = (facts.provider_status or "").strip().lower() or "failed"
        key = (facts.provider, code, word)
        group = self.failures.get(key)
        if group is None:
            group = self.failures[key] = _FailureGroup(facts.provider, code, word)
        group.count += count
        if facts.error_message:
            group.reasons[facts.error_message[:500]] += count
        self.failure_places[(facts.provider, country, code or word)] += count

    def _check_stalled(self, facts: MessageFacts) -> None:
        limit = STALL_AFTER.get(facts.status)
        since = facts.entered
        if limit is None or since is None:
            return
        waited = self.now - since
        if waited > limit:
            self.add_stalled(facts.status, 1, waited)

    # -- the result ---------------------------------------------------------------------------
    @property
    def failed(self) -> int:
        return self.by_status["failed"]

    @property
    def final(self) -> int:
        return sum(self.by_status[s] for s in FINAL)

    def cause(self) -> Cause | None:
        """The narrowest explanation of more than half of the failures, or None.

        Tried in order: one provider's code in one country ("Sendo · US · 1350"), one provider's
        code anywhere, then one cohort (provider, channel, country)."""
        failed = self.failed
        if not failed:
            return None
        if self.failure_places:
            (provider, country, what), count = min(
                self.failure_places.items(), key=lambda kv: (-kv[1], str(kv[0]))
            )
            if count / failed > CAUSE_SHARE:
                return self._code_cause(provider, country, what, count)
        top = min(self.failures.values(), key=_failure_order, default=None)
        if top is not None and top.count / failed > CAUSE_SHARE:
            return self._code_cause(top.provider, None, top.code or top.word, top.count)
        ranked = sorted(self.cohorts.items(), key=lambda kv: (-kv[1].failed, str(kv[0])))
        if ranked and ranked[0][1].failed / failed > CAUSE_SHARE:
            (provider, channel, country), cohort = ranked[0]
            return Cause(
                provider, country, channel, None, None, cohort.failed, cohort.failed / failed, None
            )
        return None

    def _code_cause(
        self, provider: str, country: str | None, what: str | None, count: int
    ) -> Cause:
        group = next(
            g
            for g in self.failures.values()
            if g.provider == provider and (g.code or g.word) == what
        )
        return Cause(
            provider,
            country,
            None,
            group.code,
            group.reason(),
            count,
            count / self.failed,
            group.advice(),
        )

    def to_json(self) -> dict[str, Any]:
        """The `report --json` object."""
        final, failed = self.final, self.failed
        delivered = sum(self.by_status[s] for s in DELIVERED)
        ordered = sorted(self.latencies)
        cause = self.cause()
        return {
            "campaign": self.campaign,
            "total": self.total,
            "by_status": {key: self.by_status[key] for key in STATUS_KEYS},
            "final": final,
            "delivery_rate": delivered / final if final else None,
            "failure_rate": failed / final if final else None,
            "latency_seconds": {  # to the millisecond: the providers' own precision
                "p50": _millis(percentile(ordered, 50)),
                "p90": _millis(percentile(ordered, 90)),
                "p99": _millis(percentile(ordered, 99)),
                "count": len(ordered),
            },
            "by_cohort": [
                {
                    "provider": provider,
                    "channel": channel,
                    "country": country,
                    "total": c.total,
                    "delivered": c.delivered,
                    "failed": c.failed,
                    "delivery_rate": c.delivered / c.final if c.final else None,
                }
                for (provider, channel, country), c in sorted(
                    self.cohorts.items(), key=lambda kv: (-kv[1].total, str(kv[0]))
                )
            ],
            "spend": {
                "total": _money(self.spend_total),
                "currency": None,
                "failed": _money(self.spend_failed) if self.spend_total is not None else None,
                "priced_messages": self.priced,
                "segments": self.segments,
            },
            "failures_by_code": [
                {
                    "provider": g.provider,
                    "code": g.code,
                    "count": g.count,
                    "share": g.count / failed,
                    "reason": g.reason(),
                    "advice": g.advice(),
                }
                for g in sorted(self.failures.values(), key=_failure_order)
            ],
            "stalled": [
                {
                    "stage": stage,
                    "count": self.stalled[stage],
                    "threshold_seconds": STALL_AFTER[stage],
                    "oldest_seconds": round(self.stalled_oldest[stage], 3),
                }
                for stage in STALL_AFTER
                if self.stalled[stage]
            ],
            "cause": cause.to_json() if cause else None,
        }


def _failure_order(group: _FailureGroup) -> tuple[int, str, str, str]:
    """Most failures first; ties in a fixed order (provider, code, word)."""
    return (-group.count, group.provider, group.code or "", group.word or "")


def _millis(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _money(value: float | None) -> float | None:
    """Prices are 4-decimal amounts: round the float sum's noise away."""
    return None if value is None else round(value, 6)


def fold_report(store: Store, flt: ListFilter, now: float) -> ReportBuilder:
    """The report's numbers of one view of the history (a campaign, or everything), folded.

    Three grouped queries over the report's columns (tui/store/facts.py), never a snapshot: the
    numbers are those of folding every stored snapshot (`ReportBuilder.add_all`), in under a
    second at 100,000 messages (benchmarks/bench_report.py). The summary's pictures
    (report_summary.py) start from the same fold."""
    builder = ReportBuilder(flt.campaign, now)
    for group in store.report_groups(flt):
        builder.add_group(group)
    builder.add_latencies(store.report_latencies(flt))
    for stage, (count, oldest) in store.report_stalled(flt, now, STALL_AFTER).items():
        builder.add_stalled(stage, count, oldest)
    return builder


def build_report(store: Store, flt: ListFilter, now: float) -> dict[str, Any]:
    """The `report --json` object of one view of the history (a campaign, or everything)."""
    return fold_report(store, flt, now).to_json()
