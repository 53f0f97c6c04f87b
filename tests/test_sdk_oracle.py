"""Sent.dm's official SDK (`sentdm` 0.46.0) against the simulator: the vendor's own reading of the wire.

If the SDK cannot parse what the simulator answers, or maps a status to another exception than it
would for the real API, the simulator is wrong, and so would be every test that trusts it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

sent_dm = pytest.importorskip("sent_dm")

from sent_dm.types.error_detail import ErrorDetail  # noqa: E402

from tui.model import Provider  # noqa: E402
from tui.simulator import SENTDM_KEY, SimConfig, Simulator  # noqa: E402

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def client(sim: Simulator):
    with sent_dm.Sent(api_key=SENTDM_KEY, base_url=sim.base_url, max_retries=0, timeout=5.0) as c:
        yield c


def failed(world):
    return world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "ROUTED"), (3, "SENT"), (9, "FAILED")],
        error=("DELIVERY_007", "The carrier reported the handset as unreachable"),
        created=-20,
    )


def test_retrieve_status_parses_the_message(client, world) -> None:
    m = failed(world)
    res = client.messages.retrieve_status(m.id)
    assert res.success is True and res.error is None and isinstance(res.meta.timestamp, datetime)
    data = res.data
    assert data.id == m.id and data.status == "FAILED" and data.channel == "sms"
    assert (data.reason_code, data.reason) == m.error
    assert isinstance(data.created_at, datetime) and data.created_at.tzinfo is not None
    assert [e.status for e in data.events] == ["QUEUED", "ROUTED", "SENT", "FAILED"]
    assert data.events[-1].reason_code == "DELIVERY_007" and data.events[0].reason_code is None
    assert all(isinstance(e.timestamp, datetime) for e in data.events)
    assert data.message_body.content == m.body and isinstance(data.price, float)
    # nothing the SDK did not expect: every key of the answer is a field of its model
    assert not data.model_extra and not data.message_body.model_extra


def test_rich_body_parses(client, world) -> None:
    m = world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (1, "SENT"), (2, "DELIVERED"), (3, "READ")],
        channel="whatsapp",
        header="Order update",
        footer="Reply STOP",
        buttons=[{"type": "QUICK_REPLY", "text": "Track", "value": None, "postbackData": "track"}],
        header_media={"type": "image", "url": "https://cdn.example.com/b.jpg"},
        created=-10,
    )
    body = client.messages.retrieve_status(m.id).data.message_body
    assert body.header == "Order update" and body.buttons[0].postback_data == "track"
    assert body.header_media.url == "https://cdn.example.com/b.jpg"
    mms = world.add_message(
        Provider.SENTDM, [(0, "QUEUED"), (1, "SENT")], channel="mms", subject="Hi", created=-10
    )
    got = client.messages.retrieve_status(mms.id).data.message_body
    assert (
        got.subject == "Hi"
        and got.media[0].mime_type == "image/jpeg"
        and got.media[0].size_bytes == 48213
    )


def test_retrieve_activities(client, world) -> None:
    m = failed(world)
    res = client.messages.retrieve_activities(m.id)
    acts = res.data.activities
    assert res.data.message_id == m.id
    assert [a.status for a in acts] == ["FAILED", "SENT", "ROUTED", "QUEUED"]
    assert (
        acts[0].reason_code == "DELIVERY_007"
        and acts[0].from_ == m.from_
        and acts[0].price == "0.0075"
    )
    assert res.data.pagination.total_count == 4 and res.data.pagination.has_more is False
    assert not acts[0].model_extra


def test_scheduled_and_cancelled_activity(client, world) -> None:
    m = world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (0.3, "SCHEDULED"), (50, "CANCELLED")],
        created=-60,
        scheduled_at=3600.0,
    )
    acts = client.messages.retrieve_activities(m.id).data.activities
    assert [a.status for a in acts] == ["CANCELLED", "SCHEDULED", "QUEUED"]
    assert acts[0].scheduled_at == acts[1].scheduled_at and acts[2].scheduled_at is None


def test_sdk_exceptions(client, world, sim) -> None:
    m = failed(world)
    with pytest.raises(sent_dm.NotFoundError):
        client.messages.retrieve_status(MISSING)
    with pytest.raises(sent_dm.BadRequestError):
        client.messages.retrieve_status("not-a-uuid")
    with sent_dm.Sent(api_key="wrong-key", base_url=sim.base_url, max_retries=0) as bad:
        with pytest.raises(sent_dm.AuthenticationError) as info:
            bad.messages.retrieve_status(m.id)
    assert info.value.status_code == 401 and "AUTH_002" in str(info.value.body)
    with pytest.raises(sent_dm.PermissionDeniedError):
        client.messages.retrieve_status(m.id, x_profile_id=MISSING)
    sim.set_rate_limit(Provider.SENTDM, per_minute=6, burst=1)
    client.messages.retrieve_status(m.id)
    with pytest.raises(sent_dm.RateLimitError) as limited:
        client.messages.retrieve_status(m.id)
    assert limited.value.response.headers["retry-after"] and "BUSINESS_002" in str(
        limited.value.body
    )


def test_problem_json_429_is_a_rate_limit_error(world) -> None:
    sim = Simulator(
        world, SimConfig(sentdm_per_minute=6, sentdm_burst=1, sentdm_429_style="problem")
    ).start()
    try:
        m = failed(world)
        with sent_dm.Sent(api_key=SENTDM_KEY, base_url=sim.base_url, max_retries=0) as c:
            c.messages.retrieve_status(m.id)
            with pytest.raises(sent_dm.RateLimitError):
                c.messages.retrieve_status(m.id)
    finally:
        sim.stop()


def test_send_through_the_sdk(client, world) -> None:
    res = client.messages.send(
        to=["+14155550123", "+14155550000"],
        channel=["sms", "whatsapp"],
        template={"name": "Order Shipped", "parameters": {"name": "Ada", "n": "42"}},
        idempotency_key="sdk-oracle-1",
    )
    data = res.data
    assert data.status == "QUEUED" and data.template_name == "Order Shipped"
    assert len(data.recipients) == 4 and {r.channel for r in data.recipients} == {"sms", "whatsapp"}
    assert data.recipients[0].body == "Hi Ada, your order #42 has shipped and arrives Thursday."
    blocked = next(r for r in data.recipients if r.to.endswith("0000"))
    world.advance(5)
    status = client.messages.retrieve_status(blocked.message_id).data
    assert status.status == "BLOCKED" and status.reason_code == "BUSINESS_003"
    again = client.messages.send(
        to=["+14155550123", "+14155550000"],
        channel=["sms", "whatsapp"],
        template={"name": "Order Shipped", "parameters": {"name": "Ada", "n": "42"}},
        idempotency_key="sdk-oracle-1",
    )
    assert [r.message_id for r in again.data.recipients] == [r.message_id for r in data.recipients]
    with pytest.raises(sent_dm.BadRequestError) as invalid:
        client.messages.send(to=["not-a-number"], text="hi")
    error = ErrorDetail.model_validate(invalid.value.body["error"])
    assert error.code == "VALIDATION_001" and error.details["to"] and not error.model_extra


def test_resend_and_cancel_answer_the_message_shape_the_sdk_reads(client, world) -> None:
    """SDK 0.46 has no resend/cancel methods; both answer GET's message shape: parse it so."""
    from sent_dm.types.message_retrieve_status_response import MessageRetrieveStatusResponse

    m = failed(world)
    world.plan_resend(m.id, "DELIVERED")
    resent = client.post(f"/v3/messages/{m.id}/resend", cast_to=MessageRetrieveStatusResponse)
    assert resent.data.id == m.id and resent.data.status == "QUEUED"
    assert not resent.data.model_extra and resent.data.events[-1].status == "QUEUED"
    sent = client.messages.send(
        to=["+14155550123"],
        text="later",
        scheduled_at=datetime.fromtimestamp(world.wall(600.0), UTC),
    )
    mid = sent.data.recipients[0].message_id
    cancelled = client.post(f"/v3/messages/{mid}/cancel", cast_to=MessageRetrieveStatusResponse)
    assert cancelled.data.status == "CANCELLED" and cancelled.data.scheduled_at  # a str in the SDK
    assert datetime.fromisoformat(cancelled.data.scheduled_at).timestamp() == world.wall(600.0)
    # scheduled_at is documented on held messages (the cancel reference) but not in 0.46's model
    assert set(cancelled.data.model_extra or {}) <= {"scheduled_at"}
    with pytest.raises(sent_dm.ConflictError) as refused:
        client.post(f"/v3/messages/{m.id}/cancel", cast_to=MessageRetrieveStatusResponse)
    assert "BUSINESS_006" in str(refused.value.body)


