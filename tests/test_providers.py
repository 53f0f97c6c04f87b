"""Provider clients against the simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from tui.config import Secret
from tui.errors import (
    AuthError,
    BadResponseError,
    InvalidIdError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from tui.ids import MessageRef, parse_ref
from tui.model import Provider, Status
from tui.providers.lookup import Providers
from tui.providers.sendo import SendoClient
from tui.providers.sentdm import SentDmClient
from tui.simulator.server import ALLOWED_PROFILE, SENTDM_PROFILE_KEY

MISSING = "00000000-0000-4000-8000-000000000000"


def sentdm_msg(world, **kw):
    return world.add_message(
        Provider.SENTDM, [(0, "queued"), (2, "sent"), (5, "delivered")], created=-10, **kw
    )


def sendo_msg(world, **kw):
    return world.add_message(
        Provider.SENDO,
        [(0, "created"), (1, "queued"), (2, "sent"), (8, "failed")],
        error=("CARRIER_REJECTED", "Rejected by the destination carrier"),
        created=-10,
        **kw,
    )


async def fetch(settings, ref: MessageRef):
    providers = Providers(settings)
    try:
        return await providers.fetch(ref)
    finally:
        await providers.aclose()


async def test_sentdm_hit_with_events_and_activities(settings, world) -> None:
    m = sentdm_msg(world)
    msg = await fetch(settings, MessageRef(m.id, Provider.SENTDM))
    assert msg.status is Status.DELIVERED and msg.provider is Provider.SENTDM and msg.to == m.to
    assert [e.provider_status for e in msg.events] == ["QUEUED", "SENT", "DELIVERED"]
    client = SentDmClient(settings.sentdm, settings.network)
    try:
        activities = await client.fetch_activities(m.id)
    finally:
        await client.aclose()
    assert [a.provider_status for a in activities] == ["QUEUED", "SENT", "DELIVERED"]


async def test_sendo_hit_with_error(settings, world) -> None:
    m = sendo_msg(world)
    msg = await fetch(settings, MessageRef(m.id, Provider.SENDO))
    assert msg.status is Status.FAILED and msg.provider_status == "FAILED"
    assert msg.error.code == "CARRIER_REJECTED" and "carrier" in msg.error.message


async def test_status_progresses_with_the_world_clock(settings, world) -> None:
    m = world.add_message(Provider.SENTDM, [(0, "queued"), (5, "sent"), (9, "delivered")])
    first = await fetch(settings, MessageRef(m.id, Provider.SENTDM))
    world.advance(6)
    second = await fetch(settings, MessageRef(m.id, Provider.SENTDM))
    world.advance(10)
    third = await fetch(settings, MessageRef(m.id, Provider.SENTDM))
    assert [first.status, second.status, third.status] == [
        Status.QUEUED,
        Status.SENT,
        Status.DELIVERED,
    ]


async def test_lookup_without_provider_asks_both(settings, world, sim) -> None:
    sd, so = sentdm_msg(world), sendo_msg(world)
    assert (await fetch(settings, MessageRef(sd.id))).provider is Provider.SENTDM
    assert (await fetch(settings, MessageRef(so.id))).provider is Provider.SENDO
    # the other provider was asked too and answered 404, which was not an error
    assert {r.provider for r in sim.requests_for(so.id)} == {Provider.SENTDM, Provider.SENDO}


async def test_not_found_at_both(settings) -> None:
    with pytest.raises(NotFoundError, match="not found at Sent.dm or Sendo"):
        await fetch(settings, MessageRef(MISSING))


async def test_not_found_at_one_provider(settings) -> None:
    with pytest.raises(NotFoundError):
        await fetch(settings, MessageRef(MISSING, Provider.SENDO))


async def test_invalid_id_rejected_by_provider(settings) -> None:
    """The providers validate too (VALIDATION_001 / 400) for IDs that bypass our own check."""
    for client_cls, ps in ((SentDmClient, settings.sentdm), (SendoClient, settings.sendo)):
        client = client_cls(ps, settings.network)
        try:
            with pytest.raises(InvalidIdError):
                await client.fetch("not-a-uuid")
        finally:
            await client.aclose()


def test_invalid_id_rejected_locally() -> None:
    for text in (
        "",
        "abc",
        "sentdm:",
        "fax:8ba7b830-9dad-11d1-80b4-00c04fd430c8",
        "8ba7b830-9dad-11d1-80b4-00c04fd430c8x",
    ):
        with pytest.raises(InvalidIdError):
            parse_ref(text)
    assert parse_ref(" SENDO:F7D258BD-F697-4840-B8A6-165707E12345 ").provider is Provider.SENDO


@pytest.mark.parametrize("provider", [Provider.SENTDM, Provider.SENDO])
async def test_auth_rejected_names_the_env_var(settings, world, provider) -> None:
    bad = settings.with_provider(provider, api_key=Secret("wrong-key-1234567890"))
    m = sentdm_msg(world) if provider is Provider.SENTDM else sendo_msg(world)
    with pytest.raises(AuthError) as info:
        await fetch(bad, MessageRef(m.id, provider))
    assert ("SENT_DM_API_KEY" if provider is Provider.SENTDM else "SENDO_API_KEY") in str(
        info.value
    )
    assert info.value.exit_code == 4


async def test_profile_header_forbidden_for_profile_key(settings, world) -> None:
    m = sentdm_msg(world)
    ok = settings.with_provider(Provider.SENTDM, profile_id=ALLOWED_PROFILE)
    assert (await fetch(ok, MessageRef(m.id, Provider.SENTDM))).id == m.id
    scoped = settings.with_provider(
        Provider.SENTDM, api_key=Secret(SENTDM_PROFILE_KEY), profile_id=ALLOWED_PROFILE
    )
    with pytest.raises(AuthError, match="403"):
        await fetch(scoped, MessageRef(m.id, Provider.SENTDM))


@pytest.mark.parametrize("provider", [Provider.SENTDM, Provider.SENDO])
async def test_5xx_is_retried_then_succeeds(settings, world, sim, provider) -> None:
    m = sentdm_msg(world) if provider is Provider.SENTDM else sendo_msg(world)
    sim.config.fail_next[provider] = 2
    msg = await fetch(settings, MessageRef(m.id, provider))
    assert msg.id == m.id
    assert len(sim.requests_for(m.id)) == 3  # two 500s, then the answer


async def test_provider_down_after_retries(settings, world, sim) -> None:
    m = sendo_msg(world)
    sim.set_fault(Provider.SENDO, "down")
    with pytest.raises(UnavailableError, match="server error"):
        await fetch(settings, MessageRef(m.id, Provider.SENDO))
    assert len(sim.requests_for(m.id)) == 1 + settings.network.max_retries


async def test_connection_refused_is_unavailable(settings) -> None:
    dead = settings.with_provider(Provider.SENDO, base_url="http://127.0.0.1:9")
    with pytest.raises(UnavailableError, match="cannot reach Sendo"):
        await fetch(dead, MessageRef(MISSING, Provider.SENDO))


async def test_timeout_is_unavailable(settings, world, sim) -> None:
    m = sendo_msg(world)
    sim.config.hang_seconds = 1.5
    sim.set_fault(Provider.SENDO, "hang")
    quick = replace(settings, network=replace(settings.network, read_timeout=0.3, max_retries=0))
    with pytest.raises(UnavailableError, match="timeout"):
        await fetch(quick, MessageRef(m.id, Provider.SENDO))


async def test_4xx_is_not_retried(settings, sim) -> None:
    with pytest.raises(NotFoundError):
        await fetch(settings, MessageRef(MISSING, Provider.SENTDM))
    assert len(sim.requests_for(MISSING)) == 1


@pytest.mark.parametrize("fault", ["malformed", "wrong_shape"])
@pytest.mark.parametrize("provider", [Provider.SENTDM, Provider.SENDO])
async def test_bad_responses(settings, world, sim, fault, provider) -> None:
    m = sentdm_msg(world) if provider is Provider.SENTDM else sendo_msg(world)
    sim.set_fault(provider, fault)
    with pytest.raises(BadResponseError, match=provider.label):
        await fetch(settings, MessageRef(m.id, provider))


async def test_429_honours_retry_after(settings, world, sim) -> None:
    m = sentdm_msg(world)
    sim.set_rate_limit(Provider.SENTDM, per_minute=60, burst=1)  # one token a second
    started = time.monotonic()
    await fetch(settings, MessageRef(m.id, Provider.SENTDM))
    # our own budget learns 60/min from X-RateLimit-Limit; make it overspend to provoke a 429
    providers = Providers(settings)
    client = providers.client(Provider.SENTDM)
    client.budget.tokens = 5.0
    try:
        await client.fetch(m.id)
    finally:
        await providers.aclose()
    statuses = [r.status for r in sim.requests_for(m.id)]
    assert statuses == [200, 429, 200]
    records = sim.requests_for(m.id)
    assert records[2].at - records[1].at >= 0.9  # waited out Retry-After: 1
    assert time.monotonic() - started < 10


async def test_long_retry_after_gives_up_with_rate_limited(settings, world, sim) -> None:
    m = sentdm_msg(world)
    sim.set_rate_limit(Provider.SENTDM, per_minute=1, burst=1)
    await fetch(settings, MessageRef(m.id, Provider.SENTDM))
    providers = Providers(settings)
    client = providers.client(Provider.SENTDM)
    client.budget.tokens = 5.0
    client.budget.rate = 100.0
    try:
        with pytest.raises(RateLimitedError) as info:
            await client.fetch(m.id)
    finally:
        await providers.aclose()
    assert info.value.retry_after > settings.network.max_retry_after


async def test_one_provider_down_other_404_reports_the_outage(settings, sim) -> None:
    sim.set_fault(Provider.SENDO, "down")
    with pytest.raises(UnavailableError) as info:
        await fetch(settings, MessageRef(MISSING))
    assert "Sendo" in str(info.value) and "not found at Sent.dm" in str(info.value)


async def test_unconfigured_provider_is_a_config_error(settings, world) -> None:
    from tui.errors import ConfigError

    only_sentdm = settings.with_provider(Provider.SENDO, api_key=Secret(""))
    with pytest.raises(ConfigError, match="SENDO_API_KEY"):
        await fetch(only_sentdm, MessageRef(MISSING, Provider.SENDO))
    m = sentdm_msg(world)
    assert (await fetch(only_sentdm, MessageRef(m.id))).provider is Provider.SENTDM


def test_a_provider_cut_off_at_the_deadline_shows_as_slow_for_a_while() -> None:
    """`slow` (with the reason) survives the good answers around it for SLOW_MEMORY seconds; it
    is not `offline`, and a 429 or a rejected key still says what it is."""
    from tui.providers.budget import SLOW_MEMORY, HealthState, RequestBudget

    now = [1000.0]
    budget = RequestBudget(10, 5, 2, wall=lambda: now[0], clock=lambda: now[0])
    budget.on_success()
    budget.on_failure("answers cut off at the 30 s request deadline", slow=True)
    assert budget.health.state is HealthState.SLOW and "deadline" in budget.health.detail
    budget.on_failure("answers cut off at the 30 s request deadline", slow=True)
    assert budget.health.state is HealthState.SLOW and budget.health.since == 1000.0
    now[0] += 10
    budget.on_success()
    assert budget.health.state is HealthState.SLOW and budget.health.since == 1000.0
    now[0] += SLOW_MEMORY
    budget.on_success()
    assert budget.health.state is HealthState.OK
    budget.on_throttled(30)
    budget.on_failure("cut off", slow=True)
    assert budget.health.state is HealthState.RATE_LIMITED


def test_the_429s_of_one_burst_cut_the_rate_once() -> None:
    """Requests in flight when the first 429 came answer 429 too: one refusal, not several (each
    used to halve the ceiling again, leaving Sendo at 45% of its limit for good)."""
    from tui.providers.budget import RequestBudget

    now = [0.0]
    budget = RequestBudget(20.0, 20, 8, clock=lambda: now[0], wall=lambda: 1e9 + now[0])
    for _ in range(3):  # three answers of one burst
        budget.on_throttled(0.7)
    assert budget.rate == 10.0 and budget.ceiling == 18.0 and budget.stats.throttled == 3
    now[0] += 1.0  # past the wait: a new 429 is a new refusal
    budget.on_throttled(0.7)
    assert budget.rate == 5.0 and budget.ceiling == 9.0


async def test_remaining_counts_the_requests_still_in_flight() -> None:
    """`Remaining: 5` while 3 others are in flight leaves 2 tokens, not 5 (the 429s at start-up
    that slowed a whole Sendo campaign came from counting them twice)."""
    from tui.providers.budget import RequestBudget

    budget = RequestBudget(100.0, 50, 8)
    entered, release = asyncio.Event(), asyncio.Event()
    count = 0

    async def hold() -> None:
        nonlocal count
        async with budget.slot():
            count += 1
            if count == 4:
                entered.set()
            await release.wait()

    budget.probe_answered()
    holders = [asyncio.ensure_future(hold()) for _ in range(4)]
    await asyncio.wait_for(entered.wait(), timeout=30)
    budget.observe_headers({"x-ratelimit-remaining": "5"})  # seen by one of the four
    assert budget.tokens == pytest.approx(2.0, abs=0.1)
    release.set()
    await asyncio.gather(*holders)
    assert budget._in_flight == 0
