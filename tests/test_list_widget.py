"""The message list and status line: what a row says (issue 8) and that nothing idle is redrawn (issue 9).

A pre-filled real history file, the real app under Pilot, no poller and a clock the test controls.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rich.cells import cell_len

from tui.app import list_model
from tui.app.app import SendwatchApp
from tui.app.list_model import ListModel
from tui.app.widgets.message_list import MessageList
from tui.app.widgets.status_bar import LEVELS, StatusBar, StatusSnapshot, status_line
from tui.config import load
from tui.model import Message, MessageError, Provider, normalize_status
from tui.providers.budget import Health, HealthState
from tui.store import ListFilter, SQLiteStore, Store

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def _msg(mid: str, provider: Provider, word: str, error: tuple[str, str] | None = None) -> Message:
    return Message(
        id=mid,
        provider=provider,
        status=normalize_status(word),
        provider_status=word.upper(),
        to="+14155550123",
        body="hello",
        channel="sms",
        created_at=datetime.fromtimestamp(NOW - 8000, tz=UTC),
        error=MessageError(*error) if error else None,
    )


def _history(tmp_path: Path, messages: list[tuple[Message, float]]) -> tuple[Store, object]:
    settings = load(tmp_path / "absent.toml", env={})
    settings = replace(
        settings, history=replace(settings.history, path=str(tmp_path / "history.sqlite3"))
    )
    store = SQLiteStore(settings.history_path())
    for msg, fetched in messages:
        store.record_fetch(msg, next_poll=None, fetched_at=fetched)
    return store, settings


def _lines(listed: MessageList) -> list[str]:
    return [listed.render_line(y).text for y in range(listed.size.height)]


async def test_rows_show_status_words_glyphs_and_reasons(tmp_path: Path) -> None:
    hostile = "[b]x[/] \x1b[2J"
    store, settings = _history(
        tmp_path,
        [
            (
                _msg(
                    "blocked-0001",
                    Provider.SENTDM,
                    "blocked",
                    ("BUSINESS_003", "Insufficient balance"),
                ),
                NOW - 30,
            ),
            (
                _msg("filtered-001", Provider.SENTDM, "filtered", ("DELIVERY_009", hostile)),
                NOW - 30,
            ),
            (_msg("expired-0001", Provider.SENDO, "expired", ("1007", "Expired")), NOW - 30),
            (_msg("cancelled-01", Provider.SENTDM, "cancelled"), NOW - 30),
            (_msg("received-001", Provider.SENTDM, "received"), NOW - 30),
            (_msg("stuck-000001", Provider.SENDO, "sent"), NOW - 2 * 3600),  # no change for 2 h
            (_msg("fresh-000001", Provider.SENDO, "sent"), NOW - 60),
        ],
    )
    app = SendwatchApp(settings, store, demo=True, start_poller=False, clock=lambda: NOW)
    async with app.run_test(
        size=(160, 30)
    ) as pilot:  # a detail column wide enough for whole reasons
        await pilot.pause()
        lines = _lines(app.query_one(MessageList))
    by_id = {
        short: next(line for line in lines if short in line)
        for short in (
            "blocked-",
            "filtered",
            "expired-",
            "cancelle",
            "received",
            "stuck-00",
            "fresh-00",
        )
    }
    assert "✗ blocked" in by_id["blocked-"] and "BUSINESS_003 Insufficient" in by_id["blocked-"]
    assert (
        "✗ filtered" in by_id["filtered"] and "DELIVERY_009 [b]x[/] \\x1b[2J" in by_id["filtered"]
    )
    assert "✗ expired" in by_id["expired-"] and "1007 Expired" in by_id["expired-"]
    assert "⊘ cancelled" in by_id["cancelle"]
    assert "↙ received" in by_id["received"]
    assert "→ sent" in by_id["stuck-00"] and "sent, no receipt" in by_id["stuck-00"]
    assert "→ sent" in by_id["fresh-00"] and "no receipt" not in by_id["fresh-00"]
    assert "\x1b" not in "".join(lines)


async def test_idle_list_with_settled_messages_draws_nothing(tmp_path: Path) -> None:
    """Settled 2 h ago (every age reads "2h" for the next hour): idle ticks repaint no line, no status bar."""
    now = time.time()
    store, settings = _history(
        tmp_path,
        [
            (_msg(f"settled-{i:04d}", Provider.SENTDM, "delivered"), now - 7200 - i * 7)
            for i in range(60)
        ],
    )
    app = SendwatchApp(settings, store, demo=True, start_poller=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(1.2)  # start-up, first ticks
        listed, bar = app.query_one(MessageList), app.query_one(StatusBar)
        updates: list[object] = []
        original = bar.update
        bar.update = lambda *a, **k: (updates.append(a), original(*a, **k))  # type: ignore[method-assign]
        before = listed.lines_rendered
        await pilot.pause(2.2)  # two ticks of the app's one-second timer
        assert listed.lines_rendered == before
        assert updates == []


async def test_tick_repaints_only_rows_whose_age_text_changed(tmp_path: Path) -> None:
    clock = [NOW]
    store, settings = _history(
        tmp_path,
        [
            (
                _msg("minutes-0001", Provider.SENTDM, "delivered"),
                NOW - 125,
            ),  # "2m": reads "3m" after 60 s
            (
                _msg("hours-000001", Provider.SENTDM, "delivered"),
                NOW - 3 * 3600 - 10,
            ),  # "3h" for an hour
        ],
    )
    app = SendwatchApp(settings, store, demo=True, start_poller=False, clock=lambda: clock[0])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        listed = app.query_one(MessageList)
        listed.tick()
        await pilot.pause(0.1)
        before = listed.lines_rendered
        listed.tick()  # same second: nothing
        await pilot.pause(0.1)
        assert listed.lines_rendered == before
        clock[0] += 60
        listed.tick()
        await pilot.pause(0.1)
        assert listed.lines_rendered == before + 1  # one row's age changed: one line drawn
        assert any("3m" in line and "minutes-" in line for line in _lines(listed))


def test_status_line_fits_80_columns_without_cutting_words() -> None:
    health = {
        Provider.SENTDM: Health(HealthState.RATE_LIMITED, until=NOW + 30),
        Provider.SENDO: Health(HealthState.OFFLINE, since=NOW - 50, until=NOW + 40),
    }
    counts = {
        "waiting": 1200,
        "queued": 3400,
        "sent": 25000,
        "delivered": 61000,
        "failed": 9000,
        "cancelled": 12,
        "received": 3,
    }
    snap = StatusSnapshot(health, counts, behind=4321, eta_seconds=900, demo=True)
    full_words = set(status_line(snap, NOW).plain.split())
    fitted = next(
        line for detail in LEVELS if cell_len((line := status_line(snap, NOW, detail)).plain) <= 78
    )
    assert set(fitted.plain.split()) <= full_words  # whole parts dropped, never half a word
    assert "rate-limited" in fitted.plain and "offline" in fitted.plain  # trouble keeps its word
    assert "⊘12" in status_line(snap, NOW).plain and "↙3" in status_line(snap, NOW).plain


async def test_status_bar_at_80_columns(tmp_path: Path) -> None:
    store, settings = _history(tmp_path, [])
    app = SendwatchApp(settings, store, demo=True, start_poller=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        bar = app.query_one(StatusBar)
        bar.MIN_GAP = 0.0  # paint now, not at the next second
        health = {p: Health(HealthState.AUTH_REJECTED) for p in Provider}
        bar.show(
            StatusSnapshot(
                health,
                {"delivered": 123456, "failed": 789, "sent": 4000},
                behind=4000,
                eta_seconds=600,
                demo=True,
            )
        )
        shown = bar._shown.plain if bar._shown else ""
        assert "auth rejected" in shown and cell_len(shown) <= bar.content_region.width


def test_capped_count_and_keyset_pages(tmp_path: Path) -> None:
    store, _ = _history(
        tmp_path, [(_msg(f"m-{i:05d}", Provider.SENDO, "delivered"), NOW - i) for i in range(300)]
    )
    model = ListModel(store)
    model.cap = 100
    assert model.count() == 100 and model.capped and model.count_label() == "100+"
    assert model.count_further() and model.count() == 300 and not model.capped
    ids = [model.row(i).id for i in range(300)]  # page 1 and 2 are read by key after page 0
    assert ids == [r.id for r in store.page(ListFilter(), 0, 300)]
    assert len(set(ids)) == 300


def test_primed_view_counts_later(tmp_path: Path) -> None:
    store, _ = _history(
        tmp_path, [(_msg(f"m-{i:05d}", Provider.SENDO, "delivered"), NOW - i) for i in range(200)]
    )
    model = ListModel(store)
    first = store.page(ListFilter(), 0, 128)
    model.prime(ListFilter(), None, first)  # a full first page: shown at once, counted after
    assert model.counting and model.count() == 128 and model.count_label() == "128+"
    assert not model.counted(200, model.generation - 1)  # a count for an older view is dropped
    assert model.counted(store.count_upto(ListFilter(), 10_001), model.generation)
    assert not model.counting and model.count_label() == "200"
    model.prime(ListFilter(text="m-0000"), None, store.page(ListFilter(text="m-0000"), 0, 128))
    assert not model.counting and model.count() == 10  # a short first page is the whole view


async def test_live_update_repaints_a_row_only_when_what_it_shows_changed(tmp_path: Path) -> None:
    store, settings = _history(tmp_path, [(_msg("live-000001", Provider.SENDO, "sent"), NOW - 32)])
    app = SendwatchApp(settings, store, demo=True, start_poller=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        listed = app.query_one(MessageList)
        row = store.row("live-000001")
        before = listed.lines_rendered
        assert listed.rows_changed(
            {row.id: replace(row, last_polled=NOW - 31)}
        )  # still reads "30s"
        await pilot.pause(0.1)
        assert listed.lines_rendered == before
        listed.rows_changed(
            {
                row.id: replace(
                    row, last_polled=NOW - 31, status="delivered", provider_status="DELIVERED"
                )
            }
        )
        await pilot.pause(0.1)
        assert listed.lines_rendered == before + 1
        assert "✓ delivered" in _lines(listed)[1]


async def test_end_key_on_a_capped_view_counts_to_the_real_last_row(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(list_model, "COUNT_CAP", 100)
    store, settings = _history(
        tmp_path, [(_msg(f"m-{i:05d}", Provider.SENDO, "delivered"), NOW - 60) for i in range(300)]
    )
    app = SendwatchApp(settings, store, demo=True, start_poller=False, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        listed = app.query_one(MessageList)
        assert listed.model.count_label() == "100+" and "100+" in _lines(listed)[0]
        listed.focus()
        await pilot.press("end")
        await pilot.pause(0.1)
        assert (
            listed.cursor == 299 and listed.selected_id == "m-00000"
        )  # newest first: the oldest is last
        assert "300" in _lines(listed)[0]
