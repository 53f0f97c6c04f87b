"""Read-only mode (issue #16): nothing that changes a provider or the history, from the CLI or the
dashboard, with zero requests to the provider."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from tests.test_app import make_app, toasts, wait_for
from tui.config import Settings
from tui.ids import MessageRef
from tui.model import Provider

ROOT = Path(__file__).resolve().parent.parent


def read_only(settings: Settings, source: str = "--read-only") -> Settings:
    return replace(settings, ui=replace(settings.ui, read_only=True), read_only_source=source)


def test_the_cli_refuses_send_and_says_how_read_only_was_set(sim, env) -> None:
    before = len(sim.records)
    for how, extra_env in (
        ("--read-only", {}),
        ("$SENDWATCH_READ_ONLY", {"SENDWATCH_READ_ONLY": "1"}),
    ):
        argv = [sys.executable, "-m", "tui"] + (["--read-only"] if how == "--read-only" else [])
        result = subprocess.run(
            [*argv, "send", "--to", "+14155550100", "--text", "hi", "--provider", "sentdm"],
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert result.returncode == 2, result.stderr
        assert "read-only mode is on" in result.stderr and how in result.stderr
        assert "nothing was sent" in result.stderr
    assert len(sim.records) == before  # not one request reached the provider


async def test_the_dashboard_greys_out_send_forget_and_clear(settings, world, sim) -> None:
    msg = world.add_message(Provider.SENTDM, [(0, "QUEUED"), (1, "DELIVERED")], created=-5)
    app = make_app(read_only(settings), start_poller=False)
    app.store.track([MessageRef(msg.id, Provider.SENTDM)])
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: any("Read-only mode is on" in t for t in toasts(app)))
        screen = app.screen
        for action in ("send_message", "forget", "clear_history"):
            assert screen.check_action(action, ()) is None  # shown greyed out, not run
        sends_before = len([r for r in sim.records if r.message_id == "send"])
        await pilot.press("m")
        await pilot.press("x")
        await pilot.pause()
        assert app.screen is screen  # no send form opened
        assert app.store.row(msg.id) is not None  # not forgotten
        screen.action_clear_history()  # as the palette would (it does not even offer it)
        await wait_for(
            pilot, lambda: any("clearing the history is refused" in t for t in toasts(app))
        )
        assert app.store.row(msg.id) is not None
        assert len([r for r in sim.records if r.message_id == "send"]) == sends_before
        titles = [c.title for c in app.get_system_commands(screen)]
        assert "Send a test message" not in titles and "Clear history" not in titles
        assert "Refresh selected" in titles
