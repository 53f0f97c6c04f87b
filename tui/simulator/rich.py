"""The richer demo campaign (issue #18): what a real campaign's summary has to say something about.

Recipients in seven countries (valid E.164 mobile numbers; Sent.dm answers carry their
`region_code`), Sent.dm over SMS, WhatsApp and RCS with a `price` by country and channel,
Sendo over SMS and MMS (no price: `numSegments`, some messages two segments long), part of the
campaign settled hours ago and the rest still in flight, and ONE dominant failure cause: Sendo
messages to US numbers refused by the carrier with errorCode 1350, four failures in five.
Everything is drawn from its own seeded stream: a world with the option off is unchanged.
"""

from __future__ import annotations

import random
from typing import Any

import phonenumbers

from tui.model import Provider
from tui.simulator.catalog import SENDO_FAILURES, SENTDM_BLOCKED, SENTDM_FAILED, SENTDM_FILTERED
from tui.simulator.progressions import Steps
from tui.simulator.world import SimMessage, SimWorld

# region -> (share of recipients, Sent.dm SMS price, a mobile number's digits after the "+")
COUNTRIES: dict[str, tuple[float, float, str]] = {
    "US": (0.40, 0.0075, "1{area}{n:07d}"),
    "GB": (0.12, 0.0390, "447{n:09d}"),
    "DE": (0.10, 0.0850, "49151{n:08d}"),
    "FR": (0.10, 0.0720, "336{n:08d}"),
    "BR": (0.10, 0.0520, "55119{n:08d}"),
    "IN": (0.10, 0.0032, "9198{n:08d}"),
    "MX": (0.08, 0.0460, "5255{n:08d}"),
}
_US_AREAS = ("212", "312", "415", "512", "617", "206", "305", "702")
CHANNEL_PRICE = {"sms": 1.0, "whatsapp": 1.6, "rcs": 1.25}
DOMINANT = ("1350", "Rejected by the carrier")  # Sendo · US: the failure the summary leads with
DOMINANT_SHARE = 0.8  # of all the campaign's failures
SENDO_US_FAILING = 0.4  # share of Sendo messages to US numbers that fail with it
SETTLED = 0.6  # share of the campaign created hours ago (the rest: in the last two minutes)
LONG_TEXT = (
    "{name}, our spring sale starts today: 20% off everything in store and online until Sunday "
    "night, free delivery over $40, and a gift with every order over $80. Reply STOP to opt out."
)


def number(region: str, rng: random.Random) -> tuple[str, str]:
    """(E.164, international format) of a valid mobile-looking number in `region`."""
    pattern = COUNTRIES[region][2]
    for _ in range(100):
        digits = pattern.format(area=rng.choice(_US_AREAS), n=rng.randrange(10**9))
        digits = digits[: len(pattern.format(area="000", n=0))]
        parsed = phonenumbers.parse("+" + digits)
        if (
            phonenumbers.is_valid_number(parsed)
            and phonenumbers.region_code_for_number(parsed) == region
        ):
            formatted = phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            return "+" + digits, formatted
    raise RuntimeError(f"no valid {region} number drawn")  # the patterns above always yield


def _region(rng: random.Random) -> str:
    return rng.choices(list(COUNTRIES), weights=[c[0] for c in COUNTRIES.values()])[0]


def _delivered(provider: Provider, channel: str, rng: random.Random) -> Steps:
    if provider is Provider.SENDO:
        t = rng.uniform(0.5, 3)
        steps: Steps = [(0.0, "CREATED"), (t, "QUEUED"), (t + rng.uniform(1, 15), "SENT")]
        if rng.random() < 0.06:
            return steps  # no receipt ever comes
        steps.append((steps[-1][0] + rng.expovariate(1 / 20) + 2, "DELIVERED"))
        if channel == "mms" and rng.random() < 0.3:
            steps.append((steps[-1][0] + rng.expovariate(1 / 60) + 5, "READ"))
        return steps
    t = rng.uniform(0.3, 2)
    steps = [(0.0, "QUEUED"), (t, "PROCESSED"), (t + rng.uniform(0.5, 3), "ROUTED")]
    steps.append((steps[-1][0] + rng.uniform(1, 12), "SENT"))
    steps.append((steps[-1][0] + rng.expovariate(1 / 20) + 2, "DELIVERED"))
    if channel in ("whatsapp", "rcs") and rng.random() < 0.6:
        steps.append((steps[-1][0] + rng.expovariate(1 / 60) + 5, "READ"))
    return steps


