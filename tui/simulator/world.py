"""The simulated world: messages whose status progresses over time, deterministic for a seed.

Each message carries a script of (offset, STATUS) steps drawn once from the seeded RNG; its status
at any moment is read off that script, so the same seed and clock give the same answers no matter
how often, or in what order, a client asks. The clock can be frozen and advanced by tests.
Statuses are stored as the providers send them today (upper case, docs/providers.md).
Actions (resend, cancel: lifecycle.py) rewrite a script from the present on, never its past.
Later features (hostile messages, resends, the rich campaign) draw from streams of their own,
so a seeded world built without them answers exactly as it always did.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tui.model import Provider
from tui.simulator.catalog import (
    FIRST_NAMES,
    RESEND_OUTCOMES,
    SENDO_FROM,
    SENTDM_FROM,
    SENTDM_PRICES,
    TEMPLATES,
    canon_status,
)
from tui.simulator.progressions import Steps, sendo_steps, sentdm_steps

Error = tuple[str, str]


@dataclass(frozen=True)
class AttemptRecord:
    """One delivery attempt of a resent message: where its steps start, its failure, its price."""

    first_step: int
    error: Error | None
    price: float | None


DEFAULT_SENDO_CAMPAIGN = "U7fQ3123"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass
class SimMessage:
    id: str
    provider: Provider
    created: float  # world seconds
    steps: Steps  # (offset from created, STATUS in the provider's vocabulary)
    to: str
    from_: str
    body: str
    channel: str = "sms"  # Sent.dm: sms|whatsapp|rcs|mms; Sendo: sms|mms
    template: tuple[str, str, str] = ("", "", "")  # id, name, category
    campaign: str | None = None
    error: tuple[str, str] | None = None  # Sent.dm reason_code/reason, Sendo errorCode/errorMessage
    metadata: dict[str, Any] = field(default_factory=dict)
    direction: str = "OUTBOUND"
    scheduled_at: float | None = None  # world time a held (scheduled) message is released
    legacy_reason: bool = (
        False  # Sent.dm: an older message with its code only in the event description
    )
    numeric_code: bool = False  # Sendo: errorCode as a JSON number instead of a string
    price: float | None = None
    header: str | None = None
    footer: str | None = None
    buttons: list[dict[str, Any]] | None = None
    header_media: dict[str, Any] | None = None
    media: list[dict[str, Any]] | None = (
        None  # Sent.dm message_body.media; Sendo mediaUrls come from it
    )
    subject: str | None = None
    region: str | None = None  # Sent.dm region_code (None: "US", the simulator's usual numbers)
    phone_international: str | None = None  # Sent.dm's display form (None: a US rendering)
    account: str | None = None  # owning account id (accounts.py); None: the default family
    hostile: str | None = None  # a poison answer kind (hostile.py); None: answered normally
    hostile_options: dict[str, Any] = field(default_factory=dict)
    # Sent.dm resends (lifecycle.py): every attempt once the message was resent, oldest first;
    # empty while it has had one attempt, whose failure and price are `error` and `price`.
    attempts: list[AttemptRecord] = field(default_factory=list)

    def visible_steps(self, now: float) -> Steps:
        """Steps that have happened by world time `now`, as (absolute time, status)."""
        return [(self.created + off, st) for off, st in self.steps if self.created + off <= now]

    def status_at(self, now: float) -> tuple[float, str]:
        """(when, STATUS) of the last step reached by world time `now` (the first before it)."""
        seen = self.visible_steps(now)
        return seen[-1] if seen else (self.created, self.steps[0][1])

    def attempt_of(self, step: int) -> tuple[Error | None, float | None]:
        """The failure and price of the attempt the step at index `step` belongs to."""
        for attempt in reversed(self.attempts):
            if attempt.first_step <= step:
                return attempt.error, attempt.price
        return self.error, self.price

    def step_index(self, at: float, status: str) -> int:
        """Index of the (last) step reached at world time `at` with `status` (-1: none)."""
        for i in range(len(self.steps) - 1, -1, -1):
            off, st = self.steps[i]
            if st == status and abs(self.created + off - at) < 1e-9:
                return i
        return -1

    @property
    def media_urls(self) -> list[str]:
        return [m["url"] for m in self.media or [] if m.get("url")]


def campaign_id(name: str | None) -> str:
    """Sendo's campaign ID for a world campaign: 8 characters, stable for the name."""
    if not name:
        return DEFAULT_SENDO_CAMPAIGN
    if len(name) == 8 and name.isalnum():
        return name
    n = int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big")
    return "".join(_B62[(n >> (6 * i)) % 62] for i in range(8))


