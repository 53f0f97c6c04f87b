"""Polling benchmark: sendwatch's scheduler against a fixed-interval loop over every ID.

Two scenarios, each watched twice through its own simulator at the same time (the same seeded
world, so the same truth), at the same budget:
  * policy: sendwatch's poller (store, scheduler, budget), as the dashboard runs it;
  * naive:  what `watch` + `curl` does: GET every ID in turn, forever, paced at the budget.

1. "campaign": N Sent.dm messages sent at once at R requests/second (detection lag, waste).
2. "real rate": Sent.dm at its documented 200/minute (burst 50) and Sendo at 20/s, a campaign with
   BLOCKED/FILTERED/FAILED/CANCELLED (Sent.dm) and FAILED/EXPIRED (Sendo) messages, and a screen of
   40 Sent.dm rows plus a selected one (issue 8). It counts requests spent on a message after an
   answer already showed it final (must be 0), and the slowest first answer against N / rate.

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
from tui.polling.policy import PollPolicy
from tui.polling.poller import Poller
from tui.providers.lookup import Providers
from tui.services.demo import demo_settings
from tui.simulator import SENDO_KEY, SENTDM_KEY, SimConfig, Simulator, SimWorld
from tui.store import SQLiteStore

FINAL = {"delivered", "read", "failed"}


@dataclass
class Run:
    name: str
    seen: dict[tuple[str, str], float] = field(
        default_factory=dict
    )  # (id, status) -> first wall time seen
    requests: list[tuple[float, str, int]] = field(
        default_factory=list
    )  # (wall time, id, http status)
    duration: float = 0.0
    ended: float = 0.0  # wall time the run stopped: ground truth after it does not count


async def poll_for(poller: Poller, providers: Providers, seconds: float) -> tuple[float, float]:
    """Run the real poller for `seconds`; (how long it ran, wall time it stopped)."""
    started = time.monotonic()
    task = asyncio.ensure_future(poller.run())
    await asyncio.sleep(seconds)
    poller.stop()
    await task
    await providers.aclose()
    return time.monotonic() - started, time.time()


def campaign(seed: int, count: int) -> tuple[SimWorld, list[str]]:
    world = SimWorld(seed)
    msgs = [world.add_message(Provider.SENTDM, created=0.0) for _ in range(count)]
    world.epoch = time.time() - world.now()  # world t=0 is "now": the send just happened
    return world, [m.id for m in msgs]


def start_sim(world: SimWorld, rate: float) -> Simulator:
    return Simulator(world, SimConfig(sentdm_per_minute=rate * 60, sentdm_burst=int(rate))).start()


async def run_policy(
    seed: int, count: int, rate: float, seconds: float
) -> tuple[Run, SimWorld, Simulator]:
    world, ids = campaign(seed, count)
    sim = start_sim(world, rate)
    tmp = Path(tempfile.mkdtemp(prefix="sendwatch-bench-"))
    settings = demo_settings(sim, tmp / "h.sqlite3")
    settings = replace(
        settings,
        sentdm=replace(
            settings.sentdm, requests_per_minute=rate * 60, burst=int(rate), concurrency=8
        ),
        sendo=replace(settings.sendo, api_key=settings.sendo.api_key.__class__("")),
    )
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(i, Provider.SENTDM) for i in ids])
    providers = Providers(settings)
    poller = Poller(store, providers, PollPolicy.from_settings(settings.polling))
    duration, ended = await poll_for(poller, providers, seconds)
    run = Run("policy", duration=duration, ended=ended)
    for mid, status, ts in store._read(
        "SELECT message_id, status, ts FROM events WHERE source = 'observed'"
    ):
        run.seen.setdefault((mid, status), ts)
    run.requests = [(r.at, r.message_id, r.status) for r in sim.records]
    sim.stop()
    return run, world, sim


async def run_naive(
    seed: int, count: int, rate: float, seconds: float
) -> tuple[Run, SimWorld, Simulator]:
    world, ids = campaign(seed, count)
    sim = start_sim(world, rate)
    run = Run("naive")
    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers={"x-api-key": SENTDM_KEY}
    ) as client:
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
        steps = [
            (world.wall(msg.created + off), normalize_status(st).value) for off, st in msg.steps
        ]
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
    final_seen_at = {
        mid: min(t for (m, st), t in run.seen.items() if m == mid and st in FINAL)
        for mid in {m for (m, st) in run.seen if st in FINAL}
    }
    wasted = sum(
        1
        for at, mid, status in run.requests
        if mid in final_seen_at and at > final_seen_at[mid] + 0.01
    )
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
        "requests until 95% finals seen": sum(
            1 for r in run.requests if t95 is not None and r[0] <= t95
        )
        if t95
        else float("nan"),
        "seconds until 95% finals seen": (t95 - start) if t95 else float("nan"),
        "answered (200)": len(answered),
        "429 answers": sum(1 for r in run.requests if r[2] == 429),
        "requests after final was seen": wasted,
        "rate while backlogged (req/s)": len(window) / window_len
        if window_len > 0
        else float("nan"),
        "  as share of budget": len(window) / window_len / rate if window_len > 0 else float("nan"),
        "final states reached": len(truth_final),
        "final states detected": len(lags_final),
        "final detection lag p50 (s)": pct(lags_final, 0.5),
        "final detection lag p95 (s)": pct(lags_final, 0.95),
        "any change lag p95 (s)": pct(lags_all, 0.95),
        "final lag within policy interval": sum(within) / len(within) if within else float("nan"),
        "requests per final detected": len(run.requests) / max(1, len(lags_final)),
    }


# -- 2. the real rate ------------------------------------------------------------------------------
SENTDM_RATE = 200 / 60  # Sent.dm's documented 200 requests/minute
SENDO_RATE = 20.0  # Sendo's documented 20 requests/second
SCREEN_ROWS = 40


def real_world(seed: int, n_sentdm: int, n_sendo: int) -> SimWorld:
    """A mixed campaign sent at t=0: random progressions (which include BLOCKED, FILTERED, FAILED,
    EXPIRED), plus scripted CANCELLED, BLOCKED, FILTERED and early EXPIRED messages."""
    world = SimWorld(seed)
    for i in range(n_sentdm):
        channel = "whatsapp" if i % 10 == 3 else "sms"
        if i % 25 == 5:
            world.add_message(
                Provider.SENTDM, [(0.0, "SCHEDULED"), (4.0, "CANCELLED")], created=0.0
            )
        elif i % 25 == 6:
            world.add_message(
                Provider.SENTDM,
                [(0.0, "QUEUED"), (1.0, "BLOCKED")],
                error=("BUSINESS_003", "Insufficient balance"),
                created=0.0,
            )
        elif i % 25 == 7:
            world.add_message(
                Provider.SENTDM,
                [(0.0, "QUEUED"), (1.0, "PROCESSED"), (3.0, "FILTERED")],
                created=0.0,
            )
        else:
            world.add_message(Provider.SENTDM, channel=channel, created=0.0)
    for i in range(n_sendo):
        if i % 10 == 4:
            world.add_message(
                Provider.SENDO,
                [(0.0, "CREATED"), (1.0, "QUEUED"), (3.0, "SENT"), (20.0, "EXPIRED")],
                created=0.0,
            )
        else:
            world.add_message(Provider.SENDO, channel="mms" if i % 20 == 9 else "sms", created=0.0)
    world.epoch = time.time() - world.now()
    return world


def real_sim(world: SimWorld) -> Simulator:
    return Simulator(world, SimConfig(sentdm_per_minute=200.0, sentdm_burst=50)).start()


def screen_of(world: SimWorld) -> tuple[str, list[str]]:
    """The newest 40 Sent.dm rows are on screen (the list is newest first); the first is selected."""
    ids = [m.id for m in world.messages.values() if m.provider is Provider.SENTDM][-SCREEN_ROWS:][
        ::-1
    ]
    return ids[0], ids


async def real_policy(
    seed: int, sizes: tuple[int, int], seconds: float
) -> tuple[Run, SimWorld, Simulator, Poller]:
    world = real_world(seed, *sizes)
    sim = real_sim(world)
    tmp = Path(tempfile.mkdtemp(prefix="sendwatch-bench-"))
    settings = demo_settings(sim, tmp / "h.sqlite3")  # the shipped defaults: 200/min burst 50, 20/s
    store = SQLiteStore(settings.history_path())
    store.track([MessageRef(m.id, m.provider) for m in world.messages.values()], campaign="bench")
    providers = Providers(settings)
    poller = Poller(store, providers, PollPolicy.from_settings(settings.polling))
    selected, visible = screen_of(world)
    await poller.set_focus(selected, visible)
    run = Run("policy")
    run.duration, run.ended = await poll_for(poller, providers, seconds)
    run.requests = [(r.at, r.message_id, r.status) for r in sim.records]
    sim.stop()
    return run, world, sim, poller


async def real_naive(
    seed: int, sizes: tuple[int, int], seconds: float
) -> tuple[Run, SimWorld, Simulator]:
    """One fixed-interval loop per provider, each paced at that provider's documented rate."""
    world = real_world(seed, *sizes)
    sim = real_sim(world)
    run = Run("naive")
    started = time.monotonic()

    async def loop(provider: Provider, rate: float, path: str, headers: dict[str, str]) -> None:
        ids = [m.id for m in world.messages.values() if m.provider is provider]
        async with httpx.AsyncClient(base_url=sim.base_url, headers=headers) as client:
            index = 0
            while time.monotonic() - started < seconds:
                t0 = time.monotonic()
                await client.get(path.format(ids[index % len(ids)]))
                index += 1
                await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - t0)))

    await asyncio.gather(
        loop(Provider.SENTDM, SENTDM_RATE, "/v3/messages/{}", {"x-api-key": SENTDM_KEY}),
        loop(
            Provider.SENDO, SENDO_RATE, "/v1/message/{}", {"authorization": f"Bearer {SENDO_KEY}"}
        ),
    )
    run.duration, run.ended = time.monotonic() - started, time.time()
    run.requests = [(r.at, r.message_id, r.status) for r in sim.records]
    sim.stop()
    return run, world, sim


