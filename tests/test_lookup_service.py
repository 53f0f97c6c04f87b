"""`LookupService`: the one lookup/refresh path, against the simulator over real HTTP and a real store."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tui.config import Settings
from tui.errors import SendwatchError
from tui.ids import MessageRef
from tui.model import Event, EventSource, Provider, Status
from tui.polling.policy import PollPolicy
from tui.providers.lookup import Providers
from tui.providers.waiting import WaitInfo
from tui.services.lookup import LookupService, LookupTimeout, dedupe_events, describe_wait
from tui.simulator import Simulator, SimWorld
from tui.store import SQLiteStore, Store


@pytest.fixture
def store(tmp_path: Path):
    s = SQLiteStore(tmp_path / "service.sqlite3")
    yield s
    s.close()


async def _service(settings: Settings, store: Store | None) -> LookupService:
    return LookupService(Providers(settings), store, PollPolicy.from_settings(settings.polling))


def _asked(sim: Simulator, message_id: str, provider: Provider) -> int:
    return sum(1 for r in sim.requests_for(message_id) if r.provider is provider)


async def test_lookup_asks_both_reads_activities_then_refresh_asks_only_the_owner(
    settings: Settings, sim: Simulator, world: SimWorld, store: Store
) -> None:
    m = world.add_message(
        Provider.SENTDM,
        [(0, "queued"), (1, "sent"), (3, "failed")],
        error=("BUSINESS_003", "Insufficient balance"),
        created=-10,
    )
    service = await _service(settings, store)
    try:
        result = await service.lookup(MessageRef(m.id))
        assert result.message.provider is Provider.SENTDM and result.message.status is Status.FAILED
        assert result.activities_read and result.notes == ()
        assert result.outcome is not None and result.outcome.current is Status.FAILED
        assert result.message.error is not None and result.message.error.code == "BUSINESS_003"
        failed = [
            e
            for e in result.message.events
            if e.status is Status.FAILED and e.source is EventSource.PROVIDER
        ]
        assert (
            failed and failed[-1].reason_code == "BUSINESS_003"
        )  # reasons survive the trip through history
        assert any(
            e.source is EventSource.OBSERVED for e in result.message.events
        )  # the stored timeline is merged in
        # a bare ID is asked of both at once (Sendo's ask may be cancelled before it leaves once Sent.dm won)
        sendo_before = _asked(sim, m.id, Provider.SENDO)
        assert sendo_before <= 1
        sentdm_before = _asked(sim, m.id, Provider.SENTDM)
        assert sentdm_before >= 2  # the message and its activity log

        again = await service.refresh(m.id)
        assert again.message.id == m.id and again.activities_read
        assert _asked(sim, m.id, Provider.SENDO) == sendo_before  # the known owner only
        assert _asked(sim, m.id, Provider.SENTDM) >= sentdm_before + 2
        stored = store.get(m.id)
        assert stored is not None and stored.message.status is Status.FAILED
    finally:
        await service.providers.aclose()


async def test_sendo_message_has_no_activity_log_and_prefix_asks_one(
    settings: Settings, sim: Simulator, world: SimWorld
) -> None:
    m = world.add_message(
        Provider.SENDO,
        [(0, "created"), (1, "sent"), (2, "failed")],
        error=(1002, "Bad number"),
        created=-5,
    )
    service = await _service(settings, None)
    try:
        result = await service.lookup(MessageRef(m.id, Provider.SENDO))
    finally:
        await service.providers.aclose()
    assert (
        result.outcome is None and not result.activities_read
    )  # no store: nothing recorded, still answered
    assert result.message.error is not None and result.message.error.code == "1002"
    assert _asked(sim, m.id, Provider.SENTDM) == 0


async def test_activity_log_failure_does_not_fail_the_lookup(
    settings: Settings, sim: Simulator, world: SimWorld, store: Store
) -> None:
    """Sent.dm allows one request now and the next in 10 s: the message is answered, the log is not."""
    m = world.add_message(Provider.SENTDM, [(0, "queued"), (1, "delivered")], created=-5)
    sim.set_rate_limit(Provider.SENTDM, 6, 1)
    service = await _service(settings, store)
    started = time.monotonic()
    try:
        result = await service.lookup(MessageRef(m.id, Provider.SENTDM), timeout=1.0)
    finally:
        await service.providers.aclose()
    assert time.monotonic() - started < 2.0
    assert result.message.status is Status.DELIVERED and not result.activities_read
    assert any("activity log" in note for note in result.notes)
    assert store.get(m.id) is not None  # the message answer was still recorded


async def test_deadline_names_the_provider_that_never_answers(
    settings: Settings, sim: Simulator
) -> None:
    sim.config.hang_seconds = 3.0
    sim.set_fault(Provider.SENTDM, "hang")
    service = await _service(settings, None)
    started = time.monotonic()
    try:
        with pytest.raises(LookupTimeout) as caught:
            await service.lookup(MessageRef("00000000-0000-4000-8000-0000000000aa"), timeout=0.6)
    finally:
        await service.providers.aclose()
    assert time.monotonic() - started < 1.2
    assert caught.value.waiting_for == (
        Provider.SENTDM,
    )  # Sendo's quick 404 is not what we waited for
    assert (
        caught.value.exit_code == 5
        and "Sent.dm" in str(caught.value)
        and "Sendo" not in str(caught.value)
    )


async def test_retries_and_retry_after_are_reported(
    settings: Settings, sim: Simulator, world: SimWorld
) -> None:
    m = world.add_message(Provider.SENDO, [(0, "created"), (1, "delivered")], created=-5)
    seen: list[WaitInfo] = []
    service = await _service(settings, None)
    try:
        sim.config.fail_next[Provider.SENDO] = 2
        await service.lookup(MessageRef(m.id, Provider.SENDO), on_wait=seen.append)
        assert [(w.kind, w.retry, w.retries, w.reason) for w in seen] == [
            ("backoff", 1, 2, "HTTP 500"),
            ("backoff", 2, 2, "HTTP 500"),
        ]
        assert describe_wait(seen[0]).startswith("waiting for Sendo… retry 1 of 2 in ")
    finally:
        await service.providers.aclose()
    # Sent.dm allows one request per half second; a first client spends it, a second one (another
    # process, say) knows nothing of that and meets a 429 with Retry-After
    d = world.add_message(Provider.SENTDM, [(0, "queued"), (1, "delivered")], created=-5)
    sim.set_rate_limit(Provider.SENTDM, 120, 1)
    first = await _service(settings, None)
    fresh = await _service(settings, None)
    try:
        await first.lookup(MessageRef(d.id, Provider.SENTDM), activities=False)
        result = await fresh.lookup(
            MessageRef(d.id, Provider.SENTDM), on_wait=seen.append, activities=False
        )
    finally:
        await first.providers.aclose()
        await fresh.providers.aclose()
    assert result.message.status is Status.DELIVERED
    waits = [w for w in seen if w.kind == "retry_after"]
    assert waits and waits[0].provider is Provider.SENTDM and waits[0].seconds >= 1
    assert (
        describe_wait(waits[0])
        == f"Sent.dm asked us to wait {waits[0].seconds:.0f} s (Retry-After)"
    )


async def test_hook_is_scoped_to_the_lookup(
    settings: Settings, sim: Simulator, world: SimWorld
) -> None:
    """Another caller of the same clients (the app's poller) never reports into a lookup's hook."""
    polled = world.add_message(Provider.SENDO, [(0, "created")], created=-5)
    looked_up = world.add_message(Provider.SENTDM, [(0, "queued")], created=-5)
    seen: list[WaitInfo] = []
    service = await _service(settings, None)
    try:
        sim.config.fail_next[Provider.SENDO] = 1
        poller = asyncio.ensure_future(service.providers.client(Provider.SENDO).fetch(polled.id))
        await asyncio.gather(
            poller, service.lookup(MessageRef(looked_up.id, Provider.SENTDM), on_wait=seen.append)
        )
    finally:
        await service.providers.aclose()
    assert [r.status for r in sim.requests_for(polled.id)] == [
        500,
        200,
    ]  # the poller did wait and retry
    assert seen == []


def test_dedupe_events_keeps_one_copy_with_its_reason() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    stored = Event(Status.FAILED, "failed", when, "Message delivery failed")
    fresh = Event(
        Status.FAILED,
        "FAILED",
        when,
        "Message delivery failed",
        reason_code="DELIVERY_003",
        reason="Carrier",
    )
    observed = Event(Status.FAILED, "FAILED", when, "first seen as FAILED", EventSource.OBSERVED)
    earlier = Event(Status.QUEUED, "QUEUED", datetime(2025, 12, 31, tzinfo=UTC))
    merged = dedupe_events([stored, observed], (fresh, earlier))
    assert merged[0] is earlier and len(merged) == 3
    assert fresh in merged and stored not in merged and observed in merged


async def test_a_failed_refresh_is_recorded_by_the_policys_rule(
    settings: Settings, sim: Simulator, world: SimWorld, store: Store
) -> None:
    """A tracked message whose lookup fails is backed off like a failed poll (one rule), so the
    poller does not ask it again at once; a rejected key leaves its schedule alone."""
    m = world.add_message(Provider.SENDO, [(0, "created")], created=-10)
    store.track([MessageRef(m.id, Provider.SENDO)], now=time.time() - 5)
    sim.set_fault(Provider.SENDO, "down")
    service = await _service(settings, store)
    try:
        before = time.time()
        with pytest.raises(SendwatchError):
            await service.lookup(MessageRef(m.id, Provider.SENDO))
        row = store.row(m.id)
        assert row.poll_errors == 1 and "server error" in row.last_error
        assert row.next_poll >= before + settings.polling.min_interval * 2
    finally:
        sim.set_fault(Provider.SENDO, None)
        await service.providers.aclose()
