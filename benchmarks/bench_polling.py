"""Polling benchmark: sendwatch's scheduler against a fixed-interval loop over every ID.

The same seeded campaign (N Sent.dm messages sent at once, settling over the next minutes) is
watched twice through the simulator at the same budget of R requests/second:
  * policy: sendwatch's poller (store, scheduler, budget), as the dashboard runs it;
  * naive:  what `watch` + `curl` does: GET every ID in turn, forever, paced at R.
Both see the simulator's ground truth afterwards, so detection lag is exact.

Run: .venv/bin/python -m benchmarks.bench_polling [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from tui.ids import MessageRef
from tui.model import Provider, normalize_status
from tui.polling.poller import Poller
from tui.polling.policy import PollPolicy
from tui.providers.lookup import Providers
from tui.simulator import SENTDM_KEY, SimConfig, Simulator, SimWorld
from tui.simulator.demo import demo_settings
from tui.store.history import HistoryStore

FINAL = {"delivered", "read", "failed"}


@dataclass
class Run:
    name: str
    seen: dict[tuple[str, str], float] = field(default_factory=dict)  # (id, status) -> first wall time seen
    requests: list[tuple[float, str, int]] = field(default_factory=list)  # (wall time, id, http status)
    duration: float = 0.0
    ended: float = 0.0  # wall time the run stopped: ground truth after it does not count


def campaign(seed: int, count: int) -> tuple[Simulator, list[str], SimWorld]:
    world = SimWorld(seed)
    msgs = [world.add_message(Provider.SENTDM, created=0.0) for _ in range(count)]
    world.epoch = time.time() - world.now()  # world t=0 is "now": the send just happened
    return world, [m.id for m in msgs]


def start_sim(world: SimWorld, rate: float) -> Simulator:
    return Simulator(world, SimConfig(sentdm_per_minute=rate * 60, sentdm_burst=int(rate))).start()


async def run_policy(seed: int, count: int, rate: float, seconds: float) -> tuple[Run, SimWorld, Simulator]:
    world, ids = campaign(seed, count)
    sim = start_sim(world, rate)
    tmp = Path(tempfile.mkdtemp(prefix="sendwatch-bench-"))
    settings = demo_settings(sim, tmp / "h.sqlite3")
    settings = replace(settings, sentdm=replace(settings.sentdm, requests_per_minute=rate * 60, burst=int(rate), concurrency=8),
                       sendo=replace(settings.sendo, api_key=settings.sendo.api_key.__class__("")))
    store = HistoryStore(settings.history_path())
    store.track([MessageRef(i, Provider.SENTDM) for i in ids])
    providers = Providers(settings)
    poller = Poller(store, providers, PollPolicy.from_settings(settings.polling))
    started = time.monotonic()
    task = asyncio.ensure_future(poller.run())
    await asyncio.sleep(seconds)
    poller.stop()
    await task
    await providers.aclose()
    run = Run("policy", duration=time.monotonic() - started, ended=time.time())
    for mid, status, ts in store._read("SELECT message_id, status, ts FROM events WHERE source = 'observed'"):
        run.seen.setdefault((mid, status), ts)
    run.requests = [(r.at, r.message_id, r.status) for r in sim.records]
    sim.stop()
    return run, world, sim


async def run_naive(seed: int, count: int, rate: float, seconds: float) -> tuple[Run, SimWorld, Simulator]:
    world, ids = campaign(seed, count)
    sim = start_sim(world, rate)
    run = Run("naive")
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=sim.base_url, headers={"x-api-key": SENTDM_KEY}) as client:
        index = 0
        while time.monotonic() - started < seconds:
            t0 = time.monotonic()
            mid = ids[index % len(ids)]
            index += 1
            response = await client.get(f"/v3/messages/{mid}")
            if response.status_code == 200:
                status = normalize_status(response.json()["data"]["status"]).value
                run.seen.setdefault((mid, status), time.time())
            await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - t0)))
    run.duration = time.monotonic() - started
    run.ended = time.time()
    run.requests = [(r.at, r.message_id, r.status) for r in sim.records]
    sim.stop()
    return run, world, sim


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def analyse(run: Run, world: SimWorld, rate: float, policy: PollPolicy) -> dict[str, float]:
    truth_final: dict[str, tuple[float, str]] = {}
    lags_all, lags_final, within = [], [], []
    for msg in world.messages.values():
        steps = [(world.wall(msg.created + off), normalize_status(st).value) for off, st in msg.steps]
        end = run.ended
        previous = steps[0][0]
        for when, status in steps:
            if when > end:
                break
            seen = run.seen.get((msg.id, status))
            if seen is not None and seen >= when - 0.05:
                lags_all.append(seen - when)
                if status in FINAL:
                    lags_final.append(seen - when)
                    allowed = policy.interval(normalize_status(status), when - previous) + 1 / rate
                    within.append(seen - when <= allowed)
            previous = when
            if status in FINAL:
                truth_final[msg.id] = (when, status)
    answered = [r for r in run.requests if r[2] == 200]
    final_seen_at = {mid: min(t for (m, st), t in run.seen.items() if m == mid and st in FINAL)
                     for mid in {m for (m, st) in run.seen if st in FINAL}}
    wasted = sum(1 for at, mid, status in run.requests if mid in final_seen_at and at > final_seen_at[mid] + 0.01)
    first_pass_end = None
    asked: set[str] = set()
    for at, mid, status in sorted(run.requests):
        if status == 200:
            asked.add(mid)
            if len(asked) == len(world.messages):
                first_pass_end = at
                break
    start = min(r[0] for r in run.requests) if run.requests else 0
    window = [r for r in run.requests if first_pass_end is None or r[0] <= first_pass_end]
    window_len = (first_pass_end or max(r[0] for r in run.requests)) - start
    detections = sorted(final_seen_at.values())
    target = int(0.95 * len(truth_final))
    t95 = detections[target - 1] if 0 < target <= len(detections) else None
    return {
        "requests": len(run.requests),
        "requests until 95% finals seen": sum(1 for r in run.requests if t95 is not None and r[0] <= t95) if t95 else float("nan"),
        "seconds until 95% finals seen": (t95 - start) if t95 else float("nan"),
        "answered (200)": len(answered),
        "429 answers": sum(1 for r in run.requests if r[2] == 429),
        "requests after final was seen": wasted,
        "rate while backlogged (req/s)": len(window) / window_len if window_len > 0 else float("nan"),
        "  as share of budget": len(window) / window_len / rate if window_len > 0 else float("nan"),
        "final states reached": len(truth_final),
        "final states detected": len(lags_final),
        "final detection lag p50 (s)": pct(lags_final, 0.5),
        "final detection lag p95 (s)": pct(lags_final, 0.95),
        "any change lag p95 (s)": pct(lags_all, 0.95),
        "final lag within policy interval": sum(within) / len(within) if within else float("nan"),
        "requests per final detected": len(run.requests) / max(1, len(lags_final)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count, rate, seconds = (200, 10.0, 60.0) if args.quick else (800, 25.0, 120.0)
    seed = 11
    print(f"Campaign: {count} Sent.dm messages sent at t=0; budget {rate:g} req/s; watched for {seconds:g} s each way\n")
    policy_run, world_p, _ = asyncio.run(run_policy(seed, count, rate, seconds))
    naive_run, world_n, _ = asyncio.run(run_naive(seed, count, rate, seconds))
    policy = PollPolicy()
    a = analyse(policy_run, world_p, rate, policy)
    b = analyse(naive_run, world_n, rate, policy)
    print(f"{'measure':<34}{'sendwatch':>12}{'naive loop':>12}")
    for key in a:
        fa, fb = a[key], b[key]
        fmt = (lambda v: f"{v:>12.0f}") if isinstance(fa, int) else (lambda v: f"{v:>12.2f}")
        print(f"{key:<34}{fmt(fa)}{fmt(fb)}")
    print("\n'final lag within policy interval' is the share of final-state detections that came no later than the")
    print("policy's own interval for that message (plus one request slot), i.e. the detection-lag target.")


if __name__ == "__main__":
    main()