def is_final(world: SimWorld, message_id: str, at: float) -> tuple[bool, str]:
    """Was this message in a final status (by the providers' rules) at wall time `at`?"""
    msg = world.messages[message_id]
    seen = msg.visible_steps(world.world_time(at))
    word = seen[-1][1] if seen else "QUEUED"
    final = not PollPolicy().can_still_change(
        normalize_status(word), msg.provider, msg.channel, 0.0
    )
    return final, word


def analyse_real(
    run: Run, world: SimWorld, seconds: float, poller: Poller | None = None
) -> dict[str, float]:
    start = world.wall(0.0)
    by_id: dict[str, list[tuple[float, int]]] = {}
    for at, mid, status in sorted(run.requests):
        by_id.setdefault(mid, []).append((at, status))
    wasted = 0
    finals_by_word: dict[str, int] = {}
    first_answer: dict[Provider, list[float]] = {Provider.SENTDM: [], Provider.SENDO: []}
    for mid, reqs in by_id.items():
        if mid not in world.messages:
            continue
        answered_final = False
        for at, status in reqs:
            if answered_final:
                wasted += 1
            elif status == 200:
                final, word = is_final(world, mid, at)
                if final:
                    answered_final = True
                    finals_by_word[word] = finals_by_word.get(word, 0) + 1
        answers = [at for at, status in reqs if status == 200]
        if answers:
            first_answer[world.messages[mid].provider].append(answers[0] - start)
    n = {p: sum(1 for m in world.messages.values() if m.provider is p) for p in first_answer}
    never = {p: n[p] - len(first_answer[p]) for p in first_answer}
    reached = sum(1 for m in world.messages.values() if is_final(world, m.id, run.ended)[0])
    sentdm_requests = sum(
        1
        for _, mid, _ in run.requests
        if mid in world.messages and world.messages[mid].provider is Provider.SENTDM
    )
    out: dict[str, float] = {
        "Sent.dm requests": sentdm_requests,
        "Sendo requests": len(run.requests) - sentdm_requests,
        "429 answers": sum(1 for r in run.requests if r[2] == 429),
        "requests after a final answer": wasted,
        "final states reached": reached,
        "final states answered": sum(finals_by_word.values()),
        "  of which BLOCKED/FILTERED/EXPIRED/CANCELLED": sum(
            finals_by_word.get(w, 0) for w in ("BLOCKED", "FILTERED", "EXPIRED", "CANCELLED")
        ),
        "Sent.dm never asked at the end": never[Provider.SENTDM],
        "Sent.dm first answer max (s)": max(first_answer[Provider.SENTDM], default=float("nan"))
        if not never[Provider.SENTDM]
        else float("inf"),
        "Sent.dm first answer p95 (s)": pct(first_answer[Provider.SENTDM], 0.95),
        "  N / rate (s)": n[Provider.SENTDM] / SENTDM_RATE,
        "Sendo first answer max (s)": max(first_answer[Provider.SENDO], default=float("nan"))
        if not never[Provider.SENDO]
        else float("inf"),
        "  N / rate (s) ": n[Provider.SENDO] / SENDO_RATE,
    }
    stats = poller.stats.get(Provider.SENTDM) if poller else None
    out["Sent.dm share spent on the screen"] = (
        stats.screen / stats.requests if stats and stats.requests else float("nan")
    )
    return out


