"""Metrics for `listen` and `poll`: a real registry scraped over real HTTP and parsed back.

Counts move by exactly what was recorded, labels only ever come from fixed sets (an ID or a phone
number becomes `other`), gauges are read at scrape time off the event loop, and a stuck gauge
costs one 503, not the server.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.test_webhooks import SECRET
from tui.errors import (
    AuthError,
    BadResponseError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from tui.ids import MessageRef
from tui.model import Event, EventSource, Message, Provider, Status
from tui.observe.metrics import (
    OTHER,
    OUTCOMES,
    PROVIDERS,
    STATUSES,
    WEBHOOK_RESULTS,
    Metrics,
    delivered_after,
    outcome_for_error,
    outcome_for_status,
    result_for_status,
)
from tui.observe.serving import MetricsServer, metrics_route
from tui.store import ListFilter, SQLiteStore
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.server import WebhookReceiver

PHONE = "+14155550123"
MESSAGE_ID = "msg_01HZX4Q8B1V7K6Y2W3E5R9T0PA"


def samples(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(text: str, name: str, **labels: str) -> float | None:
    """The value of the one sample `name{labels}` in a scrape, or None when absent."""
    found = [s.value for s in samples(text) if s.name == name and s.labels == labels]
    assert len(found) <= 1, found
    return found[0] if found else None


async def wait_for(check: Callable[[], Awaitable[bool]], bound: float = 30.0) -> None:
    deadline = time.monotonic() + bound
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Metrics, httpx.AsyncClient]]:
    metrics = Metrics()
    async with MetricsServer(metrics, port=0) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            yield metrics, client


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_counts_move_by_exactly_what_was_recorded(
    served: tuple[Metrics, httpx.AsyncClient],
) -> None:
    metrics, client = served
    before = await scrape(client)
    # every known series starts at 0 (so a first event is a visible rate); unknown ones do not exist
    assert value(before, "sendwatch_provider_requests_total", provider="sendo", outcome="ok") == 0
    assert value(before, "sendwatch_provider_requests_total", provider=OTHER, outcome="ok") is None
    for _ in range(3):
        metrics.provider_request(Provider.SENDO, "ok", 0.05)
    metrics.provider_request(Provider.SENDO, "rate_limited", 0.01)
    metrics.provider_request("sentdm", "not_found")
    metrics.webhook_event(Provider.SENTDM, "applied")
    metrics.status_change(Provider.SENDO, Status.DELIVERED)
    metrics.status_change(Provider.SENDO, "failed")
    text = await scrape(client)
    assert value(text, "sendwatch_provider_requests_total", provider="sendo", outcome="ok") == 3
    assert (
        value(text, "sendwatch_provider_requests_total", provider="sendo", outcome="rate_limited")
        == 1
    )
    assert (
        value(text, "sendwatch_provider_requests_total", provider="sentdm", outcome="not_found")
        == 1
    )
    assert value(text, "sendwatch_webhook_events_total", provider="sentdm", result="applied") == 1
    assert value(text, "sendwatch_status_changes_total", provider="sendo", status="delivered") == 1
    assert value(text, "sendwatch_status_changes_total", provider="sendo", status="failed") == 1
    # the latency of the four timed requests, none of the untimed one
    assert value(text, "sendwatch_provider_request_duration_seconds_count", provider="sendo") == 4
    assert value(text, "sendwatch_provider_request_duration_seconds_count", provider="sentdm") == 0
    again = await scrape(client)  # a scrape counts nothing itself
    assert value(again, "sendwatch_provider_requests_total", provider="sendo", outcome="ok") == 3


async def test_a_duplicate_webhook_is_counted_as_duplicate_never_as_applied(
    served: tuple[Metrics, httpx.AsyncClient],
) -> None:
    metrics, client = served
    metrics.webhook_event(Provider.SENDO, "applied")
    metrics.webhook_event(Provider.SENDO, "duplicate")
    metrics.webhook_event(Provider.SENDO, "duplicate")
    text = await scrape(client)
    assert value(text, "sendwatch_webhook_events_total", provider="sendo", result="applied") == 1
    assert value(text, "sendwatch_webhook_events_total", provider="sendo", result="duplicate") == 2


async def test_an_id_or_a_phone_number_never_becomes_a_label(
    served: tuple[Metrics, httpx.AsyncClient],
) -> None:
    metrics, client = served
    metrics.provider_request(PHONE, MESSAGE_ID, 0.1)
    metrics.webhook_event(MESSAGE_ID, PHONE)
    metrics.status_change(Provider.SENTDM, MESSAGE_ID)
    metrics.delivery_latency(PHONE, 3.0)
    metrics.backlog_from(lambda: {MESSAGE_ID: 5, Provider.SENDO: 2})
    text = await scrape(client)
    assert PHONE not in text and MESSAGE_ID not in text
    assert PHONE.lstrip("+") not in text
    assert value(text, "sendwatch_provider_requests_total", provider=OTHER, outcome=OTHER) == 1
    assert value(text, "sendwatch_webhook_events_total", provider=OTHER, result=OTHER) == 1
    assert value(text, "sendwatch_status_changes_total", provider="sentdm", status=OTHER) == 1
    assert value(text, "sendwatch_poll_backlog_messages", provider=OTHER) == 5
    allowed = PROVIDERS | OUTCOMES | WEBHOOK_RESULTS | STATUSES | {OTHER}
    for sample in samples(text):
        for name, label in sample.labels.items():
            if name not in ("le", "gauge"):
                assert label in allowed, (sample.name, name, label)


@settings(max_examples=200, deadline=None)
@given(provider=st.text(max_size=40), word=st.text(max_size=40))
def test_label_values_come_from_fixed_sets_whatever_the_input(provider: str, word: str) -> None:
    metrics = Metrics()
    metrics.provider_request(provider, word, 0.2)
    metrics.webhook_event(provider, word)
    metrics.status_change(provider, word)
    metrics.delivery_latency(provider, 1.0)
    allowed = {
        "provider": PROVIDERS | {OTHER},
        "outcome": OUTCOMES | {OTHER},
        "result": WEBHOOK_RESULTS | {OTHER},
        "status": STATUSES | {OTHER},
    }
    for family in metrics.registry.collect():
        for sample in family.samples:
            for name, label in sample.labels.items():
                if name in allowed:
                    assert label in allowed[name]


async def test_histograms_are_exposed_with_buckets_and_bad_latencies_are_refused(
    served: tuple[Metrics, httpx.AsyncClient],
) -> None:
    metrics, client = served
    metrics.provider_request(Provider.SENTDM, "ok", 0.02)
    metrics.provider_request(Provider.SENTDM, "ok", 3.0)
    assert metrics.delivery_latency(Provider.SENDO, 4.0)
    assert metrics.delivery_latency(Provider.SENDO, 400.0)
    assert not metrics.delivery_latency(Provider.SENDO, -5.0)  # the provider's clocks disagreed
    assert not metrics.delivery_latency(Provider.SENDO, float("nan"))
    text = await scrape(client)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["sendwatch_provider_request_duration_seconds"].type == "histogram"
    assert families["sendwatch_delivery_latency_seconds"].type == "histogram"
    name = "sendwatch_delivery_latency_seconds"
    assert value(text, f"{name}_count", provider="sendo") == 2
    assert value(text, f"{name}_sum", provider="sendo") == 404.0
    assert value(text, f"{name}_bucket", provider="sendo", le="5.0") == 1
    assert value(text, f"{name}_bucket", provider="sendo", le="+Inf") == 2
    request = "sendwatch_provider_request_duration_seconds_bucket"
    assert value(text, request, provider="sentdm", le="0.025") == 1
    assert value(text, request, provider="sentdm", le="+Inf") == 2


async def test_gauges_are_read_at_each_scrape_off_the_event_loop(
    served: tuple[Metrics, httpx.AsyncClient],
) -> None:
    metrics, client = served
    loop_thread = threading.get_ident()
    read_in: list[int] = []
    remaining = {Provider.SENTDM: 150.0, Provider.SENDO: 9.0}
    held = {Provider.SENTDM: True, Provider.SENDO: False, None: True}

    def rate_limits() -> dict[Provider, float]:
        read_in.append(threading.get_ident())
        return dict(remaining)

    metrics.rate_limit_from(rate_limits)
    metrics.leases_from(lambda: dict(held))
    text = await scrape(client)
    assert (
        value(text, "sendwatch_rate_limit_remaining", provider="sentdm", account="default") == 150
    )
    assert value(text, "sendwatch_rate_limit_remaining", provider="sendo", account="default") == 9
    assert value(text, "sendwatch_lease_held", provider="sentdm", account="default") == 1
    assert value(text, "sendwatch_lease_held", provider="sendo", account="default") == 0
    assert value(text, "sendwatch_lease_held", provider="unknown", account="none") == 1
    assert read_in and loop_thread not in read_in
    remaining[Provider.SENDO] = 0.0
    held[Provider.SENDO] = True
    text = await scrape(client)
    assert value(text, "sendwatch_rate_limit_remaining", provider="sendo", account="default") == 0
    assert value(text, "sendwatch_lease_held", provider="sendo", account="default") == 1


async def test_backlog_is_read_from_a_real_store_at_scrape_time(
    tmp_path: Path, served: tuple[Metrics, httpx.AsyncClient]
) -> None:
    metrics, client = served
    store = SQLiteStore(tmp_path / "h.sqlite3")
    try:
        store.track([MessageRef(f"sendo-{i}", Provider.SENDO) for i in range(3)], now=100.0)
        store.track([MessageRef("sentdm-1", Provider.SENTDM)], now=100.0)

        def backlog() -> dict[Provider | str | None, float]:
            now = time.time()
            return {p: store.backlog(now, ListFilter(provider=p.value)) for p in Provider}

        metrics.backlog_from(backlog)
        text = await scrape(client)
        assert value(text, "sendwatch_poll_backlog_messages", provider="sendo") == 3
        assert value(text, "sendwatch_poll_backlog_messages", provider="sentdm") == 1
        store.track([MessageRef("sentdm-2", Provider.SENTDM)], now=100.0)
        text = await scrape(client)
        assert value(text, "sendwatch_poll_backlog_messages", provider="sentdm") == 2
    finally:
        store.close()


async def test_a_failing_gauge_is_left_out_and_counted_the_rest_still_served(
    served: tuple[Metrics, httpx.AsyncClient],
) -> None:
    metrics, client = served

    def broken() -> dict[Provider | str | None, float]:
        raise RuntimeError("database is locked")

    metrics.backlog_from(broken)
    metrics.rate_limit_from(lambda: {Provider.SENDO: 4})
    metrics.provider_request(Provider.SENDO, "ok")
    text = await scrape(client)
    assert value(text, "sendwatch_poll_backlog_messages", provider="sendo") is None
    assert value(text, "sendwatch_scrape_errors_total", gauge="backlog") == 1
    assert value(text, "sendwatch_rate_limit_remaining", provider="sendo", account="default") == 4
    assert value(text, "sendwatch_provider_requests_total", provider="sendo", outcome="ok") == 1
    assert "database is locked" not in text


async def test_a_stuck_gauge_costs_a_503_not_the_server() -> None:
    metrics = Metrics()
    release = threading.Event()
    entered = threading.Event()

    def stuck() -> dict[Provider | str | None, float]:
        entered.set()
        release.wait(60)
        return {Provider.SENDO: 1}

    metrics.backlog_from(stuck)
    async with MetricsServer(metrics, port=0, timeout=0.2) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            try:
                first = await client.get("/metrics")
                assert first.status_code == 503
                assert entered.is_set()
                # while the first read is still stuck, a second scrape does not start another
                second = await client.get("/metrics")
                assert second.status_code == 503
                assert (await client.get("/healthz")).json() == {"ok": True}
            finally:
                release.set()

            async def answers() -> bool:
                return (await client.get("/metrics")).status_code == 200

            await wait_for(answers)
            text = (await client.get("/metrics")).text
            assert value(text, "sendwatch_poll_backlog_messages", provider="sendo") == 1


async def test_openmetrics_is_served_when_asked_for(
    served: tuple[Metrics, httpx.AsyncClient],
) -> None:
    metrics, client = served
    metrics.webhook_event(Provider.SENDO, "ignored")
    response = await client.get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def test_the_server_serves_only_metrics_and_health_and_reports_a_busy_port() -> None:
    metrics = Metrics()
    async with MetricsServer(metrics, port=0) as server:
        assert server.host == "127.0.0.1"
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            assert (await client.get("/healthz")).json() == {"ok": True}
            assert (await client.get("/webhooks/sendo")).status_code == 404
            assert (await client.post("/metrics")).status_code == 405
        with pytest.raises(OSError):
            await MetricsServer(metrics, port=server.port).start()


async def test_the_route_serves_metrics_inside_the_webhook_receiver(tmp_path: Path) -> None:
    metrics = Metrics()
    metrics.webhook_event(Provider.SENTDM, "unauthorized")
    store = SQLiteStore(tmp_path / "h.sqlite3")
    credentials = WebhookCredentials.from_values(SECRET, None)
    receiver = WebhookReceiver(store, credentials, port=0)
    receiver.app.router.routes.append(metrics_route(metrics))
    try:
        async with receiver:
            async with httpx.AsyncClient(base_url=receiver.base_url, timeout=30) as client:
                text = await scrape(client)
                assert (await client.get("/healthz")).json() == {"ok": True}
        assert (
            value(text, "sendwatch_webhook_events_total", provider="sentdm", result="unauthorized")
            == 1
        )
    finally:
        store.close()


def test_outcomes_of_answers_and_errors() -> None:
    assert [outcome_for_status(c) for c in (200, 404, 429, 401, 403, 422, 503)] == [
        "ok",
        "not_found",
        "rate_limited",
        "auth",
        "auth",
        "client_error",
        "server_error",
    ]
    assert outcome_for_error(None) == "ok"
    assert outcome_for_error(NotFoundError("x")) == "not_found"
    assert outcome_for_error(RateLimitedError("x", retry_after=1.0)) == "rate_limited"
    assert outcome_for_error(AuthError("x")) == "auth"
    assert outcome_for_error(BadResponseError("x")) == "bad_response"
    assert outcome_for_error(TimeoutError()) == "timeout"
    assert outcome_for_error(httpx.ConnectTimeout("x")) == "timeout"
    assert outcome_for_error(httpx.ConnectError("x")) == "network"
    assert outcome_for_error(UnavailableError("x")) == "server_error"
    assert {outcome_for_status(c) for c in range(100, 600)} <= OUTCOMES


def test_two_metrics_objects_never_share_a_count() -> None:
    one, two = Metrics(), Metrics()
    one.webhook_event(Provider.SENDO, "applied")
    counted = [
        s.value
        for f in two.registry.collect()
        for s in f.samples
        if s.name == "sendwatch_webhook_events_total"
    ]
    assert counted and set(counted) == {0.0}


def _message(status: Status, events: list[tuple[Status, int, EventSource]]) -> Message:
    created = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
    return Message(
        id=MESSAGE_ID,
        provider=Provider.SENDO,
        status=status,
        provider_status=status.value.upper(),
        to=PHONE,
        created_at=created,
        events=tuple(
            Event(s, s.value.upper(), created + timedelta(seconds=after), source=source)
            for s, after, source in events
        ),
    )


def test_a_recorded_answer_counts_its_new_status_once_and_times_the_delivery() -> None:
    metrics = Metrics()
    provider_said = EventSource.PROVIDER
    sent = _message(Status.SENT, [(Status.SENT, 2, provider_said)])
    delivered = _message(
        Status.DELIVERED,
        [
            (Status.SENT, 2, provider_said),
            (Status.DELIVERED, 9, EventSource.OBSERVED),  # our clock: not a delivery time
            (Status.DELIVERED, 7, EventSource.WEBHOOK),
        ],
    )
    metrics.message_recorded(sent, None, Status.SENT)
    metrics.message_recorded(sent, Status.SENT, Status.SENT)  # a confirmation: nothing new
    metrics.message_recorded(delivered, Status.SENT, Status.DELIVERED)
    read = replace(delivered, status=Status.READ)
    metrics.message_recorded(read, Status.DELIVERED, Status.READ)  # delivered once, timed once
    assert delivered_after(delivered) == 7.0
    assert delivered_after(sent) is None
    text = generate_latest(metrics.registry).decode()
    assert value(text, "sendwatch_status_changes_total", provider="sendo", status="sent") == 1
    assert value(text, "sendwatch_status_changes_total", provider="sendo", status="delivered") == 1
    assert value(text, "sendwatch_status_changes_total", provider="sendo", status="read") == 1
    name = "sendwatch_delivery_latency_seconds"
    assert value(text, f"{name}_count", provider="sendo") == 1
    assert value(text, f"{name}_sum", provider="sendo") == 7.0
    assert PHONE not in text and MESSAGE_ID not in text


def test_refusals_map_to_webhook_results() -> None:
    codes = (400, 401, 408, 413, 500, 503)
    assert [result_for_status(c) for c in codes] == [
        "bad_request",
        "unauthorized",
        "timeout",
        "too_large",
        "internal_error",
        "store_unavailable",
    ]
    assert result_for_status(418) == OTHER
    assert {result_for_status(c) for c in codes} <= WEBHOOK_RESULTS