def test_webhook_management_through_the_sdk(client, world, sim) -> None:
    """Every webhook method of SDK 0.46 against the simulator; nothing it does not expect."""
    from sent_dm.types.message_event import MessageEvent

    made = client.webhooks.create(
        display_name="oracle", endpoint_url="http://127.0.0.1:9/hook", event_types=["message"]
    ).data
    assert made.signing_secret.startswith("whsec_") and made.is_active is True
    assert isinstance(made.created_at, datetime) and not made.model_extra
    client.webhooks.create(display_name="second", endpoint_url="http://127.0.0.1:9/b")
    listed = [w.id for w in client.webhooks.list(page_size=1)]  # the SDK pages on has_more
    assert listed[0] == made.id and len(listed) == 2
    got = client.webhooks.retrieve(made.id).data
    assert got.signing_secret is None and got.display_name == "oracle"
    updated = client.webhooks.update(made.id, display_name="renamed", retry_count=1).data
    assert updated.display_name == "renamed" and updated.retry_count == 1
    rotated = client.webhooks.rotate_secret(made.id).data.signing_secret
    assert rotated.startswith("whsec_") and rotated != made.signing_secret
    tested = client.webhooks.test(made.id, event_type="message.sent").data
    assert tested.success is False and tested.message  # nothing listens on port 9
    (row,) = list(client.webhooks.list_events(made.id))
    assert row.delivery_status == "failed" and row.http_status_code is None
    assert row.delivery_attempts == 1 and row.event_type == "message.sent"
    assert isinstance(row.event_data, MessageEvent) and not row.event_data.payload.model_extra
    assert isinstance(row.created_at, datetime) and not row.model_extra
    off = client.webhooks.toggle_status(made.id, is_active=False).data
    assert off.is_active is False and off.signing_secret is None
    types = client.webhooks.list_event_types().data.event_types
    assert any(t.name == "message" and t.sub_types for t in types)
    assert client.webhooks.delete(made.id) is None
    with pytest.raises(sent_dm.NotFoundError):
        client.webhooks.retrieve(made.id)
    with pytest.raises(sent_dm.BadRequestError):
        client.webhooks.create(display_name="x", endpoint_url="ftp://nope")


