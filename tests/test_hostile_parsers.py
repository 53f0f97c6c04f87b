"""The parsers keep their promise — "never an exception" beyond the one they document — whatever
a provider sends: property-based tests throw arbitrary JSON, bytes, statuses and headers at each
provider's answer mapping, the send answers, timestamps, rate-limit headers and the decoder."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.coerce import as_dict, as_float, as_int, as_list, as_str
from tui.config import load
from tui.errors import SendwatchError
from tui.model import Message, Provider
from tui.providers import sendo, sentdm
from tui.providers.base import retry_after_seconds
from tui.providers.budget import RequestBudget
from tui.providers.lookup import Providers
from tui.providers.sending import sentdm_recipients
from tui.providers.transfer import Answer, BodyRefused, _Decoder
from tui.timeparse import parse_time

ASKED = "8ba7b830-9dad-11d1-80b4-00c04fd430c8"
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            ASKED,
            ASKED.upper(),
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "2026-01-01T00:00:00.1755079+00:00",
            "DELIVERED",
            "FAILED",
            "blocked",
            "\x00",
            "\u202e",
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)


def fields(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with some of the documented field names, each holding anything at all."""
    return st.dictionaries(st.sampled_from(names), json_values, max_size=len(names))


SENTDM_FIELDS = [
    "id", "status", "events", "message_body", "phone", "from", "channel", "template_id",
    "created_at", "updated_at", "scheduled_at", "price", "reason_code", "reason", "customer_id",
]  # fmt: skip
EVENT_FIELDS = ["status", "timestamp", "description", "reason_code", "reason"]
SENDO_FIELDS = [
    "id", "status", "to", "from", "body", "type", "campaignId", "createdAt", "sentAt",
    "updatedAt", "scheduledAt", "numSegments", "mediaUrls", "metadata", "errorCode", "errorMessage",
]  # fmt: skip

sentdm_data = fields(SENTDM_FIELDS).flatmap(
    lambda d: st.builds(
        lambda events, body: {**d, "events": events, "message_body": body},
        st.lists(fields(EVENT_FIELDS), max_size=3) | json_values,
        fields(["content", "header", "footer", "buttons", "media", "headerMedia"]) | json_values,
    )
)
sentdm_payloads = (
    st.builds(
        lambda data, success, error: {"success": success, "data": data, "error": error},
        sentdm_data | json_values,
        json_values,
        fields(["code", "message"]) | json_values,
    )
    | json_values
)
sendo_payloads = st.builds(lambda m: {"message": m}, fields(SENDO_FIELDS)) | json_values
statuses = st.sampled_from([200, 201, 202, 400, 401, 403, 404, 409, 422, 429, 500]) | st.integers(
    100, 599
)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=30)
headers = st.dictionaries(
    st.sampled_from(
        [
            "retry-after",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "content-type",
            "content-encoding",
        ]
    ),
    header_values | st.sampled_from(["nan", "inf", "-1", "1e400", "0", "1e13", "gzip"]),
)


@pytest.fixture(scope="module")
def clients():
    env = {"SENT_DM_API_KEY": "prop-sentdm-key-0000", "SENDO_API_KEY": "prop-sendo-key-0000"}
    providers = Providers(load(Path("/nonexistent/config.toml"), env=env))
    return providers.clients


def wire(head: dict[str, str]) -> httpx.Headers:
    """Headers as they come off the wire: any byte but CR, LF and NUL (read as latin-1)."""
    return httpx.Headers({name: value.encode("latin-1") for name, value in head.items()})


def answer(status: int, head: dict[str, str], body: bytes) -> Answer:
    return Answer(status, wire(head), body)


def read_or_refuse(client, response: Answer) -> Message | None:
    """The one promise: a Message about the asked ID, or a SendwatchError."""
    try:
        message = client.read_message(response, ASKED)
    except SendwatchError:
        return None
    assert isinstance(message, Message) and message.id == ASKED
    return message


