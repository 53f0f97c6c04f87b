"""Sent.dm resend and cancel through the client, over real HTTP to the simulator (issue #16)."""

from __future__ import annotations

import pytest

from tui.errors import InvalidIdError, NotFoundError, OutcomeUnknownError
from tui.model import Provider, Status
from tui.providers import actions
from tui.providers.actions import ActionRefusedError, NotSupportedError
from tui.providers.sendo import SendoClient
from tui.providers.sentdm import SentDmClient
from tui.simulator import Simulator, SimWorld

MISSING = "00000000-0000-4000-8000-000000000000"


def blocked(world: SimWorld):
    return world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (0.4, "BLOCKED")],
        error=("BUSINESS_003", "Insufficient balance"),
        created=-10,
    )


def scheduled(world: SimWorld, in_seconds: float = 600):
    return world.add_message(Provider.SENTDM, [(0, "SCHEDULED"), (in_seconds, "QUEUED")], created=0)


@pytest.fixture
async def client(settings):
    c = SentDmClient(settings.sentdm, settings.network)
    seen: list[tuple[Provider, int | str]] = []
    c.on_request = lambda provider, answer, seconds: seen.append((provider, answer))
    c.seen = seen  # type: ignore[attr-defined]
    yield c
    await c.aclose()


async def test_resend_requeues_the_same_id(client, world, sim: Simulator) -> None:
    m = blocked(world)
    world.plan_resend(m.id, "DELIVERED")
    msg = await actions.resend(client, m.id)
    assert msg is not None and msg.id == m.id and msg.status is Status.QUEUED
    assert [e.provider_status for e in msg.events] == ["QUEUED", "BLOCKED", "QUEUED"]
    assert client.seen == [(Provider.SENTDM, 202)]  # the metrics hook saw the POST


async def test_resend_refused_for_filtered_with_the_providers_words(client, world) -> None:
    m = world.add_message(Provider.SENTDM, [(0, "QUEUED"), (1, "FILTERED")], created=-5)
    with pytest.raises(ActionRefusedError, match="409 BUSINESS_006") as caught:
        await actions.resend(client, m.id)
    assert "never resendable" in caught.value.detail
    assert caught.value.exit_code == 1


async def test_cancel_then_a_repeated_cancel_both_succeed(client, world) -> None:
    m = scheduled(world)
    first = await actions.cancel(client, m.id)
    again = await actions.cancel(client, m.id)
    assert first is not None and first.status is Status.CANCELLED
    assert again is not None and again.status is Status.CANCELLED


async def test_cancel_of_a_delivered_message_is_explained(client, world) -> None:
    m = world.add_message(Provider.SENTDM, [(0, "QUEUED"), (1, "DELIVERED")], created=-5)
    with pytest.raises(ActionRefusedError, match="finished"):
        await actions.cancel(client, m.id)


async def test_unknown_and_malformed_ids_read_like_lookups(client) -> None:
    with pytest.raises(NotFoundError):
        await actions.cancel(client, MISSING)
    with pytest.raises(InvalidIdError):
        await actions.resend(client, "not-an-id")


async def test_cancel_is_retried_after_a_5xx_resend_is_not(client, world, sim: Simulator) -> None:
    m = scheduled(world)
    sim.config.fail_next[Provider.SENTDM] = 1
    done = await actions.cancel(client, m.id)
    assert done is not None and done.status is Status.CANCELLED
    assert [r.status for r in sim.requests_for(m.id)] == [500, 200]
    b = blocked(world)
    sim.config.fail_next[Provider.SENTDM] = 1
    with pytest.raises(OutcomeUnknownError, match="may have been re-queued"):
        await actions.resend(client, b.id)
    assert [r.status for r in sim.requests_for(b.id)] == [500]  # never repeated blindly


async def test_sendo_is_refused_without_a_request(settings, sim: Simulator) -> None:
    sendo = SendoClient(settings.sendo, settings.network)
    try:
        with pytest.raises(NotSupportedError, match="only Sent.dm"):
            await actions.resend(sendo, MISSING)
        with pytest.raises(NotSupportedError):
            await actions.cancel(sendo, MISSING)
    finally:
        await sendo.aclose()
    assert sim.records == []
