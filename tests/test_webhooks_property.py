"""The webhook parsers keep their promise: whatever arrives, a `Push` or a `BadPayload`, and the
signature/header checks an `AuthFailure` - never another exception (which would be a 500, and ten
of those in a row disable a Sent.dm webhook). Hypothesis throws arbitrary bytes, arbitrary JSON,
documented shapes with hostile leaves (times at the edges of datetime, huge numbers, NUL, markup)
and arbitrary headers at them; whatever they accept is stored in a real SQLite history."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tui.polling.policy import PollPolicy
from tui.store import SQLiteStore
from tui.webhooks.apply import StoreUnavailable, apply_push
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.events import BadPayload, Push, parse_sendo, parse_sentdm
from tui.webhooks.signature import (
    AuthFailure,
    SignedHeaders,
    read_svix_headers,
    verify_svix,
)

NOW = 1_780_000_000.0
KEY = bytes(range(32))
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies ------------------------------------------------------------------------------------

leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from(["\x00", "[bold]x[/]", "\x1b[31mred", "", " ", "‮evil"])
)
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
offsets = st.sampled_from(["", "Z", "z", "+00:00", "+14:00", "-12:00", "+0530", "-23:59", "+23:59"])
fractions = st.sampled_from(["", ".1", ".123456", ".1755079", ".999999999"])
times = st.builds(
    lambda when, frac, tz: when.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0") + frac + tz,
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    fractions,
    offsets,
) | st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0000-00-00T00:00"])
good_ids = st.uuids().map(str) | st.uuids().map(lambda u: f" {str(u).upper()} ")
ids = good_ids | st.text(max_size=40)
good_statuses = st.sampled_from(["DELIVERED", "delivered", "FAILED", "READ", "WEIRD"]) | st.text(
    min_size=1
).filter(str.strip)
statuses = good_statuses | st.sampled_from([" ", ""]) | st.text()
values = json_values | times | ids | statuses


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(None), strategy)


def _sentdm(message_ids: Any, message_statuses: Any, field: Any) -> st.SearchStrategy[Any]:
    payload = st.fixed_dictionaries(
        {"message_id": message_ids, "message_status": message_statuses},
        optional={
            "updated_at": _maybe(times) | values,
            "scheduled_at": _maybe(times) | values,
            **{
                name: values
                for name in (
                    "reason_code",
                    "reason",
                    "body",
                    "channel",
                    "template_id",
                    "template_name",
                )
            },
        },
    )
    return st.fixed_dictionaries(
        {"field": field, "payload": payload},
        optional={
            "event": st.sampled_from(["message.delivered", "message.failed"]) | values,
            "sub_type": values,
            "timestamp": times | values,
            "request_id": values,
        },
    )


def _sendo(message_ids: Any, message_statuses: Any, kind: Any) -> st.SearchStrategy[Any]:
    message = st.fixed_dictionaries(
        {"id": message_ids, "status": message_statuses},
        optional={
            **{name: _maybe(times) | values for name in ("createdAt", "sentAt", "updatedAt")},
            "scheduledAt": _maybe(times) | values,
            **{
                name: values
                for name in (
                    "type",
                    "direction",
                    "from",
                    "to",
                    "body",
                    "errorCode",
                    "errorMessage",
                    "campaignId",
                    "numSegments",
                    "metadata",
                    "mediaUrls",
                )
            },
        },
    )
    return st.fixed_dictionaries(
        {"type": kind, "message": message},
        optional={"id": values, "timestamp": times | values},
    )


#: Documented shapes whose required fields are right (they reach the storing code) ...
sentdm_accepted = _sentdm(good_ids, good_statuses, st.just("message"))
sendo_accepted = _sendo(good_ids, good_statuses, st.just("message.status"))
#: ... and the same shapes with anything anywhere.
sentdm_envelopes = (
    sentdm_accepted
    | _sentdm(ids, statuses, st.sampled_from(["message", "templates"]) | values)
    | st.dictionaries(st.sampled_from(["field", "event", "payload", "timestamp"]), values)
)
sendo_envelopes = (
    sendo_accepted
    | _sendo(ids, statuses, st.sampled_from(["message.status", "message.incoming"]) | values)
    | st.dictionaries(st.sampled_from(["type", "id", "message", "timestamp"]), values)
)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def _parses(parse: Any, body: bytes) -> Push | None:
    try:
        push = parse(body)
    except BadPayload:
        return None
    assert isinstance(push, Push)
    return push


def sentdm(body: bytes) -> Push | None:
    return _parses(lambda b: parse_sentdm(b, "evt_1", NOW), body)


def sendo(body: bytes) -> Push | None:
    return _parses(lambda b: parse_sendo(b, NOW), body)


# -- the parsers -----------------------------------------------------------------------------------


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_a_push_or_a_bad_payload(body: bytes) -> None:
    sentdm(body)
    sendo(body)


@SETTINGS
@given(json_values)
def test_arbitrary_json_is_a_push_or_a_bad_payload(value: Any) -> None:
    sentdm(_dumps(value))
    sendo(_dumps(value))


def test_deep_nesting_is_a_bad_payload_not_a_recursion_error() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert sentdm(deep) is None and sendo(deep) is None
    nested = b'{"field": "message", "payload": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001
    assert sentdm(nested) is None


@SETTINGS
@given(sentdm_envelopes)
def test_sentdm_shapes_with_hostile_leaves(envelope: dict[str, Any]) -> None:
    push = sentdm(_dumps(envelope))
    if push is not None and push.message is not None:
        assert push.message.id == push.message.id.strip().lower()
        assert push.message.events and push.message.events[-1].source.value == "webhook"
        assert push.at.tzinfo is not None


@SETTINGS
@given(sendo_envelopes)
def test_sendo_shapes_with_hostile_leaves(envelope: dict[str, Any]) -> None:
    push = sendo(_dumps(envelope))
    if push is not None and push.message is not None:
        assert push.message.events[-1].source.value == "webhook"


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
)
def test_a_time_outside_datetime_is_a_clear_bad_payload(when: str) -> None:
    mid = "0b7d2a8e-1c4f-4e5a-9b3d-7f6e5d4c3b2a"
    body = {"field": "message", "payload": {"message_id": mid, "message_status": "SENT"}}
    body["payload"]["updated_at"] = when  # type: ignore[index]
    with pytest.raises(BadPayload, match=r"`payload.updated_at` is out of range"):
        parse_sentdm(_dumps(body), None, NOW)
    sendo_body = {
        "type": "message.status",
        "message": {"id": mid, "status": "SENT", "createdAt": when},
    }
    with pytest.raises(BadPayload, match=r"`message.createdAt` is out of range"):
        parse_sendo(_dumps(sendo_body), NOW)
    # an event we only acknowledge is never refused for its time
    ignored = parse_sentdm(_dumps({"field": "templates", "timestamp": when}), None, NOW)
    assert ignored.message is None


def test_a_nul_in_a_body_is_kept_by_the_parser() -> None:
    mid = "0b7d2a8e-1c4f-4e5a-9b3d-7f6e5d4c3b2a"
    body = {
        "field": "message",
        "payload": {
            "message_id": mid,
            "message_status": "FAILED",
            "body": "a\x00b",
            "reason": "r\x00",
        },
    }
    push = parse_sentdm(_dumps(body), None, NOW)
    assert push.message is not None
    assert push.message.body == "a\x00b" and push.message.error is not None
    assert push.message.error.message == "r\x00"


# -- whatever is accepted can be stored ------------------------------------------------------------

_STORE_DIR = tempfile.TemporaryDirectory(prefix="sendwatch-webhook-property-")
_STORE = SQLiteStore(Path(_STORE_DIR.name) / "history.sqlite3")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sentdm_accepted | sendo_accepted)
def test_every_accepted_push_is_stored_without_an_error(envelope: dict[str, Any]) -> None:
    body = _dumps(envelope)
    push = sentdm(body) if "field" in envelope else sendo(body)
    assume(push is not None)  # a time out of range is a (clear) 400
    assert push is not None and push.message is not None
    try:
        applied = apply_push(_STORE, PollPolicy(), push.message, NOW)
    except StoreUnavailable:  # the store refusing a write is a 503, also an answer
        return
    assert applied.message_id == push.message.id


# -- signature and token headers -------------------------------------------------------------------

header_values = (
    st.text(max_size=60)
    | st.from_regex(r"\A\s*\d{1,30}\s*\Z")
    | st.sampled_from(["", " ", "v1,", "v1,AAAA", "v1,a v1,b", "٣٣٣"])
)


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(
            ["x-webhook-id", "x-webhook-timestamp", "x-webhook-signature", "x-webhook-event-id"]
        ),
        header_values,
    ),
    st.floats(min_value=0, max_value=4e9),
    st.binary(max_size=200),
)
def test_svix_headers_and_signatures_fail_only_as_auth_failures(
    headers: dict[str, str], now: float, body: bytes
) -> None:
    try:
        signed = read_svix_headers(headers, now)
    except AuthFailure:
        return
    assert isinstance(signed, SignedHeaders)
    with pytest.raises(AuthFailure):  # random headers never carry a valid signature
        verify_svix(KEY, signed, body)


@SETTINGS
@given(st.text(max_size=12), st.text(max_size=12), st.binary(max_size=200))
def test_a_correct_signature_is_accepted_whatever_the_ids_and_body(
    webhook_id: str, event_id: str, body: bytes
) -> None:
    webhook_id = webhook_id.strip() or "ep"
    stamp = str(int(NOW))
    mac = hmac.new(KEY, f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "x-webhook-id": webhook_id,
        "x-webhook-timestamp": stamp,
        "x-webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "x-webhook-event-id": event_id,
    }
    verify_svix(KEY, read_svix_headers(headers, NOW), body)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["x-webhook-token", "other"]), st.text(max_size=40)))
def test_sendo_tokens_fail_only_as_auth_failures(headers: dict[str, str]) -> None:
    credentials = WebhookCredentials.from_values(None, "the-token")
    try:
        credentials.verify_sendo(headers)
    except AuthFailure:
        return
    assert headers["x-webhook-token"] == "the-token"
