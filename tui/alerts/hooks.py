"""What the alert engine needs from its caller, built from the caller's poller and providers.

The dashboard, `poll` and `wait` each own a `Poller` and a `Providers`; these helpers turn them
into the engine's hooks, so all three evaluate under the same condition (this instance holds a
poller lease) and report provider health the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from tui.alerts.engine import HealthHook
from tui.polling.poller import Poller
from tui.providers.lookup import Providers


def polls_here(poller: Poller) -> Callable[[], bool]:
    """`should_evaluate`: true while this instance holds at least one account's lease (or polls
    without leases at all, as a single user does)."""

    def check() -> bool:
        if not poller.leases:
            return True
        return any(state == "polling here" for state in poller.lease_state.values())

    return check


def provider_health(providers: Providers) -> HealthHook:
    """`provider_health`: each configured provider's health word and since when."""

    def read() -> dict[str, tuple[str, float | None]]:
        out: dict[str, tuple[str, float | None]] = {}
        for provider in providers.clients:
            health = providers.health(provider)
            out[provider.value] = (health.state.value, health.since)
        return out

    return read
