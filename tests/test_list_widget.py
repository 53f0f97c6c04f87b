"""The message list on its own, in a tiny app: what a row says, that nothing idle is redrawn, and
that it never reads the store on the UI's turn of the loop (End counts in a thread).

A pre-filled real history file, no poller, no providers and a clock the test controls.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from textual.app import App, ComposeResult

from tui.app import list_model
from tui.app.list_model import PAGE_SIZE, ListModel
from tui.app.widgets.message_list import MessageList
from tui.model import Message, MessageError, Provider, normalize_status
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


def history(tmp_path: Path, messages: list[tuple[Message, float]]) -> Store:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    for msg, fetched in messages:
        store.record_fetch(msg, next_poll=None, fetched_at=fetched)
    return store


class ListHost(App[None]):
    """Just the list, as the dashboard composes it; every message it posts is kept."""

    def __init__(self, store: Store, *, clock=lambda: NOW, flt: ListFilter | None = None) -> None:
        super().__init__()
        self.store, self.clock, self.flt = store, clock, flt
        self.posted: list[object] = []

    def compose(self) -> ComposeResult:
        yield MessageList(self.store, self.flt, clock=self.clock)

    def on_message_list_highlighted(self, event: MessageList.Highlighted) -> None:
        self.posted.append(event)

    def on_message_list_view_changed(self, event: MessageList.ViewChanged) -> None:
        self.posted.append(event)

    def on_message_list_ready(self, event: MessageList.Ready) -> None:
        self.posted.append(event)


async def until(pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


async def quiet(pilot) -> MessageList:
    listed = pilot.app.query_one(MessageList)
    await until(pilot, lambda: listed.ready and not listed.busy)
    await pilot.pause()
    return listed


def lines(listed: MessageList) -> list[str]:
    return [listed.render_line(y).text for y in range(listed.size.height)]


async def test_rows_show_status_words_glyphs_and_reasons(tmp_path: Path) -> None:
    hostile = "[b]x[/] \x1b[2J"
    store = history(
        tmp_path,
        [
            (
                _msg("blocked-0001", Provider.SENTDM, "blocked", ("BUSINESS_003", "No balance")),
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
    app = ListHost(store)
    async with app.run_test(size=(160, 30)) as pilot:  # a detail column wide enough for reasons
        shown = lines(await quiet(pilot))
    row = {
        s: next(line for line in shown if s in line) for s in ("blocked-", "filtered", "expired-")
    }
    row |= {s: next(line for line in shown if s in line) for s in ("cancelle", "received")}
    row |= {s: next(line for line in shown if s in line) for s in ("stuck-00", "fresh-00")}
    assert "✗ blocked" in row["blocked-"] and "BUSINESS_003: No balance" in row["blocked-"]
    assert "✗ filtered" in row["filtered"]
    assert "DELIVERY_009: [b]x[/] \\x1b[2J" in row["filtered"]  # literal, controls made visible
    assert "✗ expired" in row["expired-"] and "1007: Expired" in row["expired-"]
    assert "⊘ cancelled" in row["cancelle"] and "↙ received" in row["received"]
    assert "→ sent" in row["stuck-00"] and "sent, no receipt" in row["stuck-00"]
    assert "→ sent" in row["fresh-00"] and "no receipt" not in row["fresh-00"]
    assert "\x1b" not in "".join(shown)
    store.close()


async def test_an_idle_list_draws_nothing_on_its_ticks(tmp_path: Path) -> None:
    """Settled 2 h ago (every age reads "2h" for the next hour): ticks repaint no line."""
    clock = [NOW]
    store = history(
        tmp_path,
        [
            (_msg(f"settled-{i:04d}", Provider.SENTDM, "delivered"), NOW - 7200 - i * 7)
            for i in range(60)
        ],
    )
    app = ListHost(store, clock=lambda: clock[0])
    async with app.run_test(size=(120, 30)) as pilot:
        listed = await quiet(pilot)
        before = listed.lines_rendered
        for _ in range(3):  # three more seconds
            clock[0] += 1
            listed.tick()
            await pilot.pause()
        assert listed.lines_rendered == before
    store.close()


async def test_a_tick_repaints_only_rows_whose_age_text_changed(tmp_path: Path) -> None:
    clock = [NOW]
    store = history(
        tmp_path,
        [
            (_msg("minutes-0001", Provider.SENTDM, "delivered"), NOW - 125),  # "2m", then "3m"
            (_msg("hours-000001", Provider.SENTDM, "delivered"), NOW - 3 * 3600 - 10),  # "3h"
        ],
    )
    app = ListHost(store, clock=lambda: clock[0])
    async with app.run_test(size=(120, 30)) as pilot:
        listed = await quiet(pilot)
        before = listed.lines_rendered
        listed.tick()  # same second: nothing
        await pilot.pause()
        assert listed.lines_rendered == before
        clock[0] += 60
        listed.tick()
        await pilot.pause()
        assert listed.lines_rendered == before + 1  # one row's age changed: one line drawn
        assert any("3m" in line and "minutes-" in line for line in lines(listed))
    store.close()


async def test_a_live_update_repaints_a_row_only_when_what_it_shows_changed(tmp_path) -> None:
    store = history(tmp_path, [(_msg("live-000001", Provider.SENDO, "sent"), NOW - 32)])
    app = ListHost(store)
    async with app.run_test(size=(120, 30)) as pilot:
        listed = await quiet(pilot)
        row = store.row("live-000001")
        before = listed.lines_rendered
        assert listed.rows_changed({row.id: replace(row, last_polled=NOW - 31)})  # still "30s"
        await pilot.pause()
        assert listed.lines_rendered == before
        delivered = replace(
            row, last_polled=NOW - 31, status="delivered", provider_status="DELIVERED"
        )
        assert listed.rows_changed({row.id: delivered})
        await pilot.pause()
        assert listed.lines_rendered == before + 1
        assert "✓ delivered" in lines(listed)[1]
    store.close()


async def test_rows_stored_elsewhere_are_redrawn_or_the_view_reread(tmp_path: Path) -> None:
    """`note_changed`: a changed row is re-read in a thread; a new message makes it re-read the view."""
    store = history(tmp_path, [(_msg("first-00001", Provider.SENDO, "sent"), NOW - 32)])
    app = ListHost(store)
    async with app.run_test(size=(120, 30)) as pilot:
        listed = await quiet(pilot)
        store.record_fetch(
            _msg("first-00001", Provider.SENDO, "delivered"), next_poll=None, fetched_at=NOW - 1
        )
        listed.note_changed(["first-00001"])
        await until(pilot, lambda: "✓ delivered" in lines(listed)[1])
        store.record_fetch(
            _msg("second-0001", Provider.SENDO, "queued"), next_poll=None, fetched_at=NOW - 1
        )
        listed.note_changed(["second-0001"])
        await until(pilot, lambda: listed.model.count() == 2)
        assert "second-0" in lines(listed)[1]  # newest first: the new one on top
    store.close()


def test_capped_count_and_keyset_pages(tmp_path: Path) -> None:
    """The model's reads (what the list calls in threads): a capped count, then pages by key."""
    store = history(
        tmp_path, [(_msg(f"m-{i:05d}", Provider.SENDO, "delivered"), NOW - i) for i in range(300)]
    )
    model = ListModel(store)
    model.adopt(model.read_view(ListFilter(), "newest"))
    assert model.counting and model.count_label() == f"{PAGE_SIZE}+"  # provisional: a full page
    model.cap = 100  # counts stop at the cap: "100+" until the user scrolls near the end
    assert model.counted(model.read_count(ListFilter(), model.cap), model.generation)
    assert model.capped and model.count_label() == "100+"
    assert model.counted_further(model.read_count(ListFilter(), 1000), 1000, model.generation)
    assert model.count() == 300 and model.exact
    for number in (1, 2):  # read by key after the page before it
        assert model.install(number, model.read_page(number), model.generation)
    ids = [model.cached_row(i).id for i in range(300)]
    assert ids == [r.id for r in store.page(ListFilter(), 0, 300)] and len(set(ids)) == 300
    store.close()


