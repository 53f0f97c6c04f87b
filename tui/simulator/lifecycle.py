"""Sent.dm's actions on an existing message: resend and cancel (docs/providers.md Part 2 §1-2).

Resend re-queues the SAME id as a new, billed attempt: the steps reached so far stay (events are
appended), the script continues with QUEUED and a new progression from now (a plan set with
`SimWorld.plan_resend`, else drawn from the world's resend stream), so GET, activities and the
webhooks show terminal -> QUEUED -> ... again. `price` on the message becomes the new attempt's.
Only finished messages (DELIVERED, READ, FAILED, BLOCKED) can be resent.

Cancel calls off a SCHEDULED message. Scheduled sends are released by a sweeper that ticks every
30 world-seconds (at world times that are multiples of 30): a send scheduled for T is released
at the first tick at or after T, and from that instant a cancel loses with 409. A cancel appends
CANCELLED at the current time (one `message.cancelled` webhook); a repeated cancel changes nothing.
"""

from __future__ import annotations

import math

from tui.model import Provider
from tui.simulator.world import AttemptRecord, SimMessage, SimWorld

SWEEP_SECONDS = 30.0
RESENDABLE = frozenset({"DELIVERED", "READ", "FAILED", "BLOCKED"})
IN_FLIGHT = frozenset({"ACCEPTED", "QUEUED", "PROCESSED", "ROUTED", "SENT", "SCHEDULED"})


class ActionRefused(Exception):
    """409 `BUSINESS_006`: the message is not in a state this action applies to."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def release_time(scheduled: float) -> float:
    """World time the sweeper releases a send scheduled for world time `scheduled`."""
    return math.ceil(scheduled / SWEEP_SECONDS) * SWEEP_SECONDS


def resend(world: SimWorld, msg: SimMessage) -> None:
    """Start a new attempt on `msg` now, or ActionRefused."""
    with world.lock:
        now = world.now()
        _, status = msg.status_at(now)
        if status == "FILTERED":
            raise ActionRefused("A FILTERED message is never resendable.")
        if status == "CANCELLED":
            raise ActionRefused("A cancelled message cannot be resent: send a new one.")
        if status in IN_FLIGHT:
            raise ActionRefused(
                f"The message is still in flight ({status}): only a finished message can be resent."
            )
        if status not in RESENDABLE or msg.direction != "OUTBOUND":
            raise ActionRefused(f"A {status} message cannot be resent.")
        plans = world.resend_plans.get(msg.id)
        if plans:
            steps, error = plans.pop(0)
        else:
            drawn, error_drawn = world.random_steps(Provider.SENTDM, msg.channel, world.resend_rng)
            steps, error = drawn, (str(error_drawn[0]), error_drawn[1]) if error_drawn else None
        _truncate(msg, now)
        if not msg.attempts:
            msg.attempts.append(AttemptRecord(0, msg.error, msg.price))
        price = world.price_for(Provider.SENTDM, msg.channel, steps)
        first = len(msg.steps)
        start = now - msg.created
        msg.steps.extend((start + off, st) for off, st in steps)
        msg.attempts.append(AttemptRecord(first, error, price))
        msg.error, msg.price = error, price


def cancel(world: SimWorld, msg: SimMessage) -> None:
    """Call off a SCHEDULED message now (nothing to do if already CANCELLED), or ActionRefused."""
    with world.lock:
        now = world.now()
        _, status = msg.status_at(now)
        if status == "CANCELLED":
            return
        if status != "SCHEDULED":
            reason = "already released and in flight" if status in IN_FLIGHT else "finished"
            raise ActionRefused(
                f"Only a SCHEDULED message can be cancelled; this one is {status} ({reason})."
            )
        _truncate(msg, now)
        msg.steps.append((now - msg.created, "CANCELLED"))
        msg.price = 0.0  # "a scheduled message is only priced and billed at release"


def _truncate(msg: SimMessage, now: float) -> None:
    """Forget the steps the script still had ahead of `now` (they will not happen now)."""
    msg.steps = [(off, st) for off, st in msg.steps if msg.created + off <= now]
