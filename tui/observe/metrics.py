"""Prometheus metrics for `listen` and `poll`: counters at the event, gauges read at scrape time.

Each `Metrics` owns its registry (never the global one), so two receivers in one process, or two
tests, never share a count. Label values come from fixed sets only: anything else — a message ID,
a phone number, a provider word we do not know — is counted as `other`, so no identifier can ever
become a label (and no series can be created per message). Gauges (backlog, rate-limit remaining,
lease held) are read through callbacks the caller registers, in the scrape's thread: a callback
that fails is skipped for that scrape and counted in `sendwatch_scrape_errors_total{gauge}`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tui.config_accounts import DEFAULT_ACCOUNT, Account
from tui.errors import (
    AuthError,
    BadResponseError,
    NotFoundError,
    RateLimitedError,
    SendwatchError,
)
from tui.model import EventSource, Message, Provider, Status

OTHER = "other"
#: the account label of what belongs to no account (the loop of IDs of no known provider)
NO_ACCOUNT = "none"
#: `None` as a provider: the lease and backlog of IDs whose provider is not known yet
UNKNOWN_PROVIDER = "unknown"
PROVIDERS: frozenset[str] = frozenset({*(p.value for p in Provider), UNKNOWN_PROVIDER})
#: one provider request's outcome (an HTTP attempt, retries counted each)
OUTCOMES: frozenset[str] = frozenset(
    {
        "ok",
        "not_found",
        "rate_limited",
        "auth",
        "client_error",
        "server_error",
        "timeout",
        "bad_response",
        "network",
    }
)
#: what the receiver did with one webhook request
WEBHOOK_RESULTS: frozenset[str] = frozenset(
    {
        "applied",
        "stale",  # authentic and stored, but older than what the history already had
        "duplicate",
        "ignored",
        "unauthorized",
        "bad_request",
        "timeout",
        "too_large",
        "store_unavailable",
        "internal_error",
    }
)
STATUSES: frozenset[str] = frozenset(s.value for s in Status)

REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: created → delivered takes seconds for SMS, hours for a queued campaign
DELIVERY_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0)


def _label(value: object, allowed: frozenset[str]) -> str:
    """`value` as a label if it is in `allowed` (enums by value, case-insensitive), else `other`."""
    if value is None:
        text = UNKNOWN_PROVIDER
    elif isinstance(value, Provider | Status):
        text = value.value
    else:
        text = str(value).strip().lower()
    return text if text in allowed else OTHER


def provider_label(provider: Provider | str | None) -> str:
    return _label(provider, PROVIDERS)


def outcome_for_status(status_code: int) -> str:
    """The outcome of a provider's HTTP answer by its status code."""
    if status_code == 404:
        return "not_found"
    if status_code == 429:
        return "rate_limited"
    if status_code in (401, 403):
        return "auth"
    if status_code >= 500:
        return "server_error"
    if status_code >= 400:
        return "client_error"
    return "ok"


_REFUSALS = {
    400: "bad_request",
    401: "unauthorized",
    408: "timeout",
    413: "too_large",
    500: "internal_error",
    503: "store_unavailable",
}


def result_for_status(status_code: int) -> str:
    """The webhook result of a refusal the receiver answered with `status_code` (else `other`)."""
    return _REFUSALS.get(status_code, OTHER)


def outcome_for_error(error: BaseException | None) -> str:
    """The outcome of a request that ended in `error` (None: it succeeded)."""
    if error is None:
        return "ok"
    if isinstance(error, NotFoundError):
        return "not_found"
    if isinstance(error, RateLimitedError):
        return "rate_limited"
    if isinstance(error, AuthError):
        return "auth"
    if isinstance(error, BadResponseError):
        return "bad_response"
    if isinstance(error, TimeoutError) or "timeout" in type(error).__name__.lower():
        return "timeout"
    if isinstance(error, SendwatchError):
        return "server_error"
    return "network"


#: -> {provider: value}; a key is a `Provider`, its value, or None (IDs of no known provider yet).
#: (`Any` keys: Mapping is invariant in its key, and `dict[Provider, int]` must be accepted.)
def delivered_after(msg: Message) -> float | None:
    """Seconds from creation to delivery by the provider's own clocks, or None when unknown.

    The delivery time is the earliest delivered event the provider reported (polled or pushed);
    sendwatch's own observations are left out (they measure our polling, not the network), and
    without such an event a delivered message's `updated_at` stands in."""
    if msg.created_at is None:
        return None
    times = [
        e.timestamp
        for e in msg.events
        if e.status is Status.DELIVERED and e.source is not EventSource.OBSERVED
    ]
    if times:
        delivered = min(times)
    elif msg.status is Status.DELIVERED and msg.updated_at is not None:
        delivered = msg.updated_at
    else:
        return None
    return (delivered - msg.created_at).total_seconds()