def run_real_rate(quick: bool) -> None:
    sizes, seconds = ((100, 200), 60.0) if quick else ((300, 600), 150.0)
    print(
        f"2. Real rate: {sizes[0]} Sent.dm messages at 200/min (burst 50) and {sizes[1]} Sendo at 20/s, sent at t=0;"
    )
    print(
        f"   {SCREEN_ROWS} Sent.dm rows on screen (one selected); watched for {seconds:g} s by both at once\n"
    )

    async def both():
        return await asyncio.gather(real_policy(7, sizes, seconds), real_naive(7, sizes, seconds))

    (policy_run, world_p, _, poller), (naive_run, world_n, _) = asyncio.run(both())
    print_table(
        analyse_real(policy_run, world_p, seconds, poller),
        analyse_real(naive_run, world_n, seconds),
    )
    print(
        "\n'requests after a final answer': requests for a message after an answer had already shown it final"
    )
    print(
        "(failed in any word, cancelled, read, delivered where no read can follow). 'first answer': seconds from"
    )
    print(
        "the send to the first answer for that message; a fixed loop needs N / rate for its first pass."
    )


async def side_by_side(policy_run, naive_run):
    """Both watchers at once, each against its own simulator: the same minutes of machine noise."""
    return await asyncio.gather(policy_run, naive_run)


