"""Chaos benchmark (issue #15): does one poison answer cost the rest of the campaign anything?

A campaign of N good messages per provider is polled at the providers' real budgets (Sent.dm
200/minute with a burst of 50, Sendo 20/second, enforced by the fake with X-RateLimit-* headers
and 429s), twice, each through its own hostile fake (`tests/hostile.py`) over real HTTP:

  * clean:  the good messages only;
  * poison: the same, plus one message of each poison kind per provider — a body nested 100,000
            deep, a lying Content-Encoding, an overflowing timestamp, a NUL, an answer about
            another (tracked) message, 600 MB with and without Content-Length — and one that
            trickles its answer a byte a second (cut off by the 30 s request deadline).

For each it reports, per provider, the time until every good message had its first answer, the
requests made until then and the share of them spent on good messages, and how often a poll loop
restarted. The goal: the poison run within 10 % of the clean one.

Run: .venv/bin/python -m benchmarks.bench_chaos [--quick] [--sentdm N] [--sendo N] [--repeat K]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from tests.hostile import POISON, HostileProvider
from tui.config import Settings, load
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.polling.poller import Poller, PollUpdate
from tui.providers.lookup import Providers
from tui.store import SQLiteStore

BOUND = 600.0  # seconds: a run that has not finished by then is reported as such


@dataclass
class Outcome:
    """One provider's figures in one run."""

    good: int
    first_answers: dict[str, float] = field(default_factory=dict)  # id -> seconds from start
    requests: int = 0
    good_requests: int = 0
    restarts: int = 0

    @property
    def all_answered(self) -> float | None:
        if len(self.first_answers) < self.good:
            return None
        return max(self.first_answers.values(), default=0.0)

    @property
    def good_share(self) -> float:
        return self.good_requests / self.requests if self.requests else 0.0


def settings_for(fake: HostileProvider, folder: Path) -> Settings:
    """Both providers at the fake, with every documented default (budgets, 30 s deadline)."""
    env = {
        "SENT_DM_API_KEY": "bench-sentdm-key-0123456789",
        "SENDO_API_KEY": "bench-sendo-key-0123456789",
        "SENDWATCH_SENTDM_URL": fake.base_url,
        "SENDWATCH_SENDO_URL": fake.base_url,
    }
    settings = load(folder / "absent.toml", env=env)
    return replace(settings, history=replace(settings.history, path=str(folder / "h.sqlite3")))


async def one_run(good: dict[Provider, int], poison: bool) -> dict[Provider, Outcome]:
    fake = HostileProvider(limits=True, trickle_every=1.0).start()
    folder = Path(tempfile.mkdtemp(prefix="sendwatch-chaos-"))
    settings = settings_for(fake, folder)
    store = SQLiteStore(settings.history_path())
    good_ids = {p: [str(uuid.uuid4()) for _ in range(n)] for p, n in good.items()}
    outcomes = {p: Outcome(n) for p, n in good.items()}
    refs = []
    for provider, ids in good_ids.items():
        if poison:
            for mode in (*POISON, "trickle"):
                bad = str(uuid.uuid4())
                fake.modes[bad] = mode
                refs.append(MessageRef(bad, provider))  # tracked first: asked first
            fake.wrong_id_for = ids[-1]
        refs += [MessageRef(i, provider) for i in ids]
    store.track(refs, now=time.time() - 1)
    wanted = {i: p for p, ids in good_ids.items() for i in ids}
    everyone = asyncio.Event()
    started = time.monotonic()

    def on_update(update: PollUpdate) -> None:
        provider = wanted.get(update.message_id)
        if provider is not None:
            outcomes[provider].first_answers.setdefault(
                update.message_id, time.monotonic() - started
            )
        if all(o.all_answered is not None for o in outcomes.values()):
            everyone.set()

    providers = Providers(settings)
    poller = Poller(
        store, providers, PollPolicy.from_settings(settings.polling), on_update=on_update
    )
    task = asyncio.ensure_future(poller.run())
    try:
        await asyncio.wait_for(everyone.wait(), timeout=BOUND)
    except TimeoutError:
        pass
    finally:
        poller.stop()
        await task
        await providers.aclose()
        store.close()
        fake.stop()
    for provider, outcome in outcomes.items():
        until = started + (outcome.all_answered or BOUND)
        asked = [a for a in fake.asked if a.provider is provider and a.at <= until]
        outcome.requests = len(asked)
        outcome.good_requests = sum(1 for a in asked if a.message_id in wanted)
        outcome.restarts = poller.loop_health[provider].restarts
    return outcomes


def table(clean: dict[Provider, Outcome], poison: dict[Provider, Outcome]) -> str:
    rows = [
        f"{'':10} {'run':7} {'good':>5} {'all first answers':>18} {'requests':>9} "
        f"{'on good':>8} {'restarts':>9}"
    ]
    for provider in clean:
        for name, run in (("clean", clean[provider]), ("poison", poison[provider])):
            done = run.all_answered
            rows.append(
                f"{provider.label:10} {name:7} {run.good:5d} "
                f"{(f'{done:.1f} s' if done is not None else 'not all'):>18} {run.requests:9d} "
                f"{run.good_share:8.1%} {run.restarts:9d}"
            )
        a, b = clean[provider].all_answered, poison[provider].all_answered
        if a and b:
            rows.append(f"{'':10} poison/clean time to every first answer: {b / a:.2f}")
    return "\n".join(rows)


async def main_async(sentdm: int, sendo: int, repeat: int) -> None:
    good = {Provider.SENTDM: sentdm, Provider.SENDO: sendo}
    print(
        f"Chaos: {sentdm} Sent.dm + {sendo} Sendo good messages at the real budgets; the poison run "
        f"adds {len(POISON) + 1} hostile messages per provider"
    )
    for round_ in range(1, repeat + 1):
        clean = await one_run(good, poison=False)
        poisoned = await one_run(good, poison=True)
        print(f"\nround {round_} of {repeat}")
        print(table(clean, poisoned), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (60 + 100 messages)")
    parser.add_argument("--sentdm", type=int, default=None, help="good Sent.dm messages (250)")
    parser.add_argument("--sendo", type=int, default=None, help="good Sendo messages (600)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (clean, then poison) to run")
    args = parser.parse_args()
    sentdm = args.sentdm if args.sentdm is not None else (60 if args.quick else 250)
    sendo = args.sendo if args.sendo is not None else (100 if args.quick else 600)
    asyncio.run(main_async(sentdm, sendo, args.repeat))


if __name__ == "__main__":
    main()
