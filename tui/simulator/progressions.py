"""Random but realistic progressions: the statuses a message goes through, and its failure.

The draws (their order and number) are part of every seeded world: changing them changes the
demo, the screenshots and the snapshot tests. New behaviour belongs behind an option.
"""

from __future__ import annotations

import random

from tui.simulator.catalog import SENDO_FAILURES, SENTDM_BLOCKED, SENTDM_FAILED, SENTDM_FILTERED

Steps = list[tuple[float, str]]
Drawn = tuple[Steps, tuple[str | int, str] | None]


def sentdm_steps(channel: str, rng: random.Random) -> Drawn:
    steps: Steps = [(0.0, "QUEUED")]
    roll = rng.random()
    t = rng.uniform(0.3, 2)
    if roll < 0.03:  # refused before sending: balance, sender not active
        steps.append((t, "BLOCKED"))
        return steps, rng.choice(SENTDM_BLOCKED)
    for st in rng.choice([["PROCESSED", "ROUTED"], ["PROCESSED"], ["ROUTED"]]):
        steps.append((t, st))
        t += rng.uniform(0.5, 3)
    if roll < 0.05:
        steps.append((t, "FILTERED"))
        return steps, rng.choice(SENTDM_FILTERED)
    skip_sent = channel == "sms" and steps[-1][1] == "ROUTED" and rng.random() < 0.15
    if not skip_sent:
        t += rng.uniform(1, 12)
        steps.append((t, "SENT"))
    if roll < 0.11:
        t += rng.uniform(2, 60)
        steps.append((t, "FAILED"))
        return steps, rng.choice(SENTDM_FAILED)
    if roll < 0.14 and not skip_sent:
        return steps, None  # no delivery report ever comes: stays SENT
    t += rng.expovariate(1 / 20) + 2
    steps.append((t, "DELIVERED"))
    if channel in ("whatsapp", "rcs") and rng.random() < 0.6:
        t += rng.expovariate(1 / 60) + 5
        steps.append((t, "READ"))
    return steps, None


def sendo_steps(channel: str, rng: random.Random) -> Drawn:
    t = rng.uniform(0.5, 3)
    steps: Steps = [(0.0, "CREATED"), (t, "QUEUED")]
    t += rng.uniform(1, 15)
    steps.append((t, "SENT"))
    roll = rng.random()
    if channel == "mms" and roll < 0.5:
        return steps, None  # MMS sometimes never leave SENT
    if roll < 0.08:
        t += rng.uniform(2, 60)
        code, text = rng.choice(SENDO_FAILURES)
        steps.append((t, "FAILED"))
        return steps, (int(code) if rng.random() < 0.5 else code, text)
    if roll < 0.10:
        t += rng.uniform(120, 600)
        steps.append((t, "EXPIRED"))
        return steps, None
    if roll < 0.13:
        return steps, None  # stuck in SENT ("almost always means it was delivered")
    t += rng.expovariate(1 / 20) + 2
    steps.append((t, "DELIVERED"))
    if (
        channel == "mms" and rng.random() < 0.3
    ):  # read receipts: MMS only (sendwatch rechecks just those)
        t += rng.expovariate(1 / 60) + 5
        steps.append((t, "READ"))
    return steps, None