class SimWorld:
    """Thread-safe store of simulated messages and the world clock."""

    def __init__(
        self, seed: int = 0, *, time_scale: float = 1.0, epoch: float | None = None
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.time_scale = time_scale
        self.epoch = time.time() if epoch is None else epoch  # wall time of world t=0
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self._frozen: float | None = None
        self.lock = threading.RLock()
        self.messages: dict[str, SimMessage] = {}
        # New features draw from here, never from `rng`: seeded worlds stay what they were.
        self.extra_rng = random.Random(f"{seed}-extra")
        self.resend_rng = random.Random(f"{seed}-resend")
        self.resend_plans: dict[str, list[tuple[Steps, Error | None]]] = {}

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

    def world_time(self, wall: float) -> float:
        return wall - self.epoch

    # -- messages ---------------------------------------------------------------------------
    def new_id(self, provider: Provider, rng: random.Random | None = None) -> str:
        bits = (rng or self.rng).getrandbits(128)
        # Sent.dm's documented IDs look time-based (version 1); Sendo's are random (version 4).
        return str(uuid.UUID(int=bits, version=1 if provider is Provider.SENTDM else 4))

    def add_message(
        self,
        provider: Provider,
        steps: Steps | None = None,
        *,
        body: str | None = None,
        error: tuple[str | int, str] | None = None,
        channel: str = "sms",
        campaign: str | None = None,
        message_id: str | None = None,
        created: float | None = None,
        to: str | None = None,
        rng: random.Random | None = None,
        **extra: Any,
    ) -> SimMessage:
        """Add one message; without `steps` a random realistic progression is drawn.

        `error` is Sent.dm's (reason_code, reason) or Sendo's (errorCode, errorMessage); an int
        Sendo code is answered as a JSON number. `extra` sets any other `SimMessage` field.
        `rng` draws this message's id, text and progression from another stream than the
        world's own, so new features leave every seeded world's existing messages unchanged.
        """
        with self.lock:
            rng = rng or self.rng
            n = rng.randrange(100000, 999999)
            name = rng.choice(FIRST_NAMES)
            template = rng.choice(TEMPLATES)
            to_number = f"+1{rng.randrange(2012000000, 9899999999)}"
            if steps is None:
                steps, drawn = self.random_steps(provider, channel, rng)
                error = error or drawn
            steps = [(float(off), canon_status(provider, st)) for off, st in steps]
            numeric = isinstance(error[0], int) if error else False
            if error is not None:
                error = (str(error[0]), error[1])
            msg = SimMessage(
                id=(message_id or self.new_id(provider, rng)).lower(),
                provider=provider,
                created=self.now() if created is None else created,
                steps=steps,
                to=to or to_number,
                from_=SENTDM_FROM if provider is Provider.SENTDM else SENDO_FROM,
                body=body if body is not None else template[3].format(name=name, n=n),
                channel=channel,
                template=(template[0], template[1], template[2]),
                campaign=campaign,
                error=error,
                metadata={"customId": str(n)},
                numeric_code=extra.pop("numeric_code", numeric),
                price=extra.pop("price", self.price_for(provider, channel, steps)),
            )
            for key, value in extra.items():
                if not hasattr(msg, key):
                    raise TypeError(f"SimMessage has no field {key!r}")
                setattr(msg, key, value)
            if channel == "mms" and msg.media is None:
                msg.media = [
                    {
                        "url": f"https://cdn.example.com/mms/{msg.id[:8]}.jpg",
                        "mimeType": "image/jpeg",
                        "mediaType": "image",
                        "sizeBytes": 48213,
                        "sourceHashSha256": None,
                    }
                ]
            self.messages[msg.id] = msg
            return msg

    def plan_resend(
        self, message_id: str, outcome: str | Steps, error: Error | None = None
    ) -> None:
        """How the message's next resend goes: "DELIVERED", "FAILED", "BLOCKED" or explicit steps
        (offsets from the resend), with `error` for a failure (a documented code by default).
        Plans queue up, one per resend; without one, a resend draws a fresh progression."""
        if isinstance(outcome, str):
            steps, default = RESEND_OUTCOMES[outcome.upper()]
            outcome, error = list(steps), error or default
        with self.lock:
            self.resend_plans.setdefault(message_id.lower(), []).append(
                ([(float(off), canon_status(Provider.SENTDM, st)) for off, st in outcome], error)
            )

    @staticmethod
    def price_for(provider: Provider, channel: str, steps: Steps) -> float | None:
        """Sent.dm's price of an attempt with these steps (free when refused before sending)."""
        if provider is not Provider.SENTDM:
            return None
        if steps and steps[-1][1] in ("BLOCKED", "FILTERED", "CANCELLED"):
            return 0.0
        return SENTDM_PRICES.get(channel, 0.0075)

    def random_steps(
        self, provider: Provider, channel: str, rng: random.Random | None = None
    ) -> tuple[Steps, tuple[str | int, str] | None]:
        """A realistic progression (and its failure, if any) drawn from `rng` (the world's)."""
        if provider is Provider.SENTDM:
            return sentdm_steps(channel, rng or self.rng)
        return sendo_steps(channel, rng or self.rng)

    def add_campaign(
        self,
        count: int,
        *,
        name: str = "demo",
        spread: float = 60.0,
        providers: tuple[Provider, ...] = (Provider.SENTDM, Provider.SENDO),
    ) -> list[SimMessage]:
        """`count` messages created over `spread` world seconds from now, across `providers`."""
        with self.lock:
            start = self.now()
            out = []
            for i in range(count):
                provider = providers[i % len(providers)]
                roll = self.rng.random()
                if provider is Provider.SENTDM:
                    channel = "whatsapp" if roll < 0.2 else "rcs" if roll < 0.25 else "sms"
                else:
                    channel = "mms" if roll < 0.05 else "sms"
                out.append(
                    self.add_message(
                        provider,
                        channel=channel,
                        campaign=name,
                        created=start + spread * i / max(1, count),
                    )
                )
            return out

    def get(self, message_id: str) -> SimMessage | None:
        with self.lock:
            msg = self.messages.get(message_id.lower())
            return msg if msg is not None and msg.created <= self.now() else None

    def sendo_campaign(self, cid: str | None) -> list[SimMessage]:
        """Sendo messages (of campaign ID `cid`, or all) that exist by now, newest first (order undocumented)."""
        with self.lock:
            now = self.now()
            found = [
                m
                for m in self.messages.values()
                if m.provider is Provider.SENDO
                and m.created <= now
                and (cid is None or campaign_id(m.campaign) == cid)
            ]
        return sorted(found, key=lambda m: (-m.created, m.id))

    def status_changes_between(self, t0: float, t1: float) -> list[tuple[str, float, str]]:
        """(id, world time, status) of every step in (t0, t1]: the benchmark's ground truth."""
        with self.lock:
            return [
                (m.id, m.created + off, st)
                for m in self.messages.values()
                for off, st in m.steps
                if t0 < m.created + off <= t1
            ]