def print_table(a: dict[str, float], b: dict[str, float]) -> None:
    print(f"{'measure':<44}{'sendwatch':>12}{'naive loop':>12}")
    for key in a:
        fa, fb = a[key], b[key]
        fmt = (lambda v: f"{v:>12.0f}") if isinstance(fa, int) else (lambda v: f"{v:>12.2f}")
        print(f"{key:<44}{fmt(fa)}{fmt(fb)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["campaign", "real"], default=None)
    args = parser.parse_args()
    if args.only != "real":
        count, rate, seconds = (200, 10.0, 45.0) if args.quick else (800, 25.0, 120.0)
        seed = 11
        print(
            f"1. Campaign: {count} Sent.dm messages sent at t=0; budget {rate:g} req/s; watched for {seconds:g} s by both at once\n"
        )
        (policy_run, world_p, _), (naive_run, world_n, _) = asyncio.run(
            side_by_side(
                run_policy(seed, count, rate, seconds), run_naive(seed, count, rate, seconds)
            )
        )
        policy = PollPolicy()
        print_table(
            analyse(policy_run, world_p, rate, policy), analyse(naive_run, world_n, rate, policy)
        )
        print(
            "\n'final lag within policy interval' is the share of final-state detections that came no later than the"
        )
        print(
            "policy's own interval for that message (plus one request slot), i.e. the detection-lag target.\n"
        )
    if args.only != "campaign":
        run_real_rate(quick=args.quick)


if __name__ == "__main__":
    main()
