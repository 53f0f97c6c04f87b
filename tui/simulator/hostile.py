"""Hostile messages: a message whose every GET is answered with poison, for robustness tests.

A client must survive each of these with a clear error for that one message, nothing else
stalled (issue #15). The kinds (what a GET for such a message answers):

- `nested`: JSON nested `depth` (100,000) arrays deep, which a recursive parser cannot take;
- `fake_gzip`: `Content-Encoding: gzip` on a body that is plain JSON;
- `overflow_time`: every timestamp `0001-01-01T00:00:00+14:00` (UTC is before year 1);
- `nul`: a NUL character in the message text (in the world itself: webhooks carry it too);
- `wrong_id`: `data.id` / `message.id` is another message's id (`other_id`);
- `huge`: a valid-looking body of `size_mb` MB (600), streamed in 64 KiB chunks and never built
  in memory, with a Content-Length or (`content_length=False`) chunked;
- `trickle`: a valid answer sent one byte every `interval` (1.0) real seconds.

Only the message's own GETs (message, activities) are poisoned; lists, webhooks and other
messages are answered as usual, and every poisoned answer costs rate-limit budget like any
request. The answers are written by poison.py.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from tui.model import Provider

if TYPE_CHECKING:
    from tui.simulator.world import SimMessage, SimWorld

HOSTILE_KINDS = frozenset(
    {"nested", "fake_gzip", "overflow_time", "nul", "wrong_id", "huge", "trickle"}
)
# Options of the poison itself; every other keyword is a SimMessage field (created, campaign...).
HOSTILE_DEFAULTS: dict[str, Any] = {
    "depth": 100_000,
    "size_mb": 600.0,
    "content_length": True,
    "interval": 1.0,
    "other_id": None,
}
NUL_BODY = "Your code is 12\x0034. Do not share it."
_STEPS = {
    Provider.SENTDM: [(0.0, "QUEUED"), (1.0, "SENT"), (3.0, "DELIVERED")],
    Provider.SENDO: [(0.0, "CREATED"), (1.0, "QUEUED"), (2.0, "SENT"), (4.0, "DELIVERED")],
}


def add_hostile(
    world: SimWorld,
    provider: Provider,
    kind: str,
    rng: random.Random | None = None,
    **options: Any,
) -> SimMessage:
    """Add one hostile message (see the module's docstring); its ids come from `rng` (default: the
    world's own stream for extras, so the seeded messages never change)."""
    rng = world.extra_rng if rng is None else rng
    if kind not in HOSTILE_KINDS:
        raise ValueError(f"unknown hostile kind {kind!r}: one of {sorted(HOSTILE_KINDS)}")
    poison = {k: options.pop(k, v) for k, v in HOSTILE_DEFAULTS.items()}
    with world.lock:
        if kind == "wrong_id" and poison["other_id"] is None:
            other = next((m for m in world.messages.values() if m.provider is provider), None)
            poison["other_id"] = other.id if other else world.new_id(provider, rng)
        if kind == "nul":
            options.setdefault("body", NUL_BODY)
        steps = options.pop("steps", None) or list(_STEPS[provider])
        options.setdefault("created", world.now() - 10.0)  # settled: every field is there
        return world.add_message(
            provider, steps, rng=rng, hostile=kind, hostile_options=poison, **options
        )