def test_a_view_is_shown_first_and_counted_after(tmp_path: Path) -> None:
    store = history(
        tmp_path, [(_msg(f"m-{i:05d}", Provider.SENDO, "delivered"), NOW - i) for i in range(200)]
    )
    model = ListModel(store)
    model.adopt(model.read_view(ListFilter(), "newest"))  # a full first page: counted later
    assert model.counting and model.count() == PAGE_SIZE and model.count_label() == "128+"
    assert not model.counted(200, model.generation - 1)  # a count for an older view is dropped
    assert model.counted(model.read_count(ListFilter(), model.cap), model.generation)
    assert not model.counting and model.count_label() == "200"
    model.adopt(model.read_view(ListFilter(text="m-0000"), "newest"))
    assert not model.counting and model.count() == 10  # a short first page is the whole view
    # selecting a message deep in a view reads its page and a count with it
    view = model.read_view(ListFilter(), "newest", around="m-00005")
    assert view.position == 194 and 1 in view.pages and view.count == 200
    store.close()


async def test_end_on_a_capped_view_counts_in_a_thread_and_then_jumps(tmp_path, monkeypatch):
    monkeypatch.setattr(list_model, "COUNT_CAP", 100)
    store = history(
        tmp_path,
        [(_msg(f"m-{i:05d}", Provider.SENDO, "delivered"), NOW - 60) for i in range(300)],
    )
    ui_reads: list[str] = []
    main = threading.main_thread()
    for name in ("count", "count_upto", "page", "page_after", "position", "row", "get"):
        real = getattr(store, name)

        def watched(*args, _real=real, _name=name, **kw):
            if threading.current_thread() is main:
                ui_reads.append(_name)
            return _real(*args, **kw)

        monkeypatch.setattr(store, name, watched)
    app = ListHost(store)
    async with app.run_test(size=(120, 30)) as pilot:
        listed = await quiet(pilot)
        assert listed.model.count_label() == "100+" and "100+" in lines(listed)[0]
        listed.focus()
        await pilot.press("end")
        await until(pilot, lambda: listed.selected_id == "m-00000")  # newest first: oldest last
        assert listed.cursor == 299 and "300" in lines(listed)[0]
        await pilot.press("home")
        await until(pilot, lambda: listed.selected_id == "m-00299")
        await pilot.press("pagedown", "pagedown")
        await until(pilot, lambda: not listed.busy)
    assert ui_reads == []  # every read ran in a thread
    store.close()


