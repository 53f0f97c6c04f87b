"""The poller against the simulator: budget, 429s, final states, restart, circuit breaker."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.poller import Poller
from tui.polling.policy import PollPolicy
from tui.providers.lookup import Providers
from tui.store.history import HistoryStore

FAST = PollPolicy(min_interval=0.2, max_interval=0.5, selected_interval=0.1, visible_interval=0.2, delivered_recheck=0.3)


def live(world) -> None:
    world.epoch = time.time() - world.now()


async def run_poller(settings, store, seconds: float, policy: PollPolicy = FAST) -> Poller:
    providers = Providers(settings)
    poller = Poller(store, providers, policy)
    task = asyncio.ensure_future(poller.run())
    await asyncio.sleep(seconds)
    poller.stop()
    await task
    await providers.aclose()
    return poller


async def test_final_messages_are_asked_once(settings, world, sim) -> None:
    live(world)
    msgs = [world.add_message(Provider.SENTDM, [(0, "queued"), (0.5, "failed")], error=("30003", "x"), created=-5)
            for _ in range(5)]
    msgs += [world.add_message(Provider.SENDO, [(0, "created"), (1, "opened")], created=-5) for _ in range(5)]
    store = HistoryStore(settings.history_path())
    store.track([MessageRef(m.id, m.provider) for m in msgs])
    await run_poller(settings, store, 1.5)
    assert store.status_counts() == {"failed": 5, "read": 5}
    asked = {m.id[:8]: [(r.status, round(r.at % 100, 3)) for r in sim.requests_for(m.id)] for m in msgs}
    assert all(len(v) == 1 for v in asked.values()), asked
    assert store.pending_count() == 0


async def test_pending_messages_settle_and_changes_are_observed(settings, world, sim) -> None:
    live(world)
    m = world.add_message(Provider.SENDO, [(0, "created"), (1, "queued"), (2, "sent"), (3, "delivered"), (4, "opened")])
    store = HistoryStore(settings.history_path())
    store.track([MessageRef(m.id, Provider.SENDO)])
    for _ in range(4):
        world.advance(1.0)
        await run_poller(settings, store, 0.5)
    world.advance(1.0)
    await run_poller(settings, store, 0.5)
    stored = store.get(m.id)
    assert stored.message.status.value == "read" and stored.next_poll is None
    observed = [e.provider_status for e in stored.message.events if e.source.value == "observed"]
    assert observed[-1] == "opened" and len(observed) >= 3


async def test_restart_resumes_and_never_refetches_final(settings, world, sim) -> None:
    live(world)
    done = world.add_message(Provider.SENTDM, [(0, "queued"), (0.1, "failed")], error=("30003", "x"), created=-5)
    pending = world.add_message(Provider.SENTDM, [(0, "queued"), (1, "sent")], created=-5)
    path = settings.history_path()
    store = HistoryStore(path)
    store.track([MessageRef(done.id, Provider.SENTDM), MessageRef(pending.id, Provider.SENTDM)])
    await run_poller(settings, store, 0.5)
    store.close()
    asked_before = len(sim.requests_for(pending.id))
    reopened = HistoryStore(path)  # a new process would start exactly like this
    await run_poller(settings, reopened, 1.2)
    assert len(sim.requests_for(done.id)) == 1
    assert len(sim.requests_for(pending.id)) > asked_before
    assert reopened.get(pending.id).message.status.value == "sent"


async def test_budget_is_used_and_only_the_first_429_teaches(settings, world, sim) -> None:
    """Configured far above the server's limit: the headers (or one 429) teach it; then no more 429s."""
    live(world)
    sim.set_rate_limit(Provider.SENTDM, per_minute=600, burst=5)  # 10 requests/second
    greedy = settings.with_provider(Provider.SENTDM, requests_per_minute=6000.0, burst=50, concurrency=8)
    msgs = [world.add_message(Provider.SENTDM, [(0, "queued"), (3600, "sent")], created=-1) for _ in range(60)]
    store = HistoryStore(settings.history_path())
    store.track([MessageRef(m.id, Provider.SENTDM) for m in msgs])
    slow = replace(FAST, min_interval=60, max_interval=60)  # every message once: a backlog of 60
    started = time.monotonic()
    await run_poller(greedy, store, 4.0, slow)
    elapsed = time.monotonic() - started
    throttled = sim.counts[(Provider.SENTDM, 429)]
    answered = sim.counts[(Provider.SENTDM, 200)]
    assert throttled <= 1
    # 5 burst + 10/s for the time it ran, less the margin: at least 90% of what the server allows
    assert answered >= 0.9 * min(60, 5 + 10 * (elapsed - 0.2) * 0.97)


async def test_a_failing_provider_is_left_alone(settings, world, sim) -> None:
    live(world)
    sim.set_fault(Provider.SENDO, "down")
    msgs = [world.add_message(Provider.SENDO, created=-1) for _ in range(30)]
    store = HistoryStore(settings.history_path())
    store.track([MessageRef(m.id, Provider.SENDO) for m in msgs])
    tight = replace(settings, network=replace(settings.network, breaker_threshold=3, breaker_cooldown=5.0))
    await run_poller(tight, store, 1.5)
    asked = sum(n for (p, _), n in sim.counts.items() if p is Provider.SENDO)
    assert 3 <= asked <= 3 + 4  # the threshold, plus what was already in flight when it opened


async def test_ids_without_a_provider_are_resolved(settings, world, sim) -> None:
    live(world)
    m = world.add_message(Provider.SENDO, [(0, "created"), (1, "sent")], created=-5)
    store = HistoryStore(settings.history_path())
    store.track([MessageRef(m.id)])
    await run_poller(settings, store, 0.8)
    assert store.provider_of(m.id) is Provider.SENDO
    first = len(sim.requests_for(m.id))
    await run_poller(settings, store, 0.8)
    later = sim.requests_for(m.id)[first:]
    assert later and all(r.provider is Provider.SENDO for r in later)  # only its owner is asked now
