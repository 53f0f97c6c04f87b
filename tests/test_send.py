"""Sending on both providers over real HTTP to the simulator: idempotency, outcomes, history."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tui.errors import OutcomeUnknownError
from tui.model import Provider
from tui.providers.lookup import Providers
from tui.providers.sending import SendRequest, SendUsageError
from tui.services.send import cost, send
from tui.store import ListFilter, SQLiteStore


@pytest.fixture
async def providers(settings):
    p = Providers(settings)
    yield p
    await p.aclose()


async def test_sentdm_one_message_per_recipient_and_channel(
    providers, world, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "h.sqlite3")
    req = SendRequest(
        to=("+14155550101", "+14155550102"),
        template="Order Shipped",
        params={"name": "Ada"},
        channels=("sms", "whatsapp"),
    )
    assert str(cost(req)) == "2 recipients x 2 channels = 4 messages"
    try:
        result = await send(providers, Provider.SENTDM, req, store, campaign="launch")
        assert len(result.messages) == 4 and result.idempotency_key
        assert {(m.to, m.channel) for m in result.messages} == {
            (t, c) for t in req.to for c in req.channels
        }
        assert all(
            world.get(m.id) is not None for m in result.messages
        )  # real messages in the world
        assert store.count(ListFilter(campaign="launch")) == 4
        assert store.sends()[0][0] == result.idempotency_key
        # the same key again: the provider replays the first answer, nothing new is created
        again = await send(
            providers, Provider.SENTDM, replace(req, idempotency_key=result.idempotency_key), store
        )
        assert [m.id for m in again.messages] == [m.id for m in result.messages]
    finally:
        store.close()


async def test_sentdm_sandbox_and_blocked_outcome(providers, world) -> None:
    sandbox = await providers.client(Provider.SENTDM).send(
        SendRequest(to=("+14155550101",), text="hi", sandbox=True)
    )
    assert (
        len(sandbox.messages) == 1 and world.get(sandbox.messages[0].id) is None
    )  # simulated, no side effects
    blocked = await providers.client(Provider.SENTDM).send(
        SendRequest(to=("+14155550000",), text="hi")
    )
    world.advance(5)
    msg = await providers.client(Provider.SENTDM).fetch(blocked.messages[0].id)
    assert msg.provider_status == "BLOCKED" and msg.error and msg.error.code


async def test_sentdm_retry_after_a_lost_answer_reuses_the_key(providers, sim) -> None:
    sim.config.fail_next[Provider.SENTDM] = (
        1  # the first try answers 500: retried with the same key
    )
    result = await providers.client(Provider.SENTDM).send(
        SendRequest(to=("+14155550101",), text="hi")
    )
    assert len(result.messages) == 1


async def test_sendo_send_per_recipient(providers, world) -> None:
    req = SendRequest(to=("+14155550101", "+14155550102"), text="hello", sendo_campaign="SPRNG001")
    result = await providers.client(Provider.SENDO).send(req)
    assert [m.to for m in result.messages] == list(req.to) and result.idempotency_key is None
    assert all(world.get(m.id) is not None for m in result.messages)


async def test_sendo_timeout_after_sending_is_outcome_unknown(settings, sim, world) -> None:
    quick = replace(settings, network=replace(settings.network, read_timeout=0.3, max_retries=3))
    sim.config.hang_seconds = 1.0
    sim.set_fault(Provider.SENDO, "hang")
    providers = Providers(quick)
    try:
        before = len(sim.records)
        result = await providers.client(Provider.SENDO).send(
            SendRequest(to=("+14155550101",), text="hello", sendo_campaign="SPRNG001")
        )
    finally:
        await providers.aclose()
        sim.set_fault(Provider.SENDO, None)
    assert not result.messages and result.unknown and "outcome is unknown" in result.unknown[0][1]
    # asked once, never repeated once it may have reached Sendo: the client made one request ...
    assert providers.client(Provider.SENDO).budget.stats.requests == 1
    # ... and the server, once its hang is over, saw exactly one
    deadline = time.monotonic() + 30
    while not [r for r in sim.records[before:] if r.message_id == "send"]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert len([r for r in sim.records[before:] if r.message_id == "send"]) == 1


@pytest.mark.parametrize(
    ("provider", "req", "needle"),
    [
        (Provider.SENTDM, SendRequest(to=()), "at least one recipient"),
        (Provider.SENTDM, SendRequest(to=("0415",), text="x"), "E.164"),
        (
            Provider.SENTDM,
            SendRequest(to=("+14155550101",), text="x", template="t"),
            "either --text or --template",
        ),
        (
            Provider.SENTDM,
            SendRequest(to=("+14155550101",), text="x", idempotency_key="bad key!"),
            "idempotency-key",
        ),
        (Provider.SENDO, SendRequest(to=("+14155550101",), text="x"), "--sendo-campaign"),
        (
            Provider.SENDO,
            SendRequest(to=("+14155550101",), template="t", sendo_campaign="SPRNG001"),
            "no templates",
        ),
        (
            Provider.SENDO,
            SendRequest(to=("+14155550101",), text="x", sendo_campaign="SPRNG001", sandbox=True),
            "no sandbox",
        ),
    ],
)
def test_usage_errors_before_any_request(provider, req, needle) -> None:
    with pytest.raises(SendUsageError) as info:
        req.check(provider)
    assert needle in str(info.value) and info.value.exit_code == 2


def test_outcome_unknown_is_a_network_exit() -> None:
    assert OutcomeUnknownError("x").exit_code == 5


def test_send_command_json_then_get(env, world) -> None:
    from tests.test_cli import run

    both = run(["send", "--to", "+14155550101", "--text", "hi"], env)
    assert (
        both.returncode == 2 and "--provider" in both.stderr
    )  # two providers configured: say which
    out = run(
        [
            "send",
            "--provider",
            "sentdm",
            "--to",
            "+14155550101",
            "--to",
            "+14155550102",
            "--template",
            "Order Shipped",
            "--param",
            "name=Ada",
            "--channel",
            "sms",
            "--campaign",
            "cli-launch",
            "--json",
        ],
        env,
    )
    assert out.returncode == 0, out.stderr
    data = __import__("json").loads(out.stdout)
    assert data["provider"] == "sentdm" and data["idempotency_key"].startswith("sw-")
    assert [m["to"] for m in data["messages"]] == ["+14155550101", "+14155550102"]
    exported = run(["export", "--campaign", "cli-launch", "--format", "json"], env)
    assert {i["id"] for i in __import__("json").loads(exported.stdout)} == {
        m["id"] for m in data["messages"]
    }
    human = run(
        [
            "send",
            "--provider",
            "sendo",
            "--to",
            "+14155550103",
            "--text",
            "hello",
            "--sendo-campaign",
            "SPRNG001",
        ],
        env,
    )
    assert human.returncode == 0 and "Sent 1 message(s) with Sendo" in human.stdout
    usage = run(["send", "--provider", "sendo", "--to", "+14155550103", "--text", "hello"], env)
    assert usage.returncode == 2 and "--sendo-campaign" in usage.stderr
    bad = run(["send", "--provider", "sentdm", "--to", "+1415", "--text", "x"], env)
    assert bad.returncode == 2 and "E.164" in bad.stderr and "Traceback" not in bad.stderr


async def test_an_unreadable_sentdm_answer_is_outcome_unknown_with_the_key(tmp_path) -> None:
    """Sent.dm took the send (202) but its answer cannot be read: every recipient's outcome is
    unknown — never "nothing sent" — and the key to recover the IDs safely is named."""
    from tests.hostile import HostileProvider, hostile_settings

    fake = HostileProvider(send_modes={"+14155550102": "garbled"}).start()
    providers = Providers(hostile_settings(fake, tmp_path))
    try:
        req = SendRequest(to=("+14155550101", "+14155550102"), text="hi", idempotency_key="k-1")
        result = await providers.client(Provider.SENTDM).send(req)
    finally:
        await providers.aclose()
        fake.stop()
    assert not result.messages and [to for to, _ in result.unknown] == list(req.to)
    assert "--idempotency-key k-1" in result.unknown[0][1] and result.exit_code == 5
    assert len(fake.sent) == 2  # it did create them: that is why the outcome is "unknown"