async def test_it_says_what_happened(tmp_path: Path) -> None:
    """Ready (with the revision its first view was read at), ViewChanged, Highlighted."""
    store = history(tmp_path, [(_msg(f"m-{i:05d}", Provider.SENDO, "sent"), NOW) for i in range(3)])
    app = ListHost(store)
    async with app.run_test(size=(120, 30)) as pilot:
        listed = await quiet(pilot)
        ready = [m for m in app.posted if isinstance(m, MessageList.Ready)]
        assert len(ready) == 1 and ready[0].rev == store.current_rev()
        listed.show(ListFilter(text="m-00001"))
        await until(pilot, lambda: listed.model.filter.text == "m-00001" and not listed.busy)
        changed = [m for m in app.posted if isinstance(m, MessageList.ViewChanged)]
        assert changed[-1].filter == ListFilter(text="m-00001")
        highlighted = [m for m in app.posted if isinstance(m, MessageList.Highlighted)]
        assert highlighted[-1].message_id == "m-00001"
        listed.show(ListFilter(text="nothing-like-it"), select="m-00002", fallback=ListFilter())
        await until(pilot, lambda: listed.selected_id == "m-00002")
        assert listed.model.filter == ListFilter()  # not in the view asked for: the fallback
        assert "No messages" not in "".join(lines(listed))
    store.close()
