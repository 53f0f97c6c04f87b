"""`sendwatch poll` when it cannot do its job: each loop state is logged once, and it exits
non-zero (5) when the history stays unreachable. In-process, over real HTTP to the hostile fake."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import uuid

import pytest

from tests.hostile import HostileProvider, hostile_settings
from tui.commands import poll
from tui.errors import StoreError
from tui.ids import MessageRef
from tui.model import Provider
from tui.store import SQLiteStore


@pytest.fixture
def fake():
    provider = HostileProvider(trickle_every=0.2).start()
    yield provider
    provider.stop()


async def wait_for(condition, bound: float = 30.0) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.02)


async def test_poll_exits_5_when_the_store_stays_unreachable(fake, tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="sendwatch.poll")
    settings = hostile_settings(fake, tmp_path)
    store = SQLiteStore(settings.history_path())

    def unreachable(*args, **kwargs):
        raise StoreError("the history's server went away")

    store.due = unreachable  # every loop's first store read fails, again and again
    try:
        started = time.monotonic()
        code = await asyncio.wait_for(
            poll._serve(settings, store, None, store_give_up=1.0), timeout=60
        )
    finally:
        store.close()
    assert code == poll.EXIT_STORE_DOWN == 5
    assert time.monotonic() - started < 30
    text = caplog.text
    assert "the history has been unreachable for 1 s: giving up" in text
    assert "poll loop: restarting (the loop failed (StoreError" in text


async def test_poll_logs_a_slow_loop_and_a_slow_provider_once(fake, tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="sendwatch.poll")
    settings = hostile_settings(fake, tmp_path, request_deadline=1.0)
    store = SQLiteStore(settings.history_path())
    slow = str(uuid.uuid4())
    fake.modes[slow] = "trickle"
    store.track([MessageRef(slow, Provider.SENDO)], now=time.time() - 10)
    serving = asyncio.ensure_future(poll._serve(settings, store, None))
    try:
        await wait_for(lambda: "Sendo poll loop: slow" in caplog.text or serving.done())
        await wait_for(lambda: "health Sendo: slow" in caplog.text or serving.done())
        os.kill(os.getpid(), signal.SIGTERM)  # what stops a real `sendwatch poll`
        code = await asyncio.wait_for(serving, timeout=30)
    finally:
        store.close()
    assert code == 0
    lines = caplog.text.splitlines()
    assert sum("Sendo poll loop: slow (1 request timed out" in line for line in lines) == 1
    assert (
        sum(
            "health Sendo: slow: answers cut off at the 1 s request deadline" in line
            for line in lines
        )
        == 1
    )