GaugeSource = Callable[[], Mapping[Any, float]]


@dataclass(frozen=True)
class _GaugeSpec:
    name: str
    documentation: str
    combine: Callable[[Iterable[float]], float]  # several keys mapped to `other` become one value
    #: also labelled with the account (a budget and a lease are each account's own)
    by_account: bool = False


_GAUGES = {
    "backlog": _GaugeSpec(
        "sendwatch_poll_backlog_messages",
        "Messages due for a poll now, per provider (read from the store at scrape time).",
        sum,
    ),
    "rate_limit_remaining": _GaugeSpec(
        "sendwatch_rate_limit_remaining",
        "Requests the account's rate limit still allows now, as its request budget sees it.",
        min,
        by_account=True,
    ),
    "lease_held": _GaugeSpec(
        "sendwatch_lease_held",
        "1 while this process holds the polling lease of the provider's account, else 0.",
        max,
        by_account=True,
    ),
}


class _ScrapeGauges(Collector):
    """Gauges whose values are asked for at each scrape, never cached between scrapes."""

    def __init__(self, errors: Counter, accounts: frozenset[str]) -> None:
        self.accounts = accounts
        self.sources: dict[str, GaugeSource] = {}
        self.errors = errors
        self.lock = threading.Lock()

    def describe(self) -> Iterator[Metric]:
        for spec in _GAUGES.values():
            yield GaugeMetricFamily(spec.name, spec.documentation, labels=_labels_of(spec))

    def collect(self) -> Iterator[Metric]:
        with self.lock:
            sources = dict(self.sources)
        for key, spec in _GAUGES.items():
            source = sources.get(key)
            if source is None:
                continue
            try:
                values = dict(source())
            except Exception:  # noqa: BLE001 - one gauge's failure must not fail the scrape
                self.errors.labels(gauge=key).inc()
                continue
            grouped: dict[tuple[str, ...], list[float]] = {}
            for owner, value in values.items():
                number = float(value)
                if math.isfinite(number):
                    grouped.setdefault(self._key(owner, spec.by_account), []).append(number)
            family = GaugeMetricFamily(spec.name, spec.documentation, labels=_labels_of(spec))
            for labels, numbers in sorted(grouped.items()):
                family.add_metric(list(labels), spec.combine(numbers))
            yield family

    def _key(self, owner: Any, by_account: bool) -> tuple[str, ...]:
        """(provider) or (provider, account): a `Provider` key is its default account, None the
        loop of IDs of no known provider (account `none`)."""
        if isinstance(owner, Account):
            provider, name = provider_label(owner.provider), owner.name
        else:
            provider, name = provider_label(owner), DEFAULT_ACCOUNT if owner else NO_ACCOUNT
        if not by_account:
            return (provider,)
        return provider, account_label(name, self.accounts)


def _labels_of(spec: _GaugeSpec) -> list[str]:
    return ["provider", "account"] if spec.by_account else ["provider"]


def account_label(name: str | None, accounts: frozenset[str]) -> str:
    """A configured account's name (`default` for a provider's own key), else `other`."""
    if name is None:
        return NO_ACCOUNT
    return name if name in accounts or name in (DEFAULT_ACCOUNT, NO_ACCOUNT) else OTHER


