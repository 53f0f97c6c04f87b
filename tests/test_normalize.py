"""Normalization, using the seed documents' example payloads verbatim."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tui.model import EventSource, Provider, Status, normalize_status
from tui.providers import sendo, sentdm
from tui.serialize import message_from_dict, message_to_dict
from tui.textsafe import safe_text
from tui.timeparse import parse_time

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


def test_sentdm_seed_example_normalizes() -> None:
    envelope = load("sentdm_message.json")
    msg = sentdm.parse_message(envelope["data"], envelope)
    assert msg.id == "8ba7b830-9dad-11d1-80b4-00c04fd430c8"
    assert msg.provider is Provider.SENTDM
    assert msg.status is Status.DELIVERED and msg.provider_status == "delivered"
    assert msg.to == "+14155551234"
    assert msg.body == "Welcome to our service, John! We're excited to have you."
    assert msg.template_name == "Welcome Message" and msg.template_category == "UTILITY"
    assert msg.channel == "sms" and msg.price == 0.0055 and msg.active_contact_price == 0.015
    assert [e.status for e in msg.events] == [Status.QUEUED, Status.SENT, Status.DELIVERED]
    # 7 fractional digits are parsed (truncated to microseconds), with the offset kept
    assert msg.events[0].timestamp == datetime(2026, 3, 11, 19, 50, 50, 175507, tzinfo=UTC)
    assert msg.sent_at == msg.events[1].timestamp
    assert msg.created_at.tzinfo is not None
    assert msg.raw == envelope and msg.error is None


def test_sendo_seed_example_normalizes() -> None:
    payload = load("sendo_message.json")
    msg = sendo.parse_message(payload)
    assert msg.id == "f7d258bd-f697-4840-b8a6-165707e12345"
    assert msg.provider is Provider.SENDO
    assert msg.status is Status.DELIVERED and msg.provider_status == "DELIVERED"
    assert (msg.to, msg.from_, msg.body) == ("+12061234567", "+14159436397", "Hello world")
    assert msg.channel == "sms" and msg.segments == 1 and msg.campaign == "U7fQ3123"
    assert msg.metadata == {"customId": "123456789"}
    assert msg.updated_at == datetime(2023, 9, 19, 4, 55, 55, 884000, tzinfo=UTC)
    # no event list at Sendo: a timeline from its timestamps
    assert [e.status for e in msg.events] == [Status.CREATED, Status.SENT, Status.DELIVERED]
    assert all(e.source is EventSource.PROVIDER for e in msg.events)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("delivered", Status.DELIVERED),
        ("DELIVERED", Status.DELIVERED),
        ("Queued", Status.QUEUED),
        ("PROCESSED", Status.QUEUED),
        ("opened", Status.READ),
        ("read", Status.READ),
        ("failed-after-too-many-attempts", Status.FAILED),
        ("FAILED_AFTER_TOO_MANY_ATTEMPTS", Status.FAILED),
        ("scheduled", Status.SCHEDULED),
        ("created", Status.CREATED),
        ("sent", Status.SENT),
        ("teleported", Status.UNKNOWN),
        ("", Status.UNKNOWN),
        (None, Status.UNKNOWN),
        (42, Status.UNKNOWN),
    ],
)
def test_status_mapping(raw, expected) -> None:
    assert normalize_status(raw) is expected


def test_unknown_status_keeps_raw_value() -> None:
    payload = load("sendo_message.json")
    payload["message"]["status"] = "WARP-SPEED"
    msg = sendo.parse_message(payload)
    assert msg.status is Status.UNKNOWN and msg.provider_status == "WARP-SPEED"


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-11T19:50:50.1755079+00:00",
        "2023-09-19T04:55:50.723Z",
        "2026-03-11T19:50:50+0000",
        "2026-03-11 19:50:50",
    ],
)
def test_timestamps_parse_to_aware_utc(text: str) -> None:
    value = parse_time(text)
    assert value is not None and value.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "text", ["yesterday", "", "2026-13-45T99:99:99Z", None, [], "9" * 500, True]
)
def test_bad_timestamps_become_none(text) -> None:
    assert parse_time(text) is None


def test_hostile_shapes_never_crash() -> None:
    envelope = load("sentdm_message.json")
    data = envelope["data"]
    data.update(
        price="free",
        events=[None, 3, {"status": "sent"}, {"status": "sent", "timestamp": "x"}],
        message_body="not an object",
        phone=["+1"],
    )
    msg = sentdm.parse_message(data)
    assert msg.price is None and msg.events == () and msg.body is None and msg.to is None
    for bad in ([], "x", {"id": "a"}, {"status": "sent"}):
        with pytest.raises(ValueError):
            sentdm.parse_message(bad)
    for bad in ({}, {"message": []}, {"message": {"id": "x"}}, None):
        with pytest.raises(ValueError):
            sendo.parse_message(bad)


def test_json_roundtrip_keeps_everything() -> None:
    envelope = load("sentdm_message.json")
    msg = sentdm.parse_message(envelope["data"], envelope)
    fetched = datetime(2026, 3, 11, 22, 0, tzinfo=UTC)
    data = message_to_dict(msg, fetched, raw=True)
    for key in (
        "id",
        "provider",
        "status",
        "provider_status",
        "to",
        "from",
        "body",
        "channel",
        "created_at",
        "updated_at",
        "events",
        "error",
        "fetched_at",
    ):
        assert key in data
    assert message_from_dict(json.loads(json.dumps(data))) == msg


def test_safe_text_neutralizes_control_sequences() -> None:
    hostile = "a\x1b[2J\x1b]52;c;aGk=\x07b\x9b31m\u202eevil\r\nline"
    shown = safe_text(hostile)
    assert (
        "\x1b" not in shown
        and "\x07" not in shown
        and "\x9b" not in shown
        and "\u202e" not in shown
    )
    assert "\\x1b[2J" in shown and shown.endswith("\nline")
    assert "⏎" in safe_text("a\nb", single_line=True)
