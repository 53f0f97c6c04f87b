"""The webhook receiver over real HTTP: uvicorn on 127.0.0.1 in the test's loop, a real SQLite store.

Signatures are computed here with hmac/base64 directly, never with the code under test, so a bug
in the verifier cannot make its own tests pass.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tui.model import Message, Provider, Status
from tui.store import SQLiteStore, Store
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.server import WebhookReceiver
from tui.webhooks.stats import WebhookStats

KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
TOKEN = "sendo-token-5f1c0e7a9b3d4e21"
ENDPOINT_ID = "ep_2b7c"
SENTDM = "/webhooks/sentdm"
SENDO = "/webhooks/sendo"


def new_id() -> str:
    return str(uuid.uuid4())


def signed_headers(
    body: bytes,
    *,
    key: bytes = KEY,
    ts: float | None = None,
    event_id: str | None = None,
    extra_signatures: tuple[str, ...] = (),
) -> dict[str, str]:
    """Svix-style headers computed independently of tui.webhooks.signature."""
    stamp = str(int(time.time() if ts is None else ts))
    mac = hmac.new(key, f"{ENDPOINT_ID}.{stamp}.".encode() + body, hashlib.sha256).digest()
    signature = " ".join([*extra_signatures, "v1," + base64.b64encode(mac).decode()])
    headers = {
        "X-Webhook-ID": ENDPOINT_ID,
        "X-Webhook-Timestamp": stamp,
        "X-Webhook-Signature": signature,
        "Content-Type": "application/json",
    }
    headers["X-Webhook-Event-ID"] = event_id or "evt_" + uuid.uuid4().hex
    return headers


def sentdm_body(
    message_id: str,
    status: str = "DELIVERED",
    *,
    field: str = "message",
    legacy: bool = False,
    **payload: Any,
) -> bytes:
    envelope: dict[str, Any] = {
        "field": field,
        ("sub_type" if legacy else "event"): f"{field}.{status.lower()}",
        "payload": {
            "message_id": message_id,
            "message_status": status,
            "channel": "sms",
            **payload,
        },
        "request_id": "req_1",
        "timestamp": "2026-01-15T10:35:00Z",
    }
    return json.dumps(envelope).encode()


def sendo_body(
    message_id: str, status: str = "DELIVERED", *, kind: str = "message.status", **fields: Any
) -> bytes:
    message = {
        "id": message_id,
        "type": "SMS",
        "createdAt": "2026-01-15T10:30:00.000Z",
        "sentAt": None,
        "updatedAt": "2026-01-15T10:34:00.000Z",
        "scheduledAt": None,
        "direction": "OUTBOUND",
        "from": "+15550001111",
        "to": "+15550002222",
        "body": "hello",
        "mediaUrls": None,
        "metadata": None,
        "numSegments": 1,
        "errorCode": None,
        "errorMessage": None,
        "campaignId": "cmp12345",
        "status": status,
        **fields,
    }
    return json.dumps(
        {
            "id": "wh_" + uuid.uuid4().hex,
            "type": kind,
            "timestamp": "2026-01-15T10:34:01.000Z",
            "message": message,
        }
    ).encode()


def events_of(path: Path, message_id: str) -> list[tuple[str, str, str | None, str | None]]:
    """(source, provider_status, reason_code, reason) straight from the file."""
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT source, provider_status, reason_code, reason FROM events WHERE message_id = ? "
            "ORDER BY ts, rowid",
            (message_id,),
        ).fetchall()


class Harness:
    def __init__(
        self, receiver: WebhookReceiver, store: Store, path: Path, client: httpx.AsyncClient
    ) -> None:
        self.receiver, self.store, self.path, self.client = receiver, store, path, client

    @property
    def stats(self) -> WebhookStats:
        return self.receiver.stats

    async def sentdm(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(
            SENTDM, content=body, headers=signed_headers(body) if headers is None else headers
        )

    async def sendo(self, body: bytes, token: str | None = TOKEN) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["X-Webhook-Token"] = token
        return await self.client.post(SENDO, content=body, headers=headers)


async def _harness(
    tmp_path: Path, secret: str | None = SECRET, token: str | None = TOKEN
) -> AsyncIterator[Harness]:
    path = tmp_path / "history.sqlite3"
    store = SQLiteStore(path)
    receiver = WebhookReceiver(store, WebhookCredentials.from_values(secret, token), port=0)
    await receiver.start()
    try:
        async with httpx.AsyncClient(base_url=receiver.base_url, timeout=5.0) as client:
            yield Harness(receiver, store, path, client)
    finally:
        await receiver.stop()
        store.close()


@pytest.fixture
async def hx(tmp_path: Path) -> AsyncIterator[Harness]:
    async for h in _harness(tmp_path):
        yield h


# -- Sent.dm signature ----------------------------------------------------------------------------


async def test_valid_signature_stores_an_unknown_message_due_for_a_poll(hx: Harness) -> None:
    mid = new_id()
    before = time.time()
    body = sentdm_body(
        mid,
        "FAILED",
        reason_code="DELIVERY_003",
        reason="Insufficient balance",
        updated_at="2026-01-15T10:34:59Z",
    )
    response = await hx.sentdm(body)
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "applied"
    stored = hx.store.get(mid)
    assert stored is not None
    assert stored.message.provider is Provider.SENTDM
    assert stored.message.status is Status.FAILED and stored.message.provider_status == "FAILED"
    assert stored.message.error is not None and stored.message.error.code == "DELIVERY_003"
    assert (
        stored.next_poll is not None and before <= stored.next_poll <= time.time()
    )  # the poller fills details in
    assert ("webhook", "failed", "DELIVERY_003", "Insufficient balance") in events_of(hx.path, mid)
    webhook_event = next(e for e in stored.message.events if e.source.value == "webhook")
    assert webhook_event.timestamp.isoformat().startswith(
        "2026-01-15T10:34:59"
    )  # when it reached the status
    assert hx.stats[Provider.SENTDM].applied == 1 and hx.stats[Provider.SENTDM].received == 1


async def test_any_of_several_signatures_may_match(hx: Harness) -> None:
    mid = new_id()
    body = sentdm_body(mid)
    response = await hx.sentdm(
        body, signed_headers(body, extra_signatures=("v1,AAAAAAAAAAAAAAAA", "v2,zzz"))
    )
    assert response.status_code == 200
    assert hx.store.get(mid) is not None


async def test_legacy_sub_type_is_accepted(hx: Harness) -> None:
    mid = new_id()
    assert (await hx.sentdm(sentdm_body(mid, "SENT", legacy=True))).status_code == 200
    assert hx.store.get(mid).message.status is Status.SENT


@pytest.mark.parametrize(
    "case",
    [
        "wrong_secret",
        "tampered",
        "stale",
        "future",
        "no_id",
        "no_timestamp",
        "no_signature",
        "not_v1",
        "garbage_timestamp",
    ],
)
async def test_unauthentic_sentdm_requests_are_refused(
    hx: Harness, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mid = new_id()
    body = sentdm_body(mid)
    headers = signed_headers(body)
    if case == "wrong_secret":
        headers = signed_headers(body, key=b"another key of 32 bytes........")
    elif case == "tampered":
        body = body.replace(b"DELIVERED", b"FAILED\x20\x20\x20")
    elif case == "stale":
        headers = signed_headers(body, ts=time.time() - 301)
    elif case == "future":
        headers = signed_headers(body, ts=time.time() + 301)
    elif case == "no_id":
        del headers["X-Webhook-ID"]
    elif case == "no_timestamp":
        del headers["X-Webhook-Timestamp"]
    elif case == "no_signature":
        del headers["X-Webhook-Signature"]
    elif case == "not_v1":
        headers["X-Webhook-Signature"] = headers["X-Webhook-Signature"].replace("v1,", "v2,")
    elif case == "garbage_timestamp":
        headers["X-Webhook-Timestamp"] = "1e9"
    response = await hx.sentdm(body, headers)
    assert response.status_code == 401
    assert hx.store.get(mid) is None
    assert hx.stats[Provider.SENTDM].rejected == 1 and hx.stats[Provider.SENTDM].received == 0
    text = response.text + caplog.text
    assert SECRET not in text and base64.b64encode(KEY).decode() not in text and mid not in text


async def test_timestamps_inside_the_window_are_accepted(hx: Harness) -> None:
    for offset in (-290, 290):
        body = sentdm_body(new_id())
        assert (
            await hx.sentdm(body, signed_headers(body, ts=time.time() + offset))
        ).status_code == 200


async def test_a_replayed_event_is_acknowledged_but_not_applied_twice(hx: Harness) -> None:
    mid = new_id()
    body = sentdm_body(mid, "SENT")
    headers = signed_headers(body, event_id="evt_same")
    first = await hx.sentdm(body, headers)
    polled = hx.store.get(mid).last_polled
    await asyncio.sleep(0.02)
    again = await hx.sentdm(body, headers)
    assert first.status_code == again.status_code == 200
    assert again.json()["result"] == "duplicate"
    assert hx.store.get(mid).last_polled == polled  # the second delivery did not touch the store
    stats = hx.stats[Provider.SENTDM]
    assert (stats.received, stats.applied, stats.duplicates) == (2, 1, 1)


# -- Sendo token ----------------------------------------------------------------------------------


async def test_sendo_status_with_the_right_token_is_applied(hx: Harness) -> None:
    mid = new_id()
    response = await hx.sendo(
        sendo_body(mid, "FAILED", errorCode=1009, errorMessage="unreachable handset")
    )
    assert response.status_code == 200, response.text
    message = hx.store.get(mid).message
    assert message.provider is Provider.SENDO and message.status is Status.FAILED
    assert message.to == "+15550002222" and message.error.code == "1009"
    assert ("webhook", "failed", "1009", "unreachable handset") in events_of(hx.path, mid)


@pytest.mark.parametrize("token", ["wrong-token", None, TOKEN + "x", ""])
async def test_sendo_wrong_or_missing_token_is_refused(hx: Harness, token: str | None) -> None:
    mid = new_id()
    response = await hx.sendo(sendo_body(mid), token=token)
    assert response.status_code == 401
    assert TOKEN not in response.text
    assert hx.store.get(mid) is None


async def test_sendo_envelope_id_deduplicates(hx: Harness) -> None:
    body = sendo_body(new_id(), "SENT")
    assert (await hx.sendo(body)).json()["result"] == "applied"
    assert (await hx.sendo(body)).json()["result"] == "duplicate"


# -- bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'"text"',
        b"\xff\xfe",
        b"",
        json.dumps({"field": "message", "event": "message.sent", "payload": []}).encode(),
        json.dumps({"field": "message", "payload": {"message_id": str(uuid.uuid4())}}).encode(),
        json.dumps({"field": "message", "payload": {"message_status": "SENT"}}).encode(),
        json.dumps(
            {"field": "message", "payload": {"message_status": "SENT", "message_id": "../../etc"}}
        ).encode(),
    ],
)
async def test_signed_bodies_that_are_not_the_documented_json_get_400(
    hx: Harness, body: bytes
) -> None:
    response = await hx.sentdm(body)
    assert response.status_code == 400
    assert hx.stats[Provider.SENTDM].rejected == 1


@pytest.mark.parametrize(
    "body",
    [
        b"nope",
        b"[]",
        json.dumps({"id": "x", "type": "message.status"}).encode(),
        json.dumps(
            {"id": "x", "type": "message.status", "message": {"id": str(uuid.uuid4())}}
        ).encode(),
    ],
)
async def test_sendo_bodies_that_are_not_the_documented_json_get_400(
    hx: Harness, body: bytes
) -> None:
    assert (await hx.sendo(body)).status_code == 400


async def test_oversized_bodies_get_413(hx: Harness) -> None:
    big = b'{"pad": "' + b"x" * (1 << 20) + b'"}'
    declared = await hx.sentdm(big)  # httpx sends Content-Length
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streamed
        for _ in range(40):
            yield b"x" * 65536

    streamed = await hx.client.post(SENDO, content=chunks(), headers={"X-Webhook-Token": TOKEN})
    assert streamed.status_code == 413
    assert (await hx.client.get("/healthz")).status_code == 200  # still serving


async def test_unknown_families_and_types_are_acknowledged_without_acting(hx: Harness) -> None:
    mid = new_id()
    for field in ("templates", "contact", "brand_and_campaign"):
        response = await hx.sentdm(sentdm_body(mid, "APPROVED", field=field))
        assert response.status_code == 200 and response.json()["result"] == "ignored"
    for kind in ("message.incoming", "recipient.optout", "something.new"):
        response = await hx.sendo(sendo_body(mid, kind=kind))
        assert response.status_code == 200 and response.json()["result"] == "ignored"
    assert hx.store.get(mid) is None and hx.store.count() == 0
    assert hx.stats[Provider.SENTDM].ignored == 3 and hx.stats[Provider.SENDO].ignored == 3


# -- applying -------------------------------------------------------------------------------------


async def test_out_of_order_events_never_move_a_status_backwards(hx: Harness) -> None:
    mid = new_id()
    assert (
        await hx.sentdm(sentdm_body(mid, "DELIVERED", updated_at="2026-01-15T10:35:00Z"))
    ).status_code == 200
    late = await hx.sentdm(sentdm_body(mid, "SENT", updated_at="2026-01-15T10:34:00Z"))
    assert late.status_code == 200
    stored = hx.store.get(mid)
    assert stored.message.status is Status.DELIVERED
    assert [e[1] for e in events_of(hx.path, mid) if e[0] == "webhook"] == [
        "sent",
        "delivered",
    ]  # timeline has both


async def test_a_push_for_a_known_message_keeps_what_the_push_does_not_carry(hx: Harness) -> None:
    mid = new_id()
    full = Message(
        id=mid,
        provider=Provider.SENTDM,
        status=Status.SENT,
        provider_status="SENT",
        to="+15550003333",
        body="Your code is 1234",
        channel="sms",
        raw={"data": {"id": mid}},
    )
    hx.store.record_fetch(full, next_poll=time.time() + 600, fetched_at=time.time() - 60)
    response = await hx.sentdm(sentdm_body(mid, "DELIVERED"))
    assert response.status_code == 200
    stored = hx.store.get(mid)
    assert stored.message.status is Status.DELIVERED
    assert stored.message.to == "+15550003333" and stored.message.body == "Your code is 1234"
    assert stored.message.raw == {"data": {"id": mid}}  # the REST payload stays the raw view
    assert stored.next_poll is None  # a delivered SMS is final: no more polling for it


async def test_applied_events_are_reported_to_the_listener(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.sqlite3")
    seen: list[Any] = []
    receiver = WebhookReceiver(
        store, WebhookCredentials.from_values(SECRET, None), port=0, on_applied=seen.append
    )
    async with receiver:
        async with httpx.AsyncClient(base_url=receiver.base_url) as client:
            mid = new_id()
            body = sentdm_body(mid)
            assert (
                await client.post(SENTDM, content=body, headers=signed_headers(body))
            ).status_code == 200
    store.close()
    assert [(a.message_id, a.new, a.status) for a in seen] == [(mid, True, Status.DELIVERED)]


async def test_a_store_that_cannot_write_gets_503_and_the_retry_is_not_a_duplicate(
    hx: Harness,
) -> None:
    hx.store.close()
    body = sentdm_body(new_id())
    headers = signed_headers(body, event_id="evt_retry")
    first = await hx.sentdm(body, headers)
    assert first.status_code == 503 and "Retry-After" in first.headers
    assert "Traceback" not in first.text and "sqlite" not in first.text.lower()
    again = await hx.sentdm(body, headers)
    assert (
        again.status_code == 503
    )  # not remembered as applied: the provider's retry is applied later
    assert hx.stats[Provider.SENTDM].failed == 2


# -- routes ---------------------------------------------------------------------------------------


async def test_healthz_methods_and_paths(hx: Harness) -> None:
    health = await hx.client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"ok": True}
    assert (await hx.client.get(SENTDM)).status_code == 405
    assert (await hx.client.put(SENDO, content=b"{}")).status_code == 405
    assert (await hx.client.post("/webhooks/other", content=b"{}")).status_code == 404
    assert (await hx.client.post("/", content=b"{}")).status_code == 404
    assert "server" not in health.headers


async def test_an_endpoint_without_a_credential_is_not_served(tmp_path: Path) -> None:
    async for h in _harness(tmp_path, secret=None, token=TOKEN):
        body = sentdm_body(new_id())
        assert (await h.sentdm(body)).status_code == 404
        assert (await h.sendo(sendo_body(new_id()))).status_code == 200
        assert [p for p, _ in h.receiver.endpoints()] == [Provider.SENDO]


def test_a_malformed_secret_is_reported_without_showing_it() -> None:
    creds = WebhookCredentials.from_values("whsec_not*base64!", "tok")
    assert creds.served() == [Provider.SENDO]
    assert creds.problems and "not*base64" not in " ".join(creds.problems)
    assert "not*base64" not in repr(creds) and "b'tok'" not in repr(creds)


def test_stats_summary_for_the_status_line() -> None:
    stats = WebhookStats()
    assert stats.summary(now=100.0) == "webhooks: 0 events"
    stats[Provider.SENTDM].received = 10
    stats[Provider.SENDO].received = 2
    stats[Provider.SENDO].last_event_at = 97.0
    assert stats.summary(now=100.0) == "webhooks: 12 events, last 3s ago"