class Metrics:
    """The metrics of one process part (a receiver, a poller), in a registry of its own."""

    def __init__(self, accounts: Iterable[str] = ()) -> None:
        #: the configured account names: the only values the `account` label takes (else `other`)
        self.accounts = frozenset(accounts)
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._requests = Counter(
            "sendwatch_provider_requests",
            "HTTP requests to a provider's API by outcome (each retry counted).",
            ["provider", "outcome"],
            registry=r,
        )
        self._account_requests = Counter(
            "sendwatch_account_requests",
            "HTTP requests to a provider's API by account (configured names) and outcome.",
            ["provider", "account", "outcome"],
            registry=r,
        )
        self._request_seconds = Histogram(
            "sendwatch_provider_request_duration_seconds",
            "Time from sending a request to a provider to its whole answer (or failure).",
            ["provider"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self._webhooks = Counter(
            "sendwatch_webhook_events",
            "Webhook requests received, by what was done with them (a duplicate is not applied).",
            ["provider", "result"],
            registry=r,
        )
        self._status_changes = Counter(
            "sendwatch_status_changes",
            "Messages that reached a new normalized status, by that status.",
            ["provider", "status"],
            registry=r,
        )
        self._delivery = Histogram(
            "sendwatch_delivery_latency_seconds",
            "Created to delivered by the provider's own timestamps, for each delivery seen.",
            ["provider"],
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        scrape_errors = Counter(
            "sendwatch_scrape_errors",
            "Gauges left out of a scrape because reading them failed.",
            ["gauge"],
            registry=None,
        )
        self._gauges = _ScrapeGauges(scrape_errors, self.accounts)
        r.register(self._gauges)
        r.register(scrape_errors)  # after the gauges: a scrape shows the errors of its own reads
        self._start_at_zero()

    def _start_at_zero(self) -> None:
        """Every known series exists from the start at 0, so `rate()` and alerts see the first event."""
        for provider in Provider:
            p = provider.value
            for outcome in OUTCOMES:
                self._requests.labels(provider=p, outcome=outcome)
            for result in WEBHOOK_RESULTS:
                self._webhooks.labels(provider=p, result=result)
            for status in STATUSES:
                self._status_changes.labels(provider=p, status=status)
            self._request_seconds.labels(provider=p)
            self._delivery.labels(provider=p)
        for gauge in _GAUGES:
            self._gauges.errors.labels(gauge=gauge)

    # -- events (called where they happen; cheap, thread-safe) --------------------------------
    def provider_request(
        self,
        provider: Provider | str,
        outcome: str,
        seconds: float | None = None,
        *,
        account: str | None = None,
    ) -> None:
        """One HTTP request to a provider ended with `outcome` after `seconds` (if measured);
        `account`: which of its accounts asked (also counted per account)."""
        label = provider_label(provider)
        result = _label(outcome, OUTCOMES)
        self._requests.labels(provider=label, outcome=result).inc()
        if account is not None:
            name = account_label(account, self.accounts)
            self._account_requests.labels(provider=label, account=name, outcome=result).inc()
        if seconds is not None and math.isfinite(seconds) and seconds >= 0:
            self._request_seconds.labels(provider=label).observe(seconds)

    def webhook_event(self, provider: Provider | str, result: str) -> None:
        """One webhook request, counted once under what was done with it."""
        self._webhooks.labels(
            provider=provider_label(provider), result=_label(result, WEBHOOK_RESULTS)
        ).inc()

    def status_change(self, provider: Provider | str, status: Status | str) -> None:
        """One message reached `status` (a new status, not a confirmation of the same one)."""
        self._status_changes.labels(
            provider=provider_label(provider), status=_label(status, STATUSES)
        ).inc()

    def delivery_latency(self, provider: Provider | str, seconds: float) -> bool:
        """Created → delivered, by the provider's clocks. A negative or absurd value (clock skew,
        a bad timestamp) is not observed: returns whether it was."""
        if not math.isfinite(seconds) or seconds < 0:
            return False
        self._delivery.labels(provider=provider_label(provider)).observe(seconds)
        return True

    def message_recorded(self, msg: Message, previous: Status | None, current: Status) -> None:
        """After an answer or a push was stored (`FetchOutcome.previous/current`): count the new
        status once, and time the delivery when the message just reached delivered (or read)."""
        if previous is current:
            return
        self.status_change(msg.provider, current)
        reached = current in (Status.DELIVERED, Status.READ)
        before = previous is None or previous.rank < Status.DELIVERED.rank
        if reached and before and (seconds := delivered_after(msg)) is not None:
            self.delivery_latency(msg.provider, seconds)

    # -- gauges (read at scrape time, in the scrape's thread) ---------------------------------
    def backlog_from(self, source: GaugeSource) -> None:
        """`source()` -> {provider: messages due now}; e.g. a bounded store count per provider."""
        self._set_source("backlog", source)

    def rate_limit_from(self, source: GaugeSource) -> None:
        """`source()` -> {provider: requests the budget may still make now}."""
        self._set_source("rate_limit_remaining", source)

    def leases_from(self, source: Callable[[], Mapping[Any, bool]]) -> None:
        """`source()` -> {provider (None: unknown-provider IDs): whether this process holds its lease}."""

        def as_numbers() -> Mapping[Any, float]:
            return {owner: 1.0 if held else 0.0 for owner, held in source().items()}

        self._set_source("lease_held", as_numbers)

    def _set_source(self, key: str, source: GaugeSource) -> None:
        with self._gauges.lock:
            self._gauges.sources[key] = source
