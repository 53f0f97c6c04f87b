"""`GET /readyz` (issue #17): 200 while the history answers and every registered check passes, 503
with a short JSON reason otherwise, and 200 again once it recovers. Real HTTP, a real SQLite file
and a real PostgreSQL database that stops accepting connections."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_webhooks import SECRET
from tui.store import SQLiteStore, Store
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.server import WebhookReceiver

BOUND = 60.0


async def _readyz(receiver: WebhookReceiver) -> httpx.Response:
    async with httpx.AsyncClient(base_url=receiver.base_url, timeout=BOUND) as client:
        return await client.get("/readyz")


async def _until(receiver: WebhookReceiver, status: int, bound: float = BOUND) -> httpx.Response:
    """Ask /readyz every 100 ms until it answers `status` (TimeoutError after `bound`)."""
    async with asyncio.timeout(bound):
        while (answer := await _readyz(receiver)).status_code != status:
            await asyncio.sleep(0.1)
    return answer


@contextlib.asynccontextmanager
async def _serving(store: Store) -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(store, WebhookCredentials.from_values(SECRET, None), port=0)
    async with receiver:
        yield receiver


async def test_ready_when_the_history_answers_and_every_check_passes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    try:
        async with _serving(store) as receiver:
            answer = await _readyz(receiver)
            assert answer.status_code == 200 and answer.json() == {"ok": True}
            state = {"poller": "loop stalled for 90 s"}
            receiver.readiness.add("poller", lambda: state["poller"])

            async def sender() -> str | None:
                return None

            receiver.readiness.add("sender", sender)
            answer = await _readyz(receiver)
            assert answer.status_code == 503
            assert answer.json() == {"ok": False, "reason": "poller: loop stalled for 90 s"}
            state["poller"] = None  # type: ignore[assignment]
            assert (await _readyz(receiver)).status_code == 200
            health = await httpx.AsyncClient(base_url=receiver.base_url).get("/healthz")
            assert health.status_code == 200  # alive, whatever readiness says
    finally:
        store.close()


class _HangingStore(SQLiteStore):
    """A real SQLite history whose reads can be made to hang, as a server gone silent does."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.released = threading.Event()
        self.released.set()
        self.reads = 0

    def current_rev(self) -> int:
        self.reads += 1
        self.released.wait(BOUND)
        return super().current_rev()


async def test_a_history_that_does_not_answer_is_not_ready_within_the_bound(
    tmp_path: Path,
) -> None:
    store = _HangingStore(tmp_path / "history.sqlite3")
    try:
        async with _serving(store) as receiver:
            receiver.readiness.timeout = 0.5
            assert (await _readyz(receiver)).status_code == 200
            store.released.clear()
            reads = store.reads
            for _ in range(3):
                started = time.monotonic()
                answer = await _readyz(receiver)
                assert answer.status_code == 503
                assert answer.json()["reason"] == "history: no answer within 0.5 s"
                assert time.monotonic() - started < 10.0
            assert store.reads == reads + 1  # one probe in flight, however often it is asked
            store.released.set()
            await _until(receiver, 200)
    finally:
        store.released.set()
        store.close()


def _admin(pg_server: Any, sql: str) -> None:
    import psycopg

    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(sql)


async def test_a_postgresql_history_that_stops_answering_is_not_ready_then_ready_again(
    pg_server: Any,
) -> None:
    from tui.store.postgres import PostgresStore

    url = pg_server.create_database()
    name = url.rsplit("/", 1)[1]
    store = PostgresStore(url)
    try:
        async with _serving(store) as receiver:
            assert (await _readyz(receiver)).status_code == 200
            await asyncio.to_thread(
                _admin, pg_server, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'
            )
            await asyncio.to_thread(
                _admin,
                pg_server,
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
            )
            answer = await _until(receiver, 503)
            assert answer.json()["reason"].startswith("history: ")
            assert "sendwatch:" not in answer.text and pg_server.password not in answer.text
            await asyncio.to_thread(
                _admin, pg_server, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'
            )
            assert (await _until(receiver, 200)).json() == {"ok": True}
    finally:
        await asyncio.to_thread(
            _admin, pg_server, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'
        )
        store.close()


@pytest.mark.parametrize("failure", ["raise", "async-timeout"])
async def test_a_failing_check_is_a_reason_never_a_500(tmp_path: Path, failure: str) -> None:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    try:
        async with _serving(store) as receiver:
            receiver.readiness.timeout = 0.2
            if failure == "raise":

                def check() -> str | None:
                    raise RuntimeError("secret detail")

                receiver.readiness.add("poller", check)
                expected = "poller: check failed (RuntimeError)"
            else:

                async def slow() -> str | None:
                    await asyncio.sleep(BOUND)
                    return None

                receiver.readiness.add("poller", slow)
                expected = "poller: no answer within 0.2 s"
            answer = await _readyz(receiver)
            assert answer.status_code == 503 and answer.json()["reason"] == expected
            receiver.readiness.remove("poller")
            assert (await _readyz(receiver)).status_code == 200
    finally:
        store.close()