@PROPERTY
@given(status=statuses, head=headers, payload=sentdm_payloads)
def test_sentdm_answers_map_or_raise_only_sendwatch_errors(clients, status, head, payload) -> None:
    body = json.dumps(payload).encode()
    read_or_refuse(clients[Provider.SENTDM], answer(status, head, body))
    try:
        clients[Provider.SENTDM].read_activities(answer(status, head, body), ASKED)
    except SendwatchError:
        pass


@PROPERTY
@given(status=statuses, head=headers, payload=sendo_payloads)
def test_sendo_answers_map_or_raise_only_sendwatch_errors(clients, status, head, payload) -> None:
    read_or_refuse(clients[Provider.SENDO], answer(status, head, json.dumps(payload).encode()))


@PROPERTY
@given(status=statuses, head=headers, body=st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_anything_else(clients, status, head, body) -> None:
    for provider in Provider:
        read_or_refuse(clients[provider], answer(status, head, body))


@PROPERTY
@given(data=sentdm_data)
def test_a_documented_shape_with_the_asked_id_is_read(clients, data) -> None:
    """When `id` and `status` are strings the answer is a message, whatever else is in it."""
    data = {**data, "id": ASKED, "status": "DELIVERED"}
    body = json.dumps({"success": True, "data": data, "error": None}).encode()
    message = read_or_refuse(clients[Provider.SENTDM], answer(200, {}, body))
    assert message is not None and message.status.value == "delivered"


@PROPERTY
@given(payload=json_values | sentdm_payloads)
def test_the_model_parsers_raise_only_value_error(payload) -> None:
    for parse in (
        lambda p: sentdm.parse_message(as_dict(p).get("data", p), p),
        sendo.parse_message,
        sentdm_recipients,
    ):
        try:
            parse(payload)
        except ValueError:
            pass
    sentdm.parse_events(payload)


@PROPERTY
@given(value=json_values)
def test_lenient_readers_never_raise(value) -> None:
    parsed = parse_time(value)
    assert parsed is None or parsed.tzinfo is not None
    number = as_float(value)
    assert number is None or math.isfinite(number)
    as_int(value), as_str(value), as_dict(value), as_list(value)


@PROPERTY
@given(head=headers)
def test_rate_limit_headers_never_raise_and_stay_bounded(head) -> None:
    wait = retry_after_seconds(wire(head))
    assert 0.0 <= wait <= 300.0
    budget = RequestBudget(200 / 60, 50, 8)
    budget.observe_headers(wire(head))
    assert 0 < budget.rate <= 200 / 60 and 0 <= budget.wait_time() <= 600


@PROPERTY
@given(
    encoding=st.sampled_from(["", "gzip", "deflate", "identity", "br", "gzip, gzip", "GZIP"])
    | header_values,
    chunks=st.lists(st.binary(max_size=200), max_size=4),
)
def test_the_decoder_refuses_only_with_body_refused(encoding, chunks) -> None:
    try:
        decoder = _Decoder(encoding, limit=1000)
        out = b"".join(decoder.feed(chunk) for chunk in chunks) + decoder.finish()
    except BodyRefused:
        return
    assert len(out) <= 1000


def test_a_gzip_bomb_is_refused_before_it_expands() -> None:
    import gzip

    bomb = gzip.compress(b"\0" * 50_000_000)  # 50 MB that compresses to ~50 KB
    decoder = _Decoder("gzip", limit=2_000_000)
    with pytest.raises(BodyRefused, match="larger than 2,000,000"):
        for start in range(0, len(bomb), 65536):
            decoder.feed(bomb[start : start + 65536])


def test_nan_and_infinity_in_an_answer_read_as_null() -> None:
    """Not JSON, but Python's reader takes them: they must not reach `get --json` output."""
    body = b'{"price": NaN, "x": [Infinity, -Infinity], "ok": 1}'
    assert answer(200, {}, body).json() == {"price": None, "x": [None, None], "ok": 1}
