"""The message list: what it shows, and every read behind it (how it draws: `MessageRows`).

It owns its view of the store (`ListModel`) and every read behind it: a new filter, sort or
selection is read in a worker (the first page first, counted after it is shown), pages the view
is about to need are read in a thread, End counts exactly in a thread and the cursor jumps when the
count lands, and rows other instances or the poller changed are re-read a few times a second.
Nothing here reads the store on the UI's turn of the loop. It posts what happened up (`Ready`,
`ViewChanged`, `Highlighted`, `Opened`, `Viewed`); the screen sets views down (`show`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future

from textual import events, work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.worker import Worker

from tui.app.failures import worker_failure
from tui.app.list_model import PAGE_SIZE, ListModel, ViewRead
from tui.app.widgets.message_rows import MessageRows
from tui.store import ListFilter, Row, Store

#: seconds a new view waits before counting: a keystroke within it makes the count moot
COUNT_DELAY = 0.15
#: rows changed elsewhere are re-read this often; a view that must be re-read, at most once a second
FLUSH_EVERY = 0.25
RELOAD_GAP = 1.0


class MessageList(MessageRows):
    """Keyboard: up/down, page up/down, home/end; Enter opens the detail; the mouse clicks rows."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "open", "Detail", show=False),
    ]
    WORKER_LABELS = {
        "view": "Filtering the list",
        "list-pages": "Reading the list",
        "list-count": "Counting the list",
        "list-end": "Counting the list",
        "list-rows": "Updating the list",
    }

    class Ready(Message):
        """The first view is on screen; `rev` is the store revision it was read at (None if the
        read failed): writes after it are other instances' news."""

        def __init__(self, rev: int | None) -> None:
            self.rev = rev
            super().__init__()

    class ViewChanged(Message):
        """A view (filter, sort) was (re-)read and is shown."""

        def __init__(self, flt: ListFilter) -> None:
            self.filter = flt
            super().__init__()

    class Highlighted(Message):
        """The cursor moved to another message (or the list became empty)."""

        def __init__(self, message_id: str | None) -> None:
            self.message_id = message_id
            super().__init__()

    class Opened(Message):
        def __init__(self, message_id: str) -> None:
            self.message_id = message_id
            super().__init__()

    class Viewed(Message):
        """What is on screen changed: the selected message and the visible ones."""

        def __init__(self, selected: str | None, visible: tuple[str, ...]) -> None:
            self.selected = selected
            self.visible = visible
            super().__init__()

    def __init__(
        self,
        store: Store,
        flt: ListFilter | None = None,
        *,
        sort: str = "newest",
        clock: Callable[[], float] = time.time,
        first_view: Future[tuple[int, ViewRead]] | None = None,
        id: str | None = None,
    ) -> None:
        """`first_view`: the first view already being read (`list_model.read_ahead`)."""
        super().__init__(ListModel(store, flt, sort), clock=clock, id=id)
        self._first_view = first_view
        self.selected_id: str | None = None
        self._loading: set[int] = set()  # page numbers being read (-1: counting further)
        self._view_pending = False  # a view read is in flight: live updates wait for it
        self._cursor_pending = False  # the cursor's row is being read
        self._changed: set[str] = set()  # rows stored elsewhere since the last flush
        self._reloaded_at = float("-inf")
        self._viewed: tuple[str | None, tuple[str, ...]] | None = None

    @property
    def store(self) -> Store:
        return self.model.store

    @property
    def busy(self) -> bool:
        """Something is still being read for what is shown (tests wait for this to end)."""
        return (
            not self.ready
            or self._view_pending
            or self._cursor_pending
            or bool(self._loading)
            or self.model.counting
        )

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)
        self.set_interval(FLUSH_EVERY, self._flush_changes)
        ahead = self._first_view
        if ahead is not None and ahead.done() and ahead.exception() is None:
            self._first_shown(*ahead.result())  # read already: in the very first frame
        else:
            self._view_pending = True
            self._load_view(self.model.filter, self.model.sort, None, None, first=True)

    def _first_shown(self, rev: int | None, view: ViewRead) -> None:
        self._adopt(view)
        self.ready = True
        self.post_message(self.Ready(rev))

    # -- views ------------------------------------------------------------------------------
    def show(
        self,
        flt: ListFilter | None = None,
        *,
        sort: str | None = None,
        select: str | None = None,
        fallback: ListFilter | None = None,
    ) -> None:
        """Show a view (default: the current one, re-read). With `select`, that message is selected,
        in `fallback` if this view does not hold it; otherwise the selection stays if it is on the
        first page. The newest request wins."""
        self._view_pending = True
        self._load_view(
            self.model.filter if flt is None else flt,
            sort or self.model.sort,
            select,
            fallback,
            first=False,
        )

    @work(group="view", exclusive=True, exit_on_error=False)
    async def _load_view(
        self,
        flt: ListFilter,
        sort: str,
        select: str | None,
        fallback: ListFilter | None,
        *,
        first: bool,
    ) -> None:
        def read() -> tuple[int | None, ViewRead]:
            rev = self.store.current_rev() if first else None  # before the page: nothing missed
            view = self.model.read_view(flt, sort, around=select)
            if select is not None and view.position is None and fallback is not None:
                view = self.model.read_view(fallback, sort, around=select)
            return rev, view

        ahead = self._first_view if first else None
        if ahead is not None:  # being read since the screen was made
            self._first_shown(*await asyncio.wrap_future(ahead))
            return
        rev, view = await asyncio.to_thread(read)
        if select is None and self.selected_id is not None:
            first_page = view.pages.get(0, [])
            view.position = next(
                (i for i, row in enumerate(first_page) if row.id == self.selected_id), None
            )
        if first:
            self._first_shown(rev, view)
        else:
            self._adopt(view)

    def _adopt(self, view: ViewRead) -> None:
        self.model.adopt(view)
        self._view_pending = False
        self._loading.clear()
        count = self.model.count()
        self.virtual_size = Size(self.size.width, count + 1)
        if self.model.counting:
            generation = self.model.generation
            self.set_timer(COUNT_DELAY, lambda: self._count_view(generation))
        target = view.position if view.position is not None else min(self.cursor, count - 1)
        self._move_to(target, announce=True)
        self.refresh()
        self.post_message(self.ViewChanged(view.filter))

    def note_changed(self, ids: Iterable[str]) -> None:
        """These messages were stored (a poll, a webhook, another instance): redraw them soon."""
        self._changed.update(ids)

    def _flush_changes(self) -> None:
        if self._changed and self.ready and not self._view_pending:
            ids, self._changed = self._changed, set()
            self._read_rows(ids, self.model.generation)

    @work(group="list-rows", exit_on_error=False)
    async def _read_rows(self, ids: set[str], generation: int) -> None:
        store = self.store
        rows = await asyncio.to_thread(
            lambda: {i: r for i in ids if (r := store.row(i)) is not None}
        )
        if generation != self.model.generation or self._view_pending:
            self._changed.update(ids)  # a new view is being read: look again after it
        elif not self.rows_changed(rows):
            now = time.monotonic()
            if now - self._reloaded_at >= RELOAD_GAP:
                self._reloaded_at = now
                self.show()
            else:
                self._changed.update(ids)  # not dropped: the next flush re-reads the view

    def rows_changed(self, rows: dict[str, Row]) -> bool:
        """Some messages changed: redraw only their lines. False when the change may move rows
        or change the count (a filter or sort on what changed): the caller re-reads the view."""
        if not self.model.order_is_stable():
            return False
        newest = self.model.newest_seq()
        if newest is not None and any(r.seq > newest for r in rows.values()):
            return False  # messages added since the view was read (an import, another instance)
        top = int(self.scroll_offset.y)
        now = self.clock()
        for index in self.model.update_rows(rows):
            y = index - top + 1
            if 0 < y < self.size.height:
                self._repaint_if_changed(y, self.model.cached_row(index), now)
        return True

    def tick(self) -> None:
        """Once a second: repaint a visible row only if a relative age ("5s", "3m") or a
        time-dependent word ("sent, no receipt") now reads differently; tell what is on screen."""
        self.repaint_ages()
        viewed = (self.selected_id, tuple(self.visible_ids()))
        if viewed != self._viewed and self.ready:
            self._viewed = viewed
            self.post_message(self.Viewed(*viewed))

    # -- reads in the background ---------------------------------------------------------------
    def _prefetch(self) -> None:
        """Read the pages just above and below the screen that are not cached (and count further
        when the screen nears the end of a capped count)."""
        if not self.is_mounted or self._view_pending:
            return
        top = int(self.scroll_offset.y)
        margin = PAGE_SIZE // 2
        wanted = [
            n
            for n in self.model.missing_pages(top - margin, top + self.size.height + margin)
            if n not in self._loading
        ]
        near_end = top + self.size.height + margin >= self.model.count()
        if self.model.capped and -1 not in self._loading and near_end:
            wanted.append(-1)
        if wanted:
            self._loading.update(wanted)
            self._read_pages(wanted, self.model.generation)

    @work(group="list-pages", exit_on_error=False)
    async def _read_pages(self, numbers: list[int], generation: int) -> None:
        model = self.model
        try:
            for number in numbers:
                if generation != model.generation:
                    return
                if number == -1:
                    cap = model.cap * 10
                    counted = await asyncio.to_thread(model.read_count, model.filter, cap)
                    if model.counted_further(counted, cap, generation):
                        self._count_known()
                    continue
                page = await asyncio.to_thread(model.read_page, number)
                self._install(number, page, generation)
        finally:
            self._loading.difference_update(numbers)

    def _install(self, number: int, page: list[Row], generation: int) -> None:
        if not self.model.install(number, page, generation):
            return
        top = int(self.scroll_offset.y)
        first, last = number * PAGE_SIZE, number * PAGE_SIZE + len(page)
        if first < top + self.size.height and last > top:  # on screen: draw those lines
            self.refresh()
        if self._cursor_pending and first <= self.cursor < last:
            self._move_to(self.cursor, announce=False)

    @work(group="list-count", exclusive=True, exit_on_error=False)
    async def _count_view(self, generation: int) -> None:
        model = self.model
        if generation != model.generation:
            return
        counted = await asyncio.to_thread(model.read_count, model.filter, model.cap)
        if model.counted(counted, generation):
            self._count_known()
            self._prefetch()

    @work(group="list-end", exclusive=True, exit_on_error=False)
    async def _jump_to_end(self, flt: ListFilter, generation: int) -> None:
        counted = await asyncio.to_thread(self.model.read_exact_count, flt)
        if self.model.counted_exactly(counted, generation):
            self._count_known()
            self._move_to(counted - 1, announce=False)

    def _count_known(self) -> None:
        self.virtual_size = Size(self.size.width, self.model.count() + 1)
        self._refresh_screen_line(0)  # the header shows the count

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS, "the list shows what it has")
        if failure is None:
            return
        group = event.worker.group
        if group == "view":
            self._view_pending = False  # otherwise live updates would wait for it for ever
            if not self.ready:
                self.ready = True
                self.post_message(self.Ready(None))
        elif group in ("list-count", "list-end"):
            self.model.counting = False  # a count never stays "provisional" for ever
            self._refresh_screen_line(0)
        self.post_message(failure)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if int(old) != int(new):
            self._prefetch()

    # -- cursor -----------------------------------------------------------------------------
    def _move_to(self, index: int, *, announce: bool) -> None:
        count = self.model.count()
        index = max(0, min(index, count - 1)) if count else 0
        previous = self.cursor
        self.cursor = index
        row = self.model.cached_row(index)
        self._cursor_pending = row is None and count > 0  # announced when its page lands
        if not self._scroll_cursor_into_view():
            top = int(self.scroll_offset.y)
            for line in {previous, index}:
                if top <= line < top + self.size.height - 1:
                    self._refresh_screen_line(line - top + 1)
        self._prefetch()
        if self._cursor_pending:
            return
        new_id = row.id if row else None
        changed = new_id != self.selected_id
        self.selected_id = new_id
        if announce or changed:
            self.post_message(self.Highlighted(new_id))

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta, announce=False)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.size.height - 2), announce=False)

    def action_jump(self, where: int) -> None:
        if where == 0:
            self._move_to(0, announce=False)
        elif self.model.exact:
            self._move_to(self.model.count() - 1, announce=False)
        else:  # the last row needs the real count: counted in a thread, then the cursor jumps
            self._jump_to_end(self.model.filter, self.model.generation)

    def action_open(self) -> None:
        if self.selected_id:
            self.post_message(self.Opened(self.selected_id))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            return
        self.focus()
        self._move_to(int(self.scroll_offset.y) + event.y - 1, announce=False)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, self.model.count() + 1)
        self.call_after_refresh(self._scroll_cursor_into_view)
