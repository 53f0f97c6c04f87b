"""The status line can say every provider health state (a new state once crashed the dashboard)."""

from __future__ import annotations

from tui.app.widgets.status_bar import StatusSnapshot, status_line
from tui.model import Provider
from tui.providers.budget import Health, HealthState


def test_every_health_state_has_a_look_and_words() -> None:
    for state in HealthState:
        health = {
            p: Health(state, since=1.0, until=5.0, detail="3 answers over 30 s") for p in Provider
        }
        line = status_line(StatusSnapshot(health, {"sent": 2}), now=2.0).plain
        assert state.value in line


def test_a_slow_provider_says_why() -> None:
    health = {p: Health(HealthState.OK) for p in Provider}
    health[Provider.SENDO] = Health(HealthState.SLOW, since=1.0, detail="2 answers over 30 s")
    line = status_line(StatusSnapshot(health, {}), now=2.0).plain
    assert "Sendo ▲ slow (2 answers over 30 s)" in line


def test_a_stalled_or_slow_poll_loop_is_said_with_its_reason() -> None:
    from tui.app.widgets.status_bar import provider_extra
    from tui.polling.policy import LoopHealth
    from tui.services.monitor import ProviderState

    ok = Health(HealthState.OK)
    stalled = LoopHealth(state="stalled", since=0.0, reason="12 due, no answer for 60 s")
    assert provider_extra(ProviderState(ok, loop=stalled), now=1.0) == (
        "polling stalled: 12 due, no answer for 60 s"
    )
    assert (
        provider_extra(ProviderState(ok, loop=LoopHealth(state="slow")), now=1.0) == "polling slow"
    )
    assert provider_extra(ProviderState(ok, loop=LoopHealth()), now=1.0) == ""
