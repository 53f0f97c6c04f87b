"""Webhooks vs polling: the same 10,000-message Sent.dm campaign settled two ways, on a simulated clock.

* polling:  sendwatch's scheduler alone (the real `PollPolicy`) at Sent.dm's 200 requests/minute;
* webhooks: every status change pushed (latency drawn per event, a share of events lost for good),
            with polling as the safety net — each message not final is checked every 15 minutes,
            and a message whose final event was lost is found by that check.

Progressions come from the simulator's own seeded world (`SimWorld`), so both modes watch the same
messages. The clock is simulated (a 10,000-message campaign takes hours to poll), but each decision
is the real policy's: this measures the scheduler, not the network. Detection lag is, per status a
message reached, the time from reaching it to sendwatch knowing of it.

Run: .venv/bin/python -m benchmarks.bench_webhooks [--quick]
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import time
from dataclasses import dataclass, field

from tui.model import Provider, Status, normalize_status
from tui.polling.policy import PollPolicy
from tui.simulator.world import SimMessage, SimWorld

SAFETY_NET = 900.0  # seconds between checks of a pushed, not-final message


@dataclass
class Outcome:
    name: str
    requests: int = 0
    lags: list[float] = field(default_factory=list)
    missed: int = 0  # statuses never known by the horizon
    settled_at: float = 0.0  # when the last final status became known

    def pct(self, p: float) -> float:
        if not self.lags:
            return float("nan")
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class Bucket:
    """The provider's token bucket on the simulated clock."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate, self.burst, self.tokens, self.t = per_minute / 60.0, burst, float(burst), 0.0

    def next_free(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
        self.t = now
        return now if self.tokens >= 1 else now + (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.next_free(now)
        self.tokens -= 1


def campaign(seed: int, count: int, spread: float) -> list[SimMessage]:
    world = SimWorld(seed)
    world.freeze(at=0.0)
    return world.add_campaign(count, name="bench", spread=spread, providers=(Provider.SENTDM,))


def status_at(msg: SimMessage, t: float) -> tuple[int, str]:
    """Index of the last step reached by `t` (-1: not created yet) and its status word."""
    index, word = -1, ""
    for i, (off, st) in enumerate(msg.steps):
        if msg.created + off <= t:
            index, word = i, st
    return index, word


def simulate(
    msgs: list[SimMessage],
    *,
    per_minute: float,
    horizon: float,
    pushes: bool,
    loss: float,
    seed: int,
) -> Outcome:
    """One run; `pushes` delivers each step by webhook (some lost) and keeps polling as a safety net."""
    policy = PollPolicy()
    rng = random.Random(seed)
    out = Outcome("webhooks + safety net" if pushes else "polling only")
    bucket = Bucket(per_minute, 50)
    known = {m.id: -1 for m in msgs}  # index of the last step known to sendwatch
    changed = {m.id: m.created for m in msgs}
    final_known = set()
    by_id = {m.id: m for m in msgs}
    due: list[tuple[float, str]] = []  # (next poll, id)
    events: list[tuple[float, str, int]] = []  # (arrival, id, step index) of pushed events

    def learn(mid: str, index: int, at: float) -> None:
        msg = by_id[mid]
        for i in range(known[mid] + 1, index + 1):
            out.lags.append(max(0.0, at - (msg.created + msg.steps[i][0])))
        if index > known[mid]:
            known[mid], changed[mid] = index, at
            if normalize_status(msg.steps[index][1]).is_final or _settled(msg, index):
                final_known.add(mid)
                out.settled_at = max(out.settled_at, at)

    for m in msgs:
        if pushes:
            for i, (off, _) in enumerate(m.steps):
                if rng.random() >= loss:
                    events.append((m.created + off + rng.lognormvariate(-1.0, 0.8), m.id, i))
            heapq.heappush(due, (m.created + SAFETY_NET, m.id))
        else:
            heapq.heappush(due, (m.created, m.id))  # tracked at send: first poll at once
    events.sort()
    e = 0
    now = 0.0
    while now < horizon and (due or e < len(events)):
        next_poll = max(due[0][0], bucket.next_free(due[0][0])) if due else float("inf")
        next_push = events[e][0] if e < len(events) else float("inf")
        if next_push <= next_poll:
            now, (at, mid, index) = next_push, events[e]
            e += 1
            if index > known[mid]:
                learn(mid, index, at)
            continue
        now = next_poll
        if now >= horizon:
            break
        _, mid = heapq.heappop(due)
        if mid in final_known:
            continue  # already final: never asked again
        bucket.take(now)
        out.requests += 1
        msg = by_id[mid]
        index, word = status_at(msg, now)
        learn(mid, index, now)
        if mid in final_known:
            continue
        status = normalize_status(word)
        when = policy.next_poll(
            status,
            now=now,
            last_changed=changed[mid],
            first_seen=msg.created,
            provider=Provider.SENTDM,
            channel=msg.channel,
            created=msg.created,
        )
        if when is not None:  # pushed: the policy's interval, but no sooner than the safety net's
            heapq.heappush(due, (now + max(SAFETY_NET, when - now) if pushes else when, mid))
    out.missed = sum(len(m.steps) - 1 - known[m.id] for m in msgs)
    return out


def _settled(msg: SimMessage, index: int) -> bool:
    """A delivered SMS is final at Sent.dm (no read receipt can follow)."""
    return normalize_status(msg.steps[index][1]) is Status.DELIVERED and msg.channel == "sms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument(
        "--rate", type=float, default=200.0, help="requests per minute (Sent.dm: 200)"
    )
    parser.add_argument(
        "--loss", type=float, default=0.01, help="share of webhook events lost for good"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1,000 messages")
    args = parser.parse_args()
    count = 1_000 if args.quick else args.count
    msgs = campaign(args.seed, count, spread=60.0)
    horizon = 6 * 3600.0
    results = []
    for pushes in (False, True):
        started = time.perf_counter()
        result = simulate(
            msgs,
            per_minute=args.rate,
            horizon=horizon,
            pushes=pushes,
            loss=args.loss,
            seed=args.seed,
        )
        results.append((result, time.perf_counter() - started))
    steps = sum(len(m.steps) - 1 for m in msgs)
    print(
        f"{count:,} Sent.dm messages sent within 60 s, {steps:,} status changes; budget {args.rate:.0f} requests/min; "
        f"webhook loss {args.loss:.0%}; simulated clock, horizon 6 h"
    )
    print(
        f"{'mode':<24}{'requests':>10}{'lag p50':>10}{'lag p95':>10}{'lag max':>10}{'all final known':>17}{'missed':>8}"
    )
    for r, _ in results:
        print(
            f"{r.name:<24}{r.requests:>10,}{_t(r.pct(50)):>10}{_t(r.pct(95)):>10}{_t(max(r.lags, default=0)):>10}"
            f"{_t(r.settled_at):>17}{r.missed:>8}"
        )
    polling, pushed = results[0][0], results[1][0]
    if pushed.requests:
        print(
            f"webhooks spend {polling.requests / pushed.requests:.1f}x fewer requests; "
            f"p95 lag {polling.pct(95) / max(pushed.pct(95), 1e-9):.0f}x shorter"
        )
    print(
        f"(median of lags: polling {statistics.median(polling.lags):.1f} s, webhooks {statistics.median(pushed.lags):.2f} s)"
    )


def _t(seconds: float) -> str:
    if seconds != seconds:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


if __name__ == "__main__":
    main()
