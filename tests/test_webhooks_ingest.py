"""The receiver's single writer: pushes that arrive while a batch is written go together in the next
one, each request gets its own write's outcome, and closing answers everything queued. Real SQLite,
real HTTP for the end-to-end case."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import httpx

from tests.test_webhooks import SECRET, SENTDM, new_id, sentdm_body, signed_headers
from tui.model import Message, Provider, Status
from tui.polling.policy import PollPolicy
from tui.store import SQLiteStore
from tui.webhooks.apply import Applied, StoreUnavailable
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.ingest import PushWrite, PushWriter, apply_each, apply_together
from tui.webhooks.server import ReceiverLimits, WebhookReceiver

BOUND = 30.0


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(BOUND):
        while not condition():
            await asyncio.sleep(0.01)


def _push(status: Status = Status.SENT) -> PushWrite:
    message = Message(
        id=new_id(), provider=Provider.SENTDM, status=status, provider_status=status.value.upper()
    )
    return PushWrite(message, time.time())


class _Recorder:
    """Writes for real; remembers each batch's size; the first batch waits for the gate."""

    def __init__(self, store: SQLiteStore) -> None:
        self.apply = apply_each(store, PollPolicy())
        self.sizes: list[int] = []
        self.gate = threading.Event()
        self.entered = threading.Event()

    def __call__(self, writes: Sequence[PushWrite]) -> list[Applied | Exception]:
        self.entered.set()
        self.gate.wait(BOUND)
        self.sizes.append(len(writes))
        return self.apply(writes)


async def test_writes_that_arrive_during_a_batch_go_together_in_the_next(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.sqlite3")
    recorder = _Recorder(store)
    writer = PushWriter(recorder, max_batch=8)
    try:
        first = asyncio.ensure_future(writer.write(_push()))
        await asyncio.wait_for(asyncio.to_thread(recorder.entered.wait, BOUND), BOUND)
        rest = [asyncio.ensure_future(writer.write(_push())) for _ in range(20)]
        await _until(lambda: writer.queued == 20)
        recorder.gate.set()
        outcomes = await asyncio.gather(first, *rest)
        assert all(isinstance(a, Applied) and a.new for a in outcomes)
        assert recorder.sizes == [1, 8, 8, 4]  # 20 queued meanwhile: three batches, not 20 hops
        assert writer.batches == 4 and writer.writes == 21
        assert all(store.get(a.message_id) is not None for a in outcomes)
    finally:
        recorder.gate.set()
        await writer.aclose()
        store.close()


async def test_each_request_gets_its_own_outcome(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.sqlite3")
    apply = apply_each(store, PollPolicy())
    refused = _push()

    def some_fail(writes: Sequence[PushWrite]) -> list[Applied | Exception]:
        """The store refuses one write of the batch (as a full disk would refuse one)."""
        return [StoreUnavailable("StoreError") if w is refused else apply([w])[0] for w in writes]

    writer = PushWriter(some_fail)
    try:
        good, bad = _push(), refused
        results = await asyncio.gather(
            writer.write(good), writer.write(bad), return_exceptions=True
        )
        assert isinstance(results[0], Applied) and results[0].message_id == good.message.id
        assert isinstance(results[1], StoreUnavailable)
        assert store.get(good.message.id) is not None and store.get(bad.message.id) is None
    finally:
        await writer.aclose()
        store.close()


async def test_a_batch_that_fails_as_a_whole_fails_each_request_and_the_writer_goes_on() -> None:
    calls = 0

    def broken_then_fine(writes: Sequence[PushWrite]) -> list[Applied | Exception]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database went away")
        return [
            Applied(w.message.id, w.message.provider, True, False, w.message.status) for w in writes
        ]

    writer = PushWriter(broken_then_fine)
    try:
        failed = await asyncio.gather(writer.write(_push()), return_exceptions=True)
        assert isinstance(failed[0], RuntimeError)
        assert isinstance(await writer.write(_push()), Applied)
    finally:
        await writer.aclose()


async def test_closing_answers_everything_queued(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.sqlite3")
    recorder = _Recorder(store)
    writer = PushWriter(recorder, max_batch=4, lanes=2)
    try:
        pending = [asyncio.ensure_future(writer.write(_push())) for _ in range(10)]
        await _until(lambda: writer.queued == 2)  # each lane took a batch of four and waits
        recorder.gate.set()
        await writer.aclose()
        assert all(task.done() for task in pending)
        assert sum(recorder.sizes) == 10 and all(isinstance(t.result(), Applied) for t in pending)
    finally:
        recorder.gate.set()
        store.close()


async def test_concurrent_webhooks_are_written_in_batches_and_all_stored(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.sqlite3")
    recorder = _Recorder(store)
    recorder.gate.set()
    receiver = WebhookReceiver(
        store,
        WebhookCredentials.from_values(SECRET, None),
        port=0,
        limits=ReceiverLimits(),
        apply_batch=recorder,
    )
    ids = [new_id() for _ in range(60)]
    try:
        async with (
            receiver,
            httpx.AsyncClient(
                base_url=receiver.base_url, timeout=BOUND, limits=httpx.Limits(max_connections=16)
            ) as client,
        ):

            async def post(mid: str) -> int:
                body = sentdm_body(mid)
                answer = await client.post(SENTDM, content=body, headers=signed_headers(body))
                return answer.status_code

            assert await asyncio.gather(*map(post, ids)) == [200] * 60
        assert sum(recorder.sizes) == 60
        assert all(store.get(mid) is not None for mid in ids)
    finally:
        store.close()


def _refuse(path: Path, message_id: str) -> None:
    """Make the real SQLite file refuse to store one message (as PostgreSQL refuses what it cannot
    store): a trigger aborts any insert of that ID, whichever write path makes it."""
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER IF EXISTS refuse_one")
        if message_id:
            db.execute(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON messages "
                f"WHEN NEW.id = '{message_id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
    db.close()


def test_a_batch_is_one_transaction_and_one_refused_push_costs_the_others_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.sqlite3"
    store = SQLiteStore(path)
    apply = apply_together(store, PollPolicy())
    keyed = [replace(_push(), event_key=f"sentdm:event:{n}", content_key=None) for n in range(3)]
    before = store.current_rev()
    outcomes = apply(keyed)
    assert [type(o) for o in outcomes] == [Applied] * 3
    assert store.current_rev() == before + 1  # one transaction: one commit for the whole batch
    again = apply(keyed)  # the same events once more (a retry): all known, nothing written
    assert all(isinstance(o, Applied) and o.duplicate for o in again)

    batch = [_push(), _push(), _push()]
    _refuse(path, batch[1].message.id)
    batch = [replace(w, event_key=f"sentdm:event:b{n}") for n, w in enumerate(batch)]
    outcomes = apply(batch)
    assert isinstance(outcomes[1], StoreUnavailable)
    for outcome in (
        outcomes[0],
        outcomes[2],
    ):  # the failed transaction kept nothing, claims included
        assert isinstance(outcome, Applied) and not outcome.duplicate and outcome.new
    assert store.get(batch[0].message.id) is not None and store.get(batch[1].message.id) is None
    _refuse(path, "")
    retried = apply(
        [batch[1]]
    )  # the provider's retry of the refused one is applied, not a duplicate
    assert isinstance(retried[0], Applied) and not retried[0].duplicate
    store.close()
