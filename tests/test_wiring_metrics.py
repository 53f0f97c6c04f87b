"""Each HTTP attempt a provider client makes reaches `poll`'s metrics under its outcome, timed;
retries are counted one by one. Real HTTP to the simulator, and to a port nobody listens on."""

from __future__ import annotations

import socket
import uuid

import pytest
from prometheus_client import generate_latest

from tests.test_metrics import value
from tui.commands import poll
from tui.config import Settings
from tui.errors import NotFoundError, UnavailableError
from tui.model import Provider
from tui.providers.lookup import Providers
from tui.store import SQLiteStore

REQUESTS = "sendwatch_provider_requests_total"
SECONDS = "sendwatch_provider_request_duration_seconds_count"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port  # closed again on return: a connection there is refused


async def test_every_attempt_is_counted_under_its_outcome(settings: Settings) -> None:
    down = settings.with_provider(Provider.SENTDM, base_url=f"http://127.0.0.1:{_closed_port()}")
    store = SQLiteStore(settings.history_path())
    providers = Providers(down)
    try:
        metrics = poll._metrics_for(store, providers, {})
        with pytest.raises(NotFoundError):
            await providers.clients[Provider.SENDO].fetch(str(uuid.uuid4()))
        with pytest.raises(UnavailableError):
            await providers.clients[Provider.SENTDM].fetch(str(uuid.uuid4()))
    finally:
        await providers.aclose()
        store.close()
    text = generate_latest(metrics.registry).decode()
    assert value(text, REQUESTS, provider="sendo", outcome="not_found") == 1  # a 404: not retried
    assert value(text, SECONDS, provider="sendo") == 1
    attempts = 1 + down.network.max_retries
    assert value(text, REQUESTS, provider="sentdm", outcome="network") == attempts
    assert value(text, SECONDS, provider="sentdm") == attempts
    assert value(text, REQUESTS, provider="sentdm", outcome="ok") == 0
