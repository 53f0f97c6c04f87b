"""Sent.dm resend and cancel (issue #16, docs/providers.md Part 2 §1-2), over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.test_simulator_webhooks import Receiver, sender
from tui.model import Provider
from tui.simulator import SENDO_KEY, SENTDM_KEY, Simulator, SimWorld
from tui.simulator.lifecycle import release_time
from tui.simulator.webhooks import SIM_WEBHOOK_SECRET, SIM_WEBHOOK_TOKEN

SD = {"x-api-key": SENTDM_KEY}
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def http(sim: Simulator):
    with httpx.Client(base_url=sim.base_url, timeout=5.0) as client:
        yield client


def blocked(world: SimWorld):
    return world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (0.4, "BLOCKED")],
        error=("BUSINESS_003", "Insufficient balance"),
        created=-10,
    )


def get(http, msg_id: str) -> dict:
    return http.get(f"/v3/messages/{msg_id}", headers=SD).json()["data"]


def test_resend_requeues_the_same_id_as_a_new_billed_attempt(http, world) -> None:
    m = blocked(world)
    assert get(http, m.id)["price"] == 0.0  # refused before sending: not billed
    world.plan_resend(m.id, "DELIVERED")
    r = http.post(f"/v3/messages/{m.id}/resend", headers=SD)
    assert r.status_code == 202 and r.json()["success"] is True
    data = r.json()["data"]
    assert data["id"] == m.id and data["status"] == "QUEUED" and "reason_code" not in data
    assert [e["status"] for e in data["events"]] == ["QUEUED", "BLOCKED", "QUEUED"]
    assert data["events"][1]["reason_code"] == "BUSINESS_003"  # the first attempt keeps its reason
    world.advance(10)
    data = get(http, m.id)
    assert data["status"] == "DELIVERED" and data["price"] == 0.0075
    statuses = [e["status"] for e in data["events"]]
    assert statuses == ["QUEUED", "BLOCKED", "QUEUED", "PROCESSED", "ROUTED", "SENT", "DELIVERED"]
    acts = http.get(f"/v3/messages/{m.id}/activities", headers=SD).json()["data"]["activities"]
    queued = [a["price"] for a in acts if a["status"] == "QUEUED"]  # one per attempt, newest first
    assert queued == ["0.0075", "0.0000"] and acts[-2]["price"] == "0.0000"
    assert len({m.id for m in world.messages.values()}) == len(world.messages)  # no new message


@pytest.mark.parametrize(
    "outcome, status, code",
    [("FAILED", "FAILED", "DELIVERY_007"), ("BLOCKED", "BLOCKED", "BUSINESS_003")],
)
def test_a_planned_resend_fails_deterministically(http, world, outcome, status, code) -> None:
    m = world.add_message(
        Provider.SENTDM, [(0, "QUEUED"), (1, "SENT"), (3, "DELIVERED")], created=-9
    )
    world.plan_resend(m.id, outcome)
    assert http.post(f"/v3/messages/{m.id}/resend", headers=SD).status_code == 202
    world.advance(30)
    data = get(http, m.id)
    assert data["status"] == status and data["reason_code"] == code
    assert [e["status"] for e in data["events"]][:3] == ["QUEUED", "SENT", "DELIVERED"]
    custom = world.add_message(Provider.SENTDM, [(0, "QUEUED"), (1, "FAILED")], created=-9)
    world.plan_resend(custom.id, [(0, "queued"), (2, "failed")], error=("DELIVERY_003", "Nope"))
    http.post(f"/v3/messages/{custom.id}/resend", headers=SD)
    world.advance(5)
    assert (get(http, custom.id)["status"], get(http, custom.id)["reason"]) == ("FAILED", "Nope")


def test_resend_refusals(http, world) -> None:
    filtered = world.add_message(Provider.SENTDM, [(0, "QUEUED"), (1, "FILTERED")], created=-5)
    cancelled = world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (0.2, "SCHEDULED"), (2, "CANCELLED")],
        created=-5,
        scheduled_at=600.0,
    )
    in_flight = world.add_message(Provider.SENTDM, [(0, "QUEUED"), (1, "SENT")], created=-5)
    for m in (filtered, cancelled, in_flight):
        r = http.post(f"/v3/messages/{m.id}/resend", headers=SD)
        assert r.status_code == 409 and r.json()["error"]["code"] == "BUSINESS_006", m.steps
    resent = blocked(world)
    assert http.post(f"/v3/messages/{resent.id}/resend", headers=SD).status_code == 202
    again = http.post(f"/v3/messages/{resent.id}/resend", headers=SD)  # now in flight
    assert again.status_code == 409 and "in flight" in again.json()["error"]["message"]
    r = http.post(f"/v3/messages/{MISSING}/resend", headers=SD)
    assert r.status_code == 404 and r.json()["error"]["code"] == "RESOURCE_003"
    r = http.post("/v3/messages/not-an-id/resend", headers=SD)
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_001"
    assert http.post(f"/v3/messages/{resent.id}/resend").status_code == 401


def test_sendo_has_neither_resend_nor_cancel(http, world) -> None:
    m = world.add_message(Provider.SENDO, [(0, "CREATED"), (1, "FAILED")], created=-5)
    for action in ("resend", "cancel"):
        r = http.post(
            f"/v1/message/{m.id}/{action}", headers={"authorization": f"Bearer {SENDO_KEY}"}
        )
        assert r.status_code == 404


def test_resend_fires_the_status_webhooks_again(world) -> None:
    r = Receiver(SIM_WEBHOOK_SECRET, SIM_WEBHOOK_TOKEN)
    s = sender(world, r.url, providers=(Provider.SENTDM,))
    sim = Simulator(world).start()
    try:
        m = world.add_message(
            Provider.SENTDM,
            [(0, "QUEUED"), (0.4, "BLOCKED")],
            created=0.0,
            error=("BUSINESS_003", "Insufficient balance"),
        )
        world.advance(1)
        assert s.flush()
        world.plan_resend(m.id, "DELIVERED")
        with httpx.Client(base_url=sim.base_url) as http:
            assert http.post(f"/v3/messages/{m.id}/resend", headers=SD).status_code == 202
        world.advance(10)
        assert s.flush()
    finally:
        s.stop()
        sim.stop()
        r.close()
    events = [b["event"] for _, _, b in r.events]
    assert events == [
        "message.queued",
        "message.blocked",
        "message.queued",
        "message.routed",
        "message.sent",
        "message.delivered",
    ]
    blocked_payload = r.events[1][2]["payload"]
    assert blocked_payload["reason_code"] == "BUSINESS_003"
    assert "reason_code" not in r.events[-1][2]["payload"]


# -- cancel -----------------------------------------------------------------------------------
def schedule(http, world: SimWorld, seconds_ahead: float) -> str:
    """Send one message scheduled `seconds_ahead` world-seconds from now; its id."""
    when = world.wall(world.now() + seconds_ahead)
    from datetime import UTC, datetime

    stamp = datetime.fromtimestamp(when, tz=UTC).isoformat()
    body = {"to": ["+14155550123"], "text": "later", "scheduled_at": stamp}
    r = http.post("/v3/messages", json=body, headers=SD)
    assert r.status_code == 202, r.text
    return str(r.json()["data"]["recipients"][0]["message_id"])


def test_the_sweeper_releases_on_its_30_second_tick() -> None:
    assert [release_time(t) for t in (60.0, 61.0, 75.0, 89.9, 90.0)] == [60, 90, 90, 90, 90]


def test_cancel_wins_before_the_sweeper_claims_the_message(http, world) -> None:
    mid = schedule(http, world, 75.0)  # released at the tick of world time 90
    world.advance(1)
    assert get(http, mid)["status"] == "SCHEDULED"
    world.advance(88.0 - world.now())
    r = http.post(f"/v3/messages/{mid}/cancel", headers=SD)
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["id"] == mid and data["status"] == "CANCELLED" and data["scheduled_at"]
    assert [e["status"] for e in data["events"]] == ["QUEUED", "SCHEDULED"]  # as it stood before
    again = http.post(f"/v3/messages/{mid}/cancel", headers=SD)
    assert again.status_code == 200 and again.json()["data"] == data
    world.advance(600)
    after = get(http, mid)
    assert after["status"] == "CANCELLED" and after["scheduled_at"] == data["scheduled_at"]
    assert [e["status"] for e in after["events"]] == ["QUEUED", "SCHEDULED", "CANCELLED"]
    acts = http.get(f"/v3/messages/{mid}/activities", headers=SD).json()["data"]["activities"]
    assert acts[0]["status"] == "CANCELLED" and acts[0]["scheduled_at"] == data["scheduled_at"]
    assert after["price"] == 0.0  # cancelling is free


def test_cancel_loses_once_the_sweeper_claimed_it(http, world) -> None:
    mid = schedule(http, world, 75.0)
    world.advance(90.0 - world.now())  # the tick
    assert get(http, mid)["status"] != "SCHEDULED"
    r = http.post(f"/v3/messages/{mid}/cancel", headers=SD)
    assert r.status_code == 409 and r.json()["error"]["code"] == "BUSINESS_006"
    finished = blocked(world)
    assert http.post(f"/v3/messages/{finished.id}/cancel", headers=SD).status_code == 409
    assert http.post(f"/v3/messages/{MISSING}/cancel", headers=SD).status_code == 404
    assert http.post("/v3/messages/nope/cancel", headers=SD).status_code == 400


def test_cancel_honours_the_idempotency_key(http, world) -> None:
    mid = schedule(http, world, 300.0)
    key = {**SD, "Idempotency-Key": "cancel-1"}
    first = http.post(f"/v3/messages/{mid}/cancel", headers=key)
    replay = http.post(f"/v3/messages/{mid}/cancel", headers=key)
    assert first.status_code == replay.status_code == 200
    assert (
        replay.headers["idempotent-replayed"] == "true"
        and "idempotent-replayed" not in first.headers
    )
    assert replay.json()["data"] == first.json()["data"]
    bad = http.post(f"/v3/messages/{mid}/cancel", headers={**SD, "Idempotency-Key": "no spaces"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_001"
    refused = blocked(world)
    retry = {**SD, "Idempotency-Key": "cancel-2"}
    assert http.post(f"/v3/messages/{refused.id}/cancel", headers=retry).status_code == 409
    other = schedule(http, world, 300.0)  # a refusal is not cached: the key is free again
    assert http.post(f"/v3/messages/{other}/cancel", headers=retry).status_code == 200


def test_message_cancelled_fires_exactly_once_with_scheduled_at(world) -> None:
    r = Receiver(SIM_WEBHOOK_SECRET, SIM_WEBHOOK_TOKEN)
    s = sender(world, r.url, providers=(Provider.SENTDM,))
    sim = Simulator(world).start()
    try:
        with httpx.Client(base_url=sim.base_url) as http:
            mid = schedule(http, world, 120.0)
            world.advance(5)
            assert s.flush()
            for _ in range(3):
                assert http.post(f"/v3/messages/{mid}/cancel", headers=SD).status_code == 200
        world.advance(600)
        assert s.flush()
    finally:
        s.stop()
        sim.stop()
        r.close()
    events = [b["event"] for _, _, b in r.events]
    assert events == ["message.queued", "message.scheduled", "message.cancelled"]
    payload = r.events[-1][2]["payload"]
    assert payload["message_status"] == "CANCELLED" and payload["scheduled_at"].endswith("Z")
    assert payload["scheduled_at"] == r.events[1][2]["payload"]["scheduled_at"]
