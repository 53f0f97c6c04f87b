"""The receiver stays open to providers under attack (issue #15): real sockets against uvicorn on
127.0.0.1, a real SQLite store. Deadlines are shortened here so the tests run fast; one test waits
out the default deadline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
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
from tui.polling.policy import PollPolicy
from tui.store import SQLiteStore
from tui.webhooks.apply import Applied
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.guard import EVICTED, MALFORMED, REFUSED, TIMED_OUT
from tui.webhooks.handlers import BUSY
from tui.webhooks.ingest import PushWrite, apply_each
from tui.webhooks.server import ReceiverLimits, WebhookReceiver
from tui.webhooks.stats import Refusals

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
BOUND = 30.0  # generous upper bound for anything that should happen "soon"


async def _open(port: int, count: int) -> list[Conn]:
    return [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]


async def _until_closed(reader: asyncio.StreamReader, bound: float = BOUND) -> bytes:
    """Everything the server sent until it closed the connection (raises TimeoutError if it never
    does). A reset counts as closed: bytes still arriving at a closed socket make the kernel reset."""
    received = b""
    async with asyncio.timeout(bound):
        with contextlib.suppress(ConnectionResetError):
            while chunk := await reader.read(4096):
                received += chunk
    return received


def _close_all(conns: Sequence[Conn]) -> None:
    for _, writer in conns:
        writer.close()


async def _post_sentdm(receiver: WebhookReceiver) -> httpx.Response:
    body = sentdm_body(new_id())
    async with httpx.AsyncClient(base_url=receiver.base_url, timeout=BOUND) as client:
        return await client.post(SENTDM, content=body, headers=signed_headers(body))


@contextlib.asynccontextmanager
async def _receiver(
    tmp_path: Path, limits: ReceiverLimits, **kwargs: object
) -> AsyncIterator[WebhookReceiver]:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    receiver = WebhookReceiver(
        store, WebhookCredentials.from_values(SECRET, TOKEN), port=0, limits=limits, **kwargs
    )
    try:
        async with receiver:
            yield receiver
    finally:
        store.close()


async def test_idle_and_trickling_sockets_neither_deny_providers_nor_stay_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    deadline = 1.5
    async with _receiver(tmp_path, ReceiverLimits(request_timeout=deadline)) as receiver:
        idle = await _open(receiver.port, 200)
        trickling = await _open(receiver.port, 20)
        opened = time.monotonic()
        for _, writer in trickling:
            writer.write(b"POST /webhooks/sendo HTTP/1.1\r\nHost: x\r\nX-Pad: ")

        async def trickle(writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while not writer.is_closing():
                    writer.write(b"p")  # a byte at a time: must not extend the deadline
                    await writer.drain()
                    await asyncio.sleep(0.1)

        tricklers = [asyncio.create_task(trickle(w)) for _, w in trickling]
        try:
            started = time.monotonic()
            response = await _post_sentdm(receiver)
            assert response.status_code == 200, response.text
            assert time.monotonic() - started < 15.0
            for reader, _ in idle + trickling:
                assert await _until_closed(reader) == b""  # closed without a word
            closed_after = time.monotonic() - opened
        finally:
            for task in tricklers:
                task.cancel()
            _close_all(idle + trickling)
        assert deadline * 0.9 <= closed_after < deadline + 15.0
        assert receiver.stats.refusals[TIMED_OUT] == 220
        assert receiver.guard is not None and receiver.guard.owing == 0
    # counted, and summarised: never one log line per refused connection
    lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert 1 <= len(lines) <= 3, [r.getMessage() for r in lines]


async def test_a_connection_open_past_the_default_deadline_is_closed_within_15_s(
    tmp_path: Path,
) -> None:
    assert ReceiverLimits().request_timeout <= 15.0
    async with _receiver(tmp_path, ReceiverLimits()) as receiver:
        ((reader, writer),) = await _open(receiver.port, 1)
        writer.write(b"POST /webhooks/sentdm HTTP/1.1\r\n")  # half a request, then silence
        started = time.monotonic()
        try:
            assert await _until_closed(reader, bound=15.0) == b""
        finally:
            writer.close()
        assert time.monotonic() - started >= ReceiverLimits().request_timeout * 0.9


async def test_a_body_that_never_completes_is_closed_even_when_the_app_would_wait(
    tmp_path: Path,
) -> None:
    limits = ReceiverLimits(request_timeout=1.0, body_timeout=60.0)
    async with _receiver(tmp_path, limits) as receiver:
        ((reader, writer),) = await _open(receiver.port, 1)
        writer.write(
            b"POST /webhooks/sendo HTTP/1.1\r\nHost: x\r\nX-Webhook-Token: "
            + TOKEN.encode()
            + b"\r\nContent-Length: 500\r\n\r\n{"
        )
        try:
            await _until_closed(reader)
        finally:
            writer.close()
        assert receiver.stats.refusals[TIMED_OUT] == 1


async def _healthz(conn: Conn) -> bytes:
    reader, writer = conn
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    async with asyncio.timeout(BOUND):
        return await reader.readuntil(b"\r\n\r\n")


async def test_at_the_socket_cap_the_longest_idle_connection_makes_room(tmp_path: Path) -> None:
    limits = ReceiverLimits(max_sockets=50, request_timeout=120.0)
    async with _receiver(tmp_path, limits) as receiver:
        first = await _open(receiver.port, 10)
        rest = await _open(receiver.port, 40)
        more: list[Conn] = []
        try:
            response = await _post_sentdm(receiver)  # the 51st socket: the oldest idle one goes
            assert response.status_code == 200, response.text
            assert await _until_closed(first[0][0]) == b""
            guard = receiver.guard
            assert guard is not None
            await _wait_for(lambda: guard.owing == 49)  # the provider's connection is gone too
            more = await _open(receiver.port, 6)  # 55 sockets: the five next oldest go
            for reader, _ in first[1:6]:
                assert await _until_closed(reader) == b""
            for conn in first[6:] + rest:  # the others were left alone, and still work
                assert (await _healthz(conn)).startswith(b"HTTP/1.1 200")
            assert receiver.stats.refusals[EVICTED] == 6
        finally:
            _close_all(first + rest + more)


class _Gate:
    """An `ApplyBatch` that writes for real, but only once the test opens the gate."""

    def __init__(self, store: SQLiteStore) -> None:
        self.opened = threading.Event()
        self.apply = apply_each(store, PollPolicy())

    def __call__(self, writes: Sequence[PushWrite]) -> list[Applied | Exception]:
        self.opened.wait(BOUND)
        return self.apply(writes)


async def _wait_for(condition: Callable[[], bool], bound: float = BOUND) -> None:
    async with asyncio.timeout(bound):
        while not condition():
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def _gated(
    tmp_path: Path, limits: ReceiverLimits
) -> AsyncIterator[tuple[WebhookReceiver, _Gate, httpx.AsyncClient]]:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    gate = _Gate(store)
    receiver = WebhookReceiver(
        store, WebhookCredentials.from_values(None, TOKEN), port=0, limits=limits, apply_batch=gate
    )
    try:
        async with receiver, httpx.AsyncClient(base_url=receiver.base_url, timeout=BOUND) as client:
            yield receiver, gate, client
            gate.opened.set()
    finally:
        gate.opened.set()
        store.close()


def _post_sendo(
    client: httpx.AsyncClient, body: bytes | None = None
) -> asyncio.Task[httpx.Response]:
    content = sendo_body(new_id()) if body is None else body
    return asyncio.ensure_future(
        client.post(SENDO, content=content, headers={"X-Webhook-Token": TOKEN})
    )


async def test_requests_not_sockets_are_capped_and_busy_means_503_with_retry_after(
    tmp_path: Path,
) -> None:
    async with _gated(tmp_path, ReceiverLimits(max_requests=2)) as (receiver, gate, client):
        idle = await _open(receiver.port, 100)  # idle sockets do not count
        try:
            held = [_post_sendo(client) for _ in range(2)]
            await _wait_for(lambda: receiver.stats.in_flight == 2)
            third = await _post_sendo(client)
            assert third.status_code == 503 and third.headers["Retry-After"] == "30"
            gate.opened.set()
            assert [(await t).status_code for t in held] == [200, 200]
            assert receiver.stats.refusals[BUSY] == 1
            assert (await _post_sendo(client)).status_code == 200
        finally:
            _close_all(idle)


async def test_when_every_socket_is_busy_with_a_request_a_newcomer_is_refused(
    tmp_path: Path,
) -> None:
    async with _gated(tmp_path, ReceiverLimits(max_sockets=2)) as (receiver, gate, client):
        held = [_post_sendo(client) for _ in range(2)]
        await _wait_for(lambda: receiver.stats.in_flight == 2)
        newcomer = await _open(receiver.port, 1)
        try:
            assert await _until_closed(newcomer[0][0]) == b""
        finally:
            _close_all(newcomer)
        gate.opened.set()
        assert [(await t).status_code for t in held] == [200, 200]  # nothing in progress was lost
        assert receiver.stats.refusals[REFUSED] == 1


async def test_bodies_in_flight_share_a_byte_budget(tmp_path: Path) -> None:
    body = sendo_body(new_id())
    limits = ReceiverLimits(max_buffered=len(body) * 3 // 2)
    async with _gated(tmp_path, limits) as (receiver, gate, client):
        held = _post_sendo(client, body)
        await _wait_for(lambda: receiver.stats.in_flight == 1)
        second = await _post_sendo(client, sendo_body(new_id()))
        assert second.status_code == 503 and "Retry-After" in second.headers
        gate.opened.set()
        assert (await held).status_code == 200
        assert (await _post_sendo(client)).status_code == 200  # the budget was given back


async def test_malformed_requests_are_counted_not_logged_one_line_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with _receiver(tmp_path, ReceiverLimits()) as receiver:
        for _ in range(5):
            ((reader, writer),) = await _open(receiver.port, 1)
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
            try:
                assert (await _until_closed(reader)).startswith(b"HTTP/1.1 400")
            finally:
                writer.close()
        for token in ("wrong", "also wrong", "still wrong"):
            async with httpx.AsyncClient(base_url=receiver.base_url) as client:
                answer = await client.post(
                    SENDO, content=sendo_body(new_id()), headers={"X-Webhook-Token": token}
                )
                assert answer.status_code == 401
        assert receiver.stats.refusals[MALFORMED] == 5
        assert receiver.stats.refusals["sendo 401 (wrong token)"] == 3
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING
    ]  # uvicorn's "Invalid HTTP request"
    summaries = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    # the first refusal is told at once, the rest in one summary when the receiver stops
    assert len(summaries) == 2, summaries
    assert "4 malformed HTTP requests" in summaries[1] and "3 sendo 401" in summaries[1]


def test_refusals_are_summarised_at_most_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sendwatch.webhooks")
    now = [1000.0]
    refusals = Refusals(clock=lambda: now[0])
    for _ in range(400):
        refusals.count("bad things")
        now[0] += 0.125  # 50 s in all
    refusals.count("other things")
    now[0] += 10.0
    refusals.count("bad things")  # a minute after the first line: the window is told
    refusals.flush()  # nothing new since: no line
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "webhook receiver refused: 1 bad things",
        "webhook receiver refused: 400 bad things, 1 other things",
    ]
    assert refusals["bad things"] == 401 and refusals.total == 402
