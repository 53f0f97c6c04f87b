"""Issue #15: a webhook is applied once per history, whichever receiver gets it and whenever.

The store claims each push's keys inside its write (tui/webhooks/apply.py), so two `listen`
processes on one PostgreSQL database, a restarted receiver on a SQLite file, and a captured signed
request re-sent under another (unsigned) `X-Webhook-Event-ID` all find the event applied already.
Real receivers, real HTTP, signed as Sent.dm signs (tui/simulator/webhooks.py `sign`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.test_webhooks import SECRET, SENDO, SENTDM, TOKEN, new_id, sendo_body, sentdm_body
from tui.model import Provider
from tui.simulator.webhooks import sign
from tui.store import PostgresStore, SQLiteStore, Store
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.server import WebhookReceiver

CREDENTIALS = WebhookCredentials.from_values(SECRET, TOKEN)


def captured(body: bytes, event_id: str | None = None) -> dict[str, str]:
    """A signed Sent.dm request's headers, as a provider (or an attacker who captured it) sends them."""
    webhook_id, stamp = "msg_" + uuid.uuid4().hex, str(int(time.time()))
    return {
        "X-Webhook-ID": webhook_id,
        "X-Webhook-Timestamp": stamp,
        "X-Webhook-Signature": sign(SECRET, webhook_id, stamp, body),
        "X-Webhook-Event-ID": event_id or "evt_" + uuid.uuid4().hex,
        "Content-Type": "application/json",
    }


async def post(receiver: WebhookReceiver, path: str, body: bytes, headers: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=receiver.base_url, timeout=30) as client:
        response = await client.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text
    result: str = response.json()["result"]
    return result


def sendo_headers() -> dict[str, str]:
    return {"X-Webhook-Token": TOKEN, "Content-Type": "application/json"}


async def test_two_receivers_on_one_postgresql_database_apply_a_retry_once(
    pg_server: Any,
) -> None:
    url = pg_server.create_database()
    first_store, second_store = PostgresStore(url), PostgresStore(url)
    try:
        async with (
            WebhookReceiver(first_store, CREDENTIALS, port=0) as first,
            WebhookReceiver(second_store, CREDENTIALS, port=0) as second,
        ):
            body = sentdm_body(new_id(), "DELIVERED")
            headers = captured(body)
            assert await post(first, SENTDM, body, headers) == "applied"
            assert await post(second, SENTDM, body, headers) == "duplicate"  # the provider's retry
            replay = dict(headers, **{"X-Webhook-Event-ID": "evt_" + uuid.uuid4().hex})
            assert await post(second, SENTDM, body, replay) == "duplicate"
            pushed = sendo_body(new_id())
            assert await post(second, SENDO, pushed, sendo_headers()) == "applied"
            assert await post(first, SENDO, pushed, sendo_headers()) == "duplicate"
        assert first.stats[Provider.SENTDM].applied == 1
        assert second.stats[Provider.SENTDM].applied == 0
        assert second.stats[Provider.SENTDM].duplicates == 2
        assert first.stats[Provider.SENDO].duplicates == 1
    finally:
        first_store.close()
        second_store.close()


async def test_a_restarted_receiver_on_a_sqlite_file_knows_what_it_applied(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    body = sentdm_body(new_id(), "DELIVERED")
    headers = captured(body)
    pushed = sendo_body(new_id())
    store = SQLiteStore(path)
    try:
        async with WebhookReceiver(store, CREDENTIALS, port=0) as receiver:
            assert await post(receiver, SENTDM, body, headers) == "applied"
            assert await post(receiver, SENDO, pushed, sendo_headers()) == "applied"
    finally:
        store.close()
    store = SQLiteStore(path)  # the restart: a new process's memory, the same file
    try:
        async with WebhookReceiver(store, CREDENTIALS, port=0) as receiver:
            assert await post(receiver, SENTDM, body, headers) == "duplicate"
            replay = dict(headers, **{"X-Webhook-Event-ID": "evt_" + uuid.uuid4().hex})
            assert await post(receiver, SENTDM, body, replay) == "duplicate"
            assert await post(receiver, SENDO, pushed, sendo_headers()) == "duplicate"
            assert receiver.stats[Provider.SENTDM].applied == 0
    finally:
        store.close()


async def test_a_replay_under_another_event_id_does_not_move_a_status_back(
    open_store: Callable[[], Store],
) -> None:
    """SENT, then DELIVERED; the captured SENT request re-sent with a fresh event ID is known."""
    store = open_store()
    mid = new_id()
    async with WebhookReceiver(store, CREDENTIALS, port=0) as receiver:
        sent = sentdm_body(mid, "SENT")
        sent_headers = captured(sent)
        assert await post(receiver, SENTDM, sent, sent_headers) == "applied"
        delivered = sentdm_body(mid, "DELIVERED")
        assert await post(receiver, SENTDM, delivered, captured(delivered)) == "applied"
        events_before = _events(store, mid)
        replay = dict(sent_headers, **{"X-Webhook-Event-ID": "evt_" + uuid.uuid4().hex})
        assert await post(receiver, SENTDM, sent, replay) == "duplicate"
        assert _events(store, mid) == events_before  # not even a timeline entry
        found = store.get(mid)
        assert found is not None and found.message.status.value == "delivered"


async def test_a_burst_of_the_same_request_is_applied_once(
    open_store: Callable[[], Store],
) -> None:
    """Concurrent copies land in one batch (or lanes): the store's claim still lets one through."""
    store = open_store()
    async with WebhookReceiver(store, CREDENTIALS, port=0) as receiver:
        body = sentdm_body(new_id(), "DELIVERED")
        headers = captured(body)
        results = await asyncio.gather(*(post(receiver, SENTDM, body, headers) for _ in range(12)))
        ids = [new_id() for _ in range(6)]
        bodies = [sentdm_body(mid, "DELIVERED") for mid in ids]
        fresh = await asyncio.gather(*(post(receiver, SENTDM, b, captured(b)) for b in bodies))
    assert sorted(results) == ["applied"] + ["duplicate"] * 11
    assert fresh == ["applied"] * 6
    assert all(store.get(mid) is not None for mid in ids)


def _events(store: Store, message_id: str) -> int:
    found = store.get(message_id)
    assert found is not None
    return len(found.message.events)
