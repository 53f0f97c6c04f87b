"""Authentic but hostile events over real HTTP (issue #15): an overflowing timestamp is a clear 400,
never a 500; a NUL in the text is taken (2xx) on both backends."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.test_webhooks import (
    SECRET,
    SENDO,
    SENTDM,
    TOKEN,
    new_id,
    sendo_body,
    sentdm_body,
    signed_headers,
)
from tui.model import Provider, Status
from tui.store import SQLiteStore, Store
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.server import WebhookReceiver


async def _post(receiver: WebhookReceiver, provider: Provider, body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=receiver.base_url, timeout=30.0) as client:
        if provider is Provider.SENTDM:
            return await client.post(SENTDM, content=body, headers=signed_headers(body))
        return await client.post(SENDO, content=body, headers={"X-Webhook-Token": TOKEN})


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00"])
async def test_an_overflowing_timestamp_is_a_clear_400_not_a_500(tmp_path: Path, when: str) -> None:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    receiver = WebhookReceiver(store, WebhookCredentials.from_values(SECRET, TOKEN), port=0)
    try:
        async with receiver:
            mid = new_id()
            answer = await _post(receiver, Provider.SENTDM, sentdm_body(mid, updated_at=when))
            assert answer.status_code == 400
            assert answer.json() == {"ok": False, "error": "`payload.updated_at` is out of range"}
            other = new_id()
            sendo = await _post(receiver, Provider.SENDO, sendo_body(other, sentAt=when))
            assert sendo.status_code == 400 and "message.sentAt" in sendo.json()["error"]
            assert store.get(mid) is None and store.get(other) is None
            assert receiver.stats[Provider.SENTDM].rejected == 1
            assert receiver.stats[Provider.SENTDM].failed == 0  # no 500
    finally:
        store.close()


async def test_a_nul_in_the_text_is_taken_on_both_backends(
    open_store: Callable[[], Store], backend: str
) -> None:
    # PostgreSQL text cannot hold NUL: the store replaces it (U+FFFD) at write time.
    store = open_store()
    receiver = WebhookReceiver(store, WebhookCredentials.from_values(SECRET, TOKEN), port=0)
    async with receiver:
        mid = new_id()
        body = sentdm_body(mid, "FAILED", body="code\x001234", reason="bad\x00number")
        assert b"\\u0000" in body  # JSON carries it escaped; the parser turns it into a NUL
        answer = await _post(receiver, Provider.SENTDM, body)
        assert answer.status_code == 200, answer.text
        other = new_id()
        answer = await _post(receiver, Provider.SENDO, sendo_body(other, body="hi\x00there"))
        assert answer.status_code == 200, answer.text
    stored = store.get(mid)
    assert stored is not None and stored.message.status is Status.FAILED
    assert stored.message.body is not None and stored.message.body.startswith("code")
    assert store.get(other) is not None
    assert json.loads(answer.text)["result"] == "applied"


async def test_the_receiver_takes_every_configured_sendo_token(tmp_path: Path) -> None:
    """One token per registered Sendo campaign webhook: a delivery carrying any of them is taken,
    any other token is refused (the receiver used to check the first token only)."""
    store = SQLiteStore(tmp_path / "history.sqlite3")
    credentials = WebhookCredentials.from_values(SECRET, TOKEN, "second-campaign-token")
    receiver = WebhookReceiver(store, credentials, port=0)
    try:
        async with receiver, httpx.AsyncClient(base_url=receiver.base_url, timeout=30.0) as client:
            for token, expected in (("second-campaign-token", 200), (TOKEN, 200), ("nope", 401)):
                body = sendo_body(new_id())
                answer = await client.post(SENDO, content=body, headers={"X-Webhook-Token": token})
                assert answer.status_code == expected, (token, answer.text)
    finally:
        store.close()
