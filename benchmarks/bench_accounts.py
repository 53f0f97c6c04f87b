"""Several accounts: N Sendo messages polled on one key vs the same N split over two keys.

Rate limits are per account (Sendo: 20 requests/second per key), so two keys of one provider should
settle a backlog about twice as fast, each with its own budget and poll loop. Both scenarios run in
the same process, one after the other, each against a fresh simulator with the same per-account
limit and a fresh SQLite history; every message is already delivered, so one answer settles it.
Measured: seconds until every message is settled, messages settled per second, requests and 429s.

Run: .venv/bin/python -m benchmarks.bench_accounts [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tui.config import Secret, Settings, load
from tui.config_accounts import AccountEntry
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.polling.poller import Poller
from tui.providers.lookup import Providers
from tui.services.demo import demo_settings
from tui.simulator import SimConfig, Simulator, SimWorld
from tui.simulator.accounts import SENDO_ACCOUNT_2, SENDO_KEY_2
from tui.store import SQLiteStore

RATE = 20  # Sendo's documented limit, per key, per second
SETTLED = ("delivered", "read", "failed")


@dataclass
class Result:
    scenario: str
    messages: int
    seconds: float
    requests: int
    throttled: int

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds


def settings_for(sim: Simulator, history: Path, accounts: int) -> Settings:
    base = load(Path("/nonexistent/sendwatch-bench.toml"), env={})
    settings = demo_settings(sim, history, base)
    settings = settings.with_provider(Provider.SENTDM, api_key=Secret(""))
    if accounts == 2:
        entry = AccountEntry("ops2", Secret(SENDO_KEY_2), "", "file")
        settings = settings.with_provider(Provider.SENDO, accounts=(entry,))
    return settings


async def run(count: int, accounts: int) -> Result:
    world = SimWorld(seed=7)
    split = count // 2 if accounts == 2 else 0
    msgs = [
        world.add_message(
            Provider.SENDO,
            [(0, "CREATED"), (1, "DELIVERED")],
            created=-60,
            account=SENDO_ACCOUNT_2 if i < split else None,
        )
        for i in range(count)
    ]
    world.epoch = time.time() - world.now()
    sim = Simulator(world, SimConfig()).start()
    sim.set_sendo_window(RATE, 1.0)
    tmp = Path(tempfile.mkdtemp(prefix="sendwatch-bench-accounts-"))
    store = SQLiteStore(tmp / "history.sqlite3")
    settings = settings_for(sim, tmp / "history.sqlite3", accounts)
    store.track([MessageRef(m.id, Provider.SENDO) for m in msgs])
    # who owns what is known (as after a send from that account): each loop polls its own
    store.set_accounts([(m.id, "ops2" if i < split else "default") for i, m in enumerate(msgs)])
    providers = Providers(settings)
    poller = Poller(store, providers, PollPolicy.from_settings(settings.polling))
    started = time.monotonic()
    task = asyncio.ensure_future(poller.run())
    try:
        while True:
            counts = await asyncio.to_thread(store.status_counts)
            if sum(counts.get(s, 0) for s in SETTLED) >= count:
                break
            await asyncio.sleep(0.05)
        seconds = time.monotonic() - started
    finally:
        poller.stop()
        await task
        await providers.aclose()
        store.close()
        sim.stop()
    budgets = [c.budget.stats for c in providers.accounts.values()]
    return Result(
        f"{accounts} account{'s' if accounts > 1 else ''}",
        count,
        seconds,
        sum(b.requests for b in budgets),
        sum(b.throttled for b in budgets),
    )


def table(results: list[Result], baseline: float) -> str:
    lines = [
        "| scenario | messages | seconds to settle all | settled/s | vs one account | requests | 429s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.scenario} | {r.messages} | {r.seconds:.1f} | {r.per_second:.1f} | "
            f"{r.per_second / baseline:.2f}x | {r.requests} | {r.throttled} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 messages instead of 600")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    count = 200 if args.quick else 600
    results: list[Result] = []
    for _ in range(args.rounds):
        results.append(await run(count, 1))
        results.append(await run(count, 2))
    one = [r.per_second for r in results if r.scenario == "1 account"]
    baseline = sorted(one)[len(one) // 2]
    print(f"Sendo, {RATE} requests/second per key, {count} messages, {args.rounds} rounds")
    print(table(results, baseline))


if __name__ == "__main__":
    asyncio.run(main())
