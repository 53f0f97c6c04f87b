"""Snapshot tests of the main screens (pytest-textual-snapshot); Textual is pinned in pyproject.

Review changes with the HTML report before accepting them with `pytest --snapshot-update`.
Each picture is taken once the dashboard is quiet (`tests.showcase.settle`: every read landed,
the status line painted), never after a fixed sleep.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.showcase import build_empty, build_showcase, failed_message, settle, still


@pytest.fixture
def showcase(tmp_path: Path):
    app, sim, tracked = build_showcase(tmp_path)
    yield app, tracked
    sim.stop()
    app.store.close()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_main_screen(snap_compare, showcase, size) -> None:
    app, _ = showcase
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_failed_message_detail(snap_compare, showcase, size) -> None:
    app, tracked = showcase
    failed = failed_message(tracked)

    async def select(pilot) -> None:
        await settle(pilot)
        app.dashboard.reveal(failed.id)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=select)


def test_help_screen(snap_compare, showcase) -> None:
    app, _ = showcase

    async def open_help(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_help)


def test_status_filter(snap_compare, showcase) -> None:
    app, _ = showcase

    async def filter_failed(pilot) -> None:
        await settle(pilot)
        await pilot.press("slash")
        app.dashboard.find.value = "status:failed"
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=filter_failed)


def test_empty_history(snap_compare, tmp_path: Path) -> None:
    app = build_empty(tmp_path)
    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=settle)
    finally:
        app.store.close()


async def _open_summary(pilot) -> None:
    """The summary with its pictures: shown at start on a roomy screen, `s` on a small one
    (where it fills the screen)."""
    await settle(pilot)
    if pilot.app.size.width < 110:
        await pilot.press("s")
        await settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_campaign_summary(snap_compare, showcase, size) -> None:
    app, _ = showcase
    assert snap_compare(app, terminal_size=size, run_before=_open_summary)


def test_campaign_summary_no_color(snap_compare, tmp_path: Path, monkeypatch) -> None:
    """NO_COLOR: the bars, shades and marks still tell delivered, failed and pending apart."""
    monkeypatch.setenv("NO_COLOR", "1")
    app, sim, _ = build_showcase(tmp_path)
    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=_open_summary)
    finally:
        sim.stop()
        app.store.close()


def test_raw_view(snap_compare, showcase) -> None:
    app, tracked = showcase

    async def raw(pilot) -> None:
        await settle(pilot)
        app.dashboard.reveal(failed_message(tracked).id)
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=raw)


@pytest.mark.parametrize("key", ["m", "i"], ids=["send-form", "import-form"])
def test_forms_fit_80x24(snap_compare, showcase, key) -> None:
    app, _ = showcase

    async def open_form(pilot) -> None:
        await settle(pilot)
        await pilot.press(key)
        await pilot.pause()
        still(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_form)


def test_no_color(snap_compare, tmp_path: Path, monkeypatch) -> None:
    """NO_COLOR: statuses keep their glyphs and words."""
    monkeypatch.setenv("NO_COLOR", "1")
    app, sim, tracked = build_showcase(tmp_path)
    try:

        async def select(pilot) -> None:
            await settle(pilot)
            app.dashboard.reveal(failed_message(tracked).id)
            await settle(pilot)

        assert snap_compare(app, terminal_size=(80, 24), run_before=select)
    finally:
        sim.stop()
        app.store.close()
