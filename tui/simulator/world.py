"""The simulated world: messages whose status progresses over time, deterministic for a seed.

Each message carries a script of (offset, raw status) steps drawn once from the seeded RNG; its
status at any moment is read off that script, so the same seed and clock give the same answers no
matter how often, or in what order, a client asks. The clock can be advanced by tests.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tui.model import Provider

SENTDM_FAILURES = [
    ("30003", "Unreachable destination handset"),
    ("30005", "Unknown destination handset"),
    ("30007", "Message filtered by carrier"),
    ("30008", "Unknown carrier error"),
]
SENDO_FAILURES = [
    ("CARRIER_REJECTED", "Rejected by the destination carrier"),
    ("INVALID_NUMBER", "The destination number is not a mobile number"),
    ("BLOCKED", "Recipient has opted out"),
]
FIRST_NAMES = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Alan", "Radia"]
TEMPLATES = [
    ("Welcome Message", "UTILITY", "Welcome to our service, {name}! We're excited to have you."),
    ("Order Shipped", "UTILITY", "Hi {name}, your order #{n} has shipped and arrives Thursday."),
    ("Verification Code", "AUTHENTICATION", "Your verification code is {n}. It expires in 10 minutes."),
    ("Spring Sale", "MARKETING", "{name}, spring sale: 20% off everything until Sunday. Reply STOP to opt out."),
]


@dataclass
class SimMessage:
    id: str
    provider: Provider
    created: float  # world seconds
    steps: list[tuple[float, str]]  # (offset from created, raw status in the provider's vocabulary)
    to: str
    from_: str
    body: str
    channel: str = "sms"
    template: tuple[str, str, str] = ("", "", "")  # id, name, category
    campaign: str | None = None
    error: tuple[str, str] | None = None  # code, message, once failed
    metadata: dict[str, Any] = field(default_factory=dict)

    def visible_steps(self, now: float) -> list[tuple[float, str]]:
        """Steps that have happened by world time `now`, as (absolute time, status)."""
        return [(self.created + off, st) for off, st in self.steps if self.created + off <= now]

    def final_time(self) -> float:
        return self.created + self.steps[-1][0]


class SimWorld:
    """Thread-safe store of simulated messages and the world clock."""

    def __init__(self, seed: int = 0, *, time_scale: float = 1.0, epoch: float | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.time_scale = time_scale
        self.epoch = time.time() if epoch is None else epoch  # wall time of world t=0
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self._frozen: float | None = None
        self.lock = threading.RLock()
        self.messages: dict[str, SimMessage] = {}

    # -- clock ------------------------------------------------------------------------------
    def now(self) -> float:
        if self._frozen is not None:
            return self._frozen + self._offset
        return (time.monotonic() - self._mono0) * self.time_scale + self._offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self._offset += seconds

    def freeze(self, at: float | None = None) -> None:
        """Stop the clock (tests, screenshots) now or at world time `at`; `advance` still moves it."""
        with self.lock:
            self._frozen = (self.now() if at is None else at) - self._offset

    def wall(self, t: float) -> float:
        return self.epoch + t

    # -- messages ---------------------------------------------------------------------------
    def _new_id(self, provider: Provider) -> str:
        bits = self.rng.getrandbits(128)
        # Sent.dm's documented IDs look time-based (version 1); Sendo's are random (version 4).
        return str(uuid.UUID(int=bits, version=1 if provider is Provider.SENTDM else 4))

    def add_message(
        self,
        provider: Provider,
        steps: list[tuple[float, str]] | None = None,
        *,
        body: str | None = None,
        error: tuple[str, str] | None = None,
        channel: str = "sms",
        campaign: str | None = None,
        message_id: str | None = None,
        created: float | None = None,
    ) -> SimMessage:
        """Add one message; without `steps` a random realistic progression is drawn."""
        with self.lock:
            rng = self.rng
            n = rng.randrange(100000, 999999)
            name = rng.choice(FIRST_NAMES)
            template = rng.choice(TEMPLATES)
            if steps is None:
                steps, drawn_error = self._random_steps(provider, channel)
                error = error or drawn_error
            msg = SimMessage(
                id=(message_id or self._new_id(provider)).lower(),
                provider=provider,
                created=self.now() if created is None else created,
                steps=steps,
                to=f"+1{rng.randrange(2012000000, 9899999999)}",
                from_="+14155550100" if provider is Provider.SENTDM else "+14159436397",
                body=body if body is not None else template[2].format(name=name, n=n),
                channel=channel,
                template=(str(uuid.UUID(int=rng.getrandbits(128), version=1)), template[0], template[1]),
                campaign=campaign,
                error=error,
                metadata={"customId": str(n)},
            )
            self.messages[msg.id] = msg
            return msg

    def _random_steps(self, provider: Provider, channel: str) -> tuple[list[tuple[float, str]], tuple[str, str] | None]:
        rng = self.rng
        t = 0.0
        if provider is Provider.SENTDM:
            steps = [(0.0, "queued")]
            t += rng.uniform(0.5, 3); steps.append((t, "processed"))
        else:
            steps = [(0.0, "created")]
            t += rng.uniform(0.5, 3); steps.append((t, "queued"))
        t += rng.uniform(1, 15); steps.append((t, "sent"))
        roll = rng.random()
        error = None
        if roll < 0.08:
            t += rng.uniform(2, 60)
            if provider is Provider.SENTDM:
                error = rng.choice(SENTDM_FAILURES); steps.append((t, "failed"))
            else:
                error = rng.choice(SENDO_FAILURES)
                steps.append((t, "failed-after-too-many-attempts" if rng.random() < 0.3 else "failed"))
        elif roll < 0.12:
            pass  # no delivery report ever comes: stays "sent"
        else:
            t += rng.expovariate(1 / 20) + 2; steps.append((t, "delivered"))
            if channel == "whatsapp" and rng.random() < 0.6:
                t += rng.expovariate(1 / 60) + 5; steps.append((t, "read"))
            elif provider is Provider.SENDO and rng.random() < 0.1:
                t += rng.expovariate(1 / 60) + 5; steps.append((t, "opened"))
        return steps, error

    def add_campaign(self, count: int, *, name: str = "demo", spread: float = 60.0,
                     providers: tuple[Provider, ...] = (Provider.SENTDM, Provider.SENDO)) -> list[SimMessage]:
        """`count` messages created over `spread` world seconds from now, across `providers`."""
        with self.lock:
            start = self.now()
            out = []
            for i in range(count):
                provider = providers[i % len(providers)]
                channel = "whatsapp" if provider is Provider.SENTDM and self.rng.random() < 0.2 else "sms"
                out.append(self.add_message(provider, channel=channel, campaign=name,
                                            created=start + spread * i / max(1, count)))
            return out

    def get(self, message_id: str) -> SimMessage | None:
        with self.lock:
            msg = self.messages.get(message_id.lower())
            return msg if msg is not None and msg.created <= self.now() else None

    def status_changes_between(self, t0: float, t1: float) -> list[tuple[str, float, str]]:
        """(id, world time, status) of every step in (t0, t1]: the benchmark's ground truth."""
        with self.lock:
            return [
                (m.id, m.created + off, st)
                for m in self.messages.values()
                for off, st in m.steps
                if t0 < m.created + off <= t1
            ]