def _failed(
    provider: Provider, rng: random.Random, error: tuple[str, str] | None = None
) -> tuple[Steps, tuple[str, str]]:
    if provider is Provider.SENDO:
        t = rng.uniform(0.5, 3)
        sent = t + rng.uniform(1, 15)
        failure = error or rng.choice([f for f in SENDO_FAILURES if f[0] != DOMINANT[0]])
        steps = [(0.0, "CREATED"), (t, "QUEUED"), (sent, "SENT")]
        return steps + [(sent + rng.uniform(2, 60), "FAILED")], failure
    kind = rng.choice(("BLOCKED", "FILTERED", "FAILED", "FAILED"))
    if kind == "BLOCKED":
        return [(0.0, "QUEUED"), (rng.uniform(0.3, 2), "BLOCKED")], rng.choice(SENTDM_BLOCKED)
    t = rng.uniform(0.3, 2)
    if kind == "FILTERED":
        return [(0.0, "QUEUED"), (t, "PROCESSED"), (t + 2, "FILTERED")], SENTDM_FILTERED[0]
    steps = [(0.0, "QUEUED"), (t, "PROCESSED"), (t + rng.uniform(1, 12), "SENT")]
    return steps + [(steps[-1][0] + rng.uniform(2, 60), "FAILED")], rng.choice(SENTDM_FAILED)


def add_rich_campaign(
    world: SimWorld, count: int, *, name: str = "spring-sale"
) -> list[SimMessage]:
    """`count` messages of campaign `name`, as the module's docstring describes."""
    rng = random.Random(f"{world.seed}-rich")
    plan = []
    for i in range(count):
        provider = Provider.SENTDM if i % 2 == 0 else Provider.SENDO
        roll = rng.random()
        if provider is Provider.SENTDM:
            channel = "sms" if roll < 0.6 else "whatsapp" if roll < 0.85 else "rcs"
        else:
            channel = "mms" if roll < 0.1 else "sms"
        plan.append((provider, channel, _region(rng)))
    sendo_us = [i for i, (p, _, r) in enumerate(plan) if p is Provider.SENDO and r == "US"]
    dominant = set(rng.sample(sendo_us, round(SENDO_US_FAILING * len(sendo_us))))
    others = [i for i in range(count) if i not in set(sendo_us)]
    n_other = round(len(dominant) * (1 - DOMINANT_SHARE) / DOMINANT_SHARE)
    other_failures = set(rng.sample(others, min(len(others), n_other)))
    now = world.now()
    out = []
    for i, (provider, channel, region) in enumerate(plan):
        error: tuple[str, str] | None = None
        if i in dominant:
            steps, error = _failed(provider, rng, DOMINANT)
        elif i in other_failures:
            steps, error = _failed(provider, rng)
        else:
            steps = _delivered(provider, channel, rng)
        settled = rng.random() < SETTLED
        created = now - rng.uniform(600, 6 * 3600) if settled else now - rng.uniform(0, 120)
        to, international = number(region, rng)
        extra: dict[str, Any] = {}
        if provider is Provider.SENTDM:
            price = COUNTRIES[region][1] * CHANNEL_PRICE[channel]
            blocked = steps[-1][1] in ("BLOCKED", "FILTERED")
            extra = {"price": 0.0 if blocked else round(price, 4), "region": region}
            extra["phone_international"] = international
        elif channel == "sms" and rng.random() < 0.25:
            extra["body"] = LONG_TEXT.format(name=rng.choice(("Ada", "Grace", "Alan")))
        msg = world.add_message(
            provider,
            steps,
            error=error,
            channel=channel,
            campaign=name,
            created=created,
            to=to,
            rng=rng,
            **extra,
        )
        out.append(msg)
    return out