@pytest.mark.parametrize("kind", ["organization", "profile", "user"])
def test_me_through_the_sdk(sim, kind) -> None:
    from tui.simulator import ALLOWED_PROFILE, SENTDM_PROFILE_KEY, SENTDM_USER_KEY

    key = {"organization": SENTDM_KEY, "profile": SENTDM_PROFILE_KEY, "user": SENTDM_USER_KEY}[kind]
    with sent_dm.Sent(api_key=key, base_url=sim.base_url, max_retries=0) as c:
        data = c.me.retrieve().data
        assert data.type == kind and not data.model_extra
        assert not data.channels.model_extra and not data.channels.sms.model_extra
        assert isinstance(data.created_at, datetime)
        if kind == "organization":
            assert len(data.profiles) >= 2 and not data.profiles[0].model_extra
            assert not data.profiles[0].settings.model_extra
            acting = c.me.retrieve(x_profile_id=ALLOWED_PROFILE).data
            assert acting.type == "profile" and acting.id == ALLOWED_PROFILE
        elif kind == "profile":
            assert data.organization_id and data.profiles == [] and data.settings.billing_model
        else:
            assert data.profiles == [] and data.organization_id is None
            with pytest.raises(sent_dm.PermissionDeniedError):
                c.me.retrieve(x_profile_id=ALLOWED_PROFILE)
