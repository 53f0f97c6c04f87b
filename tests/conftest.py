"""Shared fixtures: a real simulator on 127.0.0.1 and settings pointing at it."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from tui.config import Settings, load
from tui.services.demo import demo_settings
from tui.simulator import SimConfig, Simulator, SimWorld

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: fixed so payloads are reproducible


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's real config, keys or history."""
    for var in (
        "SENT_DM_API_KEY",
        "SENT_API_KEY",
        "SENDO_API_KEY",
        "SENDWATCH_SENTDM_URL",
        "SENDWATCH_SENDO_URL",
        "SENT_DM_WEBHOOK_SECRET",
        "SENDO_WEBHOOK_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SENDWATCH_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("SENDWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def world() -> SimWorld:
    w = SimWorld(seed=42, epoch=EPOCH)
    w.freeze(at=0.0)
    return w


@pytest.fixture
def sim(world: SimWorld):
    simulator = Simulator(world, SimConfig()).start()
    yield simulator
    simulator.stop()


def fast(settings: Settings) -> Settings:
    """Short backoffs and timeouts so failure tests take milliseconds, not minutes."""
    network = replace(
        settings.network,
        backoff_base=0.01,
        backoff_max=0.05,
        max_retry_after=5.0,
        read_timeout=1.0,
        connect_timeout=1.0,
        max_retries=2,
        breaker_threshold=100,
    )
    return replace(settings, network=network)


@pytest.fixture
def settings(sim: Simulator, tmp_path: Path) -> Settings:
    base = load(tmp_path / "absent.toml", env={})
    return fast(demo_settings(sim, tmp_path / "history.sqlite3", base))


def sim_env(sim: Simulator) -> dict[str, str]:
    from tui.simulator import SENDO_KEY, SENTDM_KEY

    env = dict(os.environ)
    env.update(
        SENT_DM_API_KEY=SENTDM_KEY,
        SENDO_API_KEY=SENDO_KEY,
        SENDWATCH_SENTDM_URL=sim.base_url,
        SENDWATCH_SENDO_URL=sim.base_url,
    )
    return env


@pytest.fixture
def env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    """Environment for a `sendwatch` subprocess talking to the simulator, with its own data dir."""
    e = sim_env(sim)
    e["SENDWATCH_DATA_DIR"] = str(tmp_path / "data")
    e["SENDWATCH_CONFIG"] = str(tmp_path / "none.toml")
    return e


# -- the store on both backends: SQLite files and a real PostgreSQL server ---------------------------
@pytest.fixture(scope="session")
def pg_server():
    """A throw-away PostgreSQL server for the whole run (see tests/pgserver.py); never skipped."""
    from tests import pgserver

    server = pgserver.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def open_store(backend: str, tmp_path: Path, request):
    """`open_store()` opens the history on the parametrized backend; calling it again reopens the same data.
    `open_store.url` is the PostgreSQL database's URL (None on SQLite: `tmp_path / "history.sqlite3"`)."""
    from tui.store import SQLiteStore

    opened = []
    url = (
        request.getfixturevalue("pg_server").create_database() if backend == "postgresql" else None
    )

    def factory():
        if url is not None:
            from tui.store import PostgresStore

            store = PostgresStore(url)
        else:
            store = SQLiteStore(tmp_path / "history.sqlite3")
        opened.append(store)
        return store

    factory.url = url
    yield factory
    for store in opened:
        store.close()
