"""Resend and cancel in the dashboard (issue #16): Pilot over the real app, the simulator over HTTP."""

from __future__ import annotations

from dataclasses import replace

from tests.test_app import detail_text, listed_ready, live, make_app, toasts, wait_for
from tui.app.screens.confirm import ConfirmScreen
from tui.app.screens.help import KEYS
from tui.ids import MessageRef
from tui.model import Provider

BOUND = 30.0  # generous: the machine may be busy


def blocked(world):
    return world.add_message(
        Provider.SENTDM,
        [(0, "QUEUED"), (0.4, "BLOCKED")],
        error=("BUSINESS_003", "Insufficient balance"),
        created=-10,
    )


def status_of(app, message_id: str) -> str | None:
    row = app.store.row(message_id)
    return row.provider_status.lower() if row is not None and row.provider_status else None


def shown_row(listed, message_id: str) -> str:
    """The list's line for this message as drawn (empty when it is not on screen)."""
    drawn = [listed.render_line(y).text for y in range(listed.size.height)]
    return next((line for line in drawn if message_id[:8] in line), "")


def question(app) -> str:
    return app.screen.question if isinstance(app.screen, ConfirmScreen) else ""


async def test_resend_the_selected_blocked_row_then_it_is_polled_to_final(
    settings, world, sim
) -> None:
    live(world)  # the provider's clock reads now: the resend is a recent send, polled to final
    m = blocked(world)
    world.plan_resend(m.id, "DELIVERED")
    app = make_app(settings)
    app.store.track([MessageRef(m.id, Provider.SENTDM)])
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        listed = await listed_ready(pilot)
        await wait_for(pilot, lambda: status_of(app, m.id) == "blocked", BOUND)
        await wait_for(pilot, lambda: listed.selected_id == m.id, BOUND)
        await pilot.press("e")
        await wait_for(pilot, lambda: bool(question(app)), BOUND)
        assert question(app) == (
            "Resend 1 blocked message? 1 message, "
            "cost unknown (they were not billed before): each is billed when sent"
        )
        await pilot.press("y")
        await wait_for(pilot, lambda: status_of(app, m.id) == "queued", BOUND)
        await wait_for(pilot, lambda: "queued" in shown_row(listed, m.id), BOUND)  # on screen
        await wait_for(pilot, lambda: any("Resent 1 of 1" in t for t in toasts(app)), BOUND)
        assert app.store.get(m.id).message.attempt == 2
        world.advance(60)
        await wait_for(pilot, lambda: status_of(app, m.id) == "delivered", BOUND)
        await wait_for(pilot, lambda: "✓ delivered" in shown_row(listed, m.id), BOUND)
        await wait_for(pilot, lambda: "Attempt 2 · resent" in detail_text(app), BOUND)
        assert "Attempt 1 · sent" in detail_text(app) and "attempt 2" in detail_text(app)


async def test_resend_all_in_view_counts_messages_and_cost(settings, world, sim) -> None:
    ms = [
        world.add_message(
            Provider.SENTDM, [(0, "QUEUED"), (1, "SENT"), (2, "DELIVERED")], created=-10
        )
        for _ in range(3)
    ]
    filtered = world.add_message(Provider.SENTDM, [(0, "QUEUED"), (1, "FILTERED")], created=-10)
    app = make_app(settings)
    app.store.track([MessageRef(x.id, Provider.SENTDM) for x in [*ms, filtered]])
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await listed_ready(pilot)
        await wait_for(pilot, lambda: status_of(app, filtered.id) == "filtered", BOUND)
        await wait_for(pilot, lambda: all(status_of(app, x.id) == "delivered" for x in ms), BOUND)
        await pilot.press("E")
        await wait_for(pilot, lambda: bool(question(app)), BOUND)
        price = app.store.get(ms[0].id).message.price
        assert (
            question(app)
            == f"Resend all 3 delivered? 3 messages, about {3 * price:.4f} billed again"
        )
        await pilot.press("n")  # nothing is sent
        await pilot.pause()
        assert all(not world.messages[x.id].attempts for x in ms)


async def test_read_only_greys_out_resend_and_cancel_with_zero_requests(
    settings, world, sim
) -> None:
    m = blocked(world)
    ro = replace(settings, ui=replace(settings.ui, read_only=True), read_only_source="--read-only")
    app = make_app(ro, start_poller=False)
    app.store.track([MessageRef(m.id, Provider.SENTDM)])
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await listed_ready(pilot)
        assert app.screen.check_action("act", ("resend",)) is None
        before = len(sim.records)
        app.screen.action_act("resend")  # as a stale key or the palette would
        app.screen.action_act("cancel", True)
        await wait_for(pilot, lambda: any("resending is refused" in t for t in toasts(app)), BOUND)
        await pilot.pause()
        assert len(sim.records) == before and not isinstance(app.screen, ConfirmScreen)


def test_the_help_screen_lists_the_keys() -> None:
    keys = dict(KEYS)
    assert "resend" in keys["e / E"] and "cancel" in keys["u / U"]


async def test_cancel_the_selected_scheduled_row(settings, world, sim) -> None:
    m = world.add_message(Provider.SENTDM, [(0, "SCHEDULED"), (600, "QUEUED")], created=0)
    app = make_app(settings)
    app.store.track([MessageRef(m.id, Provider.SENTDM)])
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        listed = await listed_ready(pilot)
        await wait_for(pilot, lambda: status_of(app, m.id) == "scheduled", BOUND)
        await wait_for(pilot, lambda: listed.selected_id == m.id, BOUND)
        await pilot.press("u")
        await wait_for(pilot, lambda: bool(question(app)), BOUND)
        assert question(app) == "Cancel 1 scheduled message? 1 message, cancelling is free"
        await pilot.press("y")
        await wait_for(pilot, lambda: status_of(app, m.id) == "cancelled", BOUND)
        await wait_for(pilot, lambda: any("Cancelled 1 of 1" in t for t in toasts(app)), BOUND)
