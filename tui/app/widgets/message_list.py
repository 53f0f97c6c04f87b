"""The message list: a `ScrollView` that draws only the visible lines (Textual's line API).

Rows come from `ListModel` a page at a time, so 100,000 messages cost what 30 do. Every cell is a
plain `Segment`: provider text is never parsed as markup, and `safe_text` has already removed
control characters.

Over SSH every byte drawn is latency, so nothing is redrawn that did not change: the once-a-second
tick and live updates compare each visible row's cells with what was last drawn and repaint a
line only when a cell reads differently, and only up to that cell. Pages the view is about to need,
and the count of a new view, are read in a thread after the rows are on screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker, WorkerState

from tui.app.format import (
    GLYPH,
    NO_RECEIPT,
    age,
    is_no_receipt,
    list_age,
    reason,
    short_id,
    status_label,
)
from tui.app.list_model import COUNT_CAP, PAGE_SIZE, ListModel
from tui.model import Provider
from tui.store import ListFilter, Row
from tui.textsafe import safe_text

STATUS_CLASSES = [f"messagelist--{s}" for s in GLYPH]
PROVIDERS = frozenset(p.value for p in Provider)
#: seconds a primed view waits before counting: a keystroke within it makes the count moot
COUNT_DELAY = 0.15


class MessageList(ScrollView, can_focus=True):
    """Keyboard: up/down, page up/down, home/end; Enter opens the detail; the mouse clicks rows."""

    DEFAULT_CSS = """
    MessageList > .messagelist--cancelled { color: $text-muted; }
    MessageList > .messagelist--received { color: $accent; }
    MessageList > .messagelist--noreceipt { color: $warning; }
    """
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "open", "Detail", show=False),
    ]
    COMPONENT_CLASSES = {
        "messagelist--cursor",
        "messagelist--header",
        "messagelist--dim",
        "messagelist--noreceipt",
        *STATUS_CLASSES,
    }

    cursor: reactive[int] = reactive(
        0, always_update=True, repaint=False
    )  # _move_to repaints two lines

    class Highlighted(Message):
        """The cursor moved to another message (or the list became empty)."""

        def __init__(self, message_id: str | None) -> None:
            self.message_id = message_id
            super().__init__()

    class Opened(Message):
        def __init__(self, message_id: str) -> None:
            self.message_id = message_id
            super().__init__()

    def __init__(
        self, model: ListModel, *, clock: Callable[[], float] = time.time, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.model = model
        self.clock = clock
        self.selected_id: str | None = None
        #: screen line -> (row id, its cells) as last drawn: what `tick` and `rows_changed`
        #: compare with before repainting anything
        self._drawn: dict[int, tuple[str, tuple[tuple[str, str], ...]]] = {}
        self._laid_out: tuple[Size, Size, Size] | None = None
        self._loading: set[int] = set()  # page numbers being read in a thread
        self.lines_rendered = 0  # render_line calls (tests and benchmarks look at this)

    # -- data -------------------------------------------------------------------------------
    def reload(
        self, keep_selection: bool = True, *, position: int | None = None, primed: bool = False
    ) -> None:
        """Re-read the count (after a filter, a sort or new rows) and keep the selection on its message.

        `primed`: the model already holds fresh data (read by a worker), so nothing is re-read;
        `position` is then the selected message's index in it, if the worker found one.
        """
        if not primed:
            self.model.invalidate()
        self._loading.clear()
        if (
            self.model.counting
        ):  # rows first; the count once typing pauses (it may scan 10,000 matches)
            flt, generation = self.model.filter, self.model.generation
            self.set_timer(
                COUNT_DELAY,
                lambda: (
                    self._count_view(flt, generation)
                    if generation == self.model.generation
                    else None
                ),
            )
        count = self.model.count()
        self.virtual_size = Size(self.size.width, count + 1)
        if keep_selection and self.selected_id is not None:
            index = position if primed else self.model.index_of(self.selected_id)
            if index is not None:
                self._move_to(index, announce=False)
                self.refresh()
                return
        self._move_to(min(self.cursor, max(0, count - 1)), announce=True)
        self.refresh()

    def rows_changed(self, rows: dict[str, Row]) -> bool:
        """Some messages changed: redraw only their lines. False when the change may move rows
        or change the count (a filter or sort on what changed): the caller re-reads the view."""
        if not self.model.order_is_stable():
            return False
        newest = self.model.cached_row(0)
        if newest is not None and any(r.seq > newest.seq for r in rows.values()):
            return False  # messages added since the view was read (an import, another instance): re-read
        top = int(self.scroll_offset.y)
        now = self.clock()
        for index in self.model.update_rows(rows):
            y = index - top + 1
            if (
                0 < y < self.size.height
            ):  # a poll that only moved "last polled" within its 5 s step: nothing
                self._repaint_if_changed(y, self.model.cached_row(index), now)
        return True

    def select_id(self, message_id: str, index: int | None = None) -> bool:
        """Select a message; pass its index when a worker already knows it (saves a query)."""
        index = self.model.index_of(message_id) if index is None else index
        if index is None:
            return False
        self.selected_id = message_id
        self._move_to(index, announce=True)
        return True

    def tick(self) -> None:
        """Once a second: repaint a visible row only if a relative age ("5s", "3m") or a
        time-dependent word ("sent, no receipt") now reads differently from what is on screen.
        Nothing changed: nothing is written."""
        now = self.clock()
        top = int(self.scroll_offset.y)
        for y, (row_id, _) in list(self._drawn.items()):
            row = self.model.cached_row(top + y - 1)
            if row is not None and row.id == row_id:
                self._repaint_if_changed(y, row, now)

    def visible_ids(self) -> list[str]:
        top = int(self.scroll_offset.y)
        rows = (self.model.cached_row(i) for i in range(top, top + max(0, self.size.height - 1)))
        return [row.id for row in rows if row is not None]

    # -- redraw helpers ---------------------------------------------------------------------
    def _refresh_screen_line(self, y: int) -> None:
        """Repaint one line given in screen coordinates (0 is the header)."""
        self.refresh(Region(0, y, self.size.width, 1))

    def _repaint_if_changed(self, y: int, row: Row | None, now: float) -> None:
        """Repaint line `y` from its start to the end of the last cell that differs from what was
        drawn (Textual writes a partial line from the widget's left edge, so that is the cost)."""
        drawn = self._drawn.get(y)
        if row is None or drawn is None or drawn[0] != row.id:
            self._refresh_screen_line(y)
            return
        cells = self._cells(row, now)
        if cells == drawn[1]:
            return
        end, x = 0, 2
        for new, old, (_, w) in zip(cells, drawn[1], self._columns(self.size.width), strict=False):
            x += w
            if new != old:
                end = x
        self.refresh(Region(0, y, end, 1))

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """Skip Textual's scrollbar repaint when nothing about our size changed.

        ScrollView compares the compositor's virtual size with ours, which never match for a line-
        API widget, so every layout anywhere on screen (a Static updated elsewhere) repainted the
        whole scrollbar column: ~1 KB per layout over SSH. (Textual 8.2.8, pinned.)"""
        key = (size, self.virtual_size, container_size)
        if key == self._laid_out:
            return False
        self._laid_out = key
        return super()._size_updated(size, virtual_size, container_size, layout)

    # -- paging off the UI thread -------------------------------------------------------------
    def _prefetch(self) -> None:
        """Read (in a thread) the pages just above and below the screen that are not cached."""
        if not self.is_mounted:
            return
        top = int(self.scroll_offset.y)
        margin = PAGE_SIZE // 2
        wanted = [
            n
            for n in self.model.missing_pages(top - margin, top + self.size.height + margin)
            if n not in self._loading
        ]
        if (
            self.model.capped
            and -1 not in self._loading
            and top + self.size.height + margin >= self.model.count()
        ):
            wanted.append(-1)  # -1: count further
        if wanted:
            self._loading.update(wanted)
            self._read_pages(wanted, self.model.generation)

    @work(thread=True, group="list-pages", exit_on_error=False)
    def _read_pages(self, numbers: list[int], generation: int) -> None:
        try:
            for number in numbers:
                if generation != self.model.generation:
                    return
                if number == -1:
                    cap = self.model.cap * 10
                    counted = self.model.store.count_upto(self.model.filter, cap + 1)
                    self.app.call_from_thread(self._counted_further, counted, cap, generation)
                    continue
                page = self.model.read_page(number)
                self.app.call_from_thread(self._install, number, page, generation)
        finally:
            self._loading.difference_update(numbers)

    @work(thread=True, group="list-count", exclusive=True, exit_on_error=False)
    def _count_view(self, flt: ListFilter, generation: int) -> None:
        counted = self.model.store.count_upto(flt, COUNT_CAP + 1)
        self.app.call_from_thread(self._view_counted, counted, generation)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """This widget's own workers (their events do not bubble to the app): a failed count or
        page read is told like any worker failure, and a count never stays "provisional" for ever."""
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        if event.worker.group == "list-count":
            self.model.counting = False
            self.refresh()
        report = getattr(self.app, "report_failure", None)
        if report is not None:
            report(
                "Reading the list",
                event.worker.error,
                event.worker.group,
                "the list shows what it has",
            )

    def _view_counted(self, counted: int, generation: int) -> None:
        if self.model.counted(counted, generation):
            self.virtual_size = Size(self.size.width, self.model.count() + 1)
            self._refresh_screen_line(0)  # the header shows the count
            self._prefetch()

    def _install(self, number: int, page: list[Row], generation: int) -> None:
        if not self.model.install(number, page, generation):
            return
        top = int(self.scroll_offset.y)
        first, last = number * PAGE_SIZE, number * PAGE_SIZE + len(page)
        if (
            first < top + self.size.height and last > top
        ):  # part of it is on screen: draw those lines
            self.refresh()

    def _counted_further(self, counted: int, cap: int, generation: int) -> None:
        if not self.model.counted_further(counted, cap, generation):
            return
        self.virtual_size = Size(self.size.width, self.model.count() + 1)
        self._refresh_screen_line(0)  # the header shows the count

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
        row = self.model.row(index)
        new_id = row.id if row else None
        changed = new_id != self.selected_id
        self.selected_id = new_id
        if not self._scroll_cursor_into_view():
            top = int(self.scroll_offset.y)
            for line in {previous, index}:
                if top <= line < top + self.size.height - 1:
                    self._refresh_screen_line(line - top + 1)
        self._prefetch()
        if announce or changed:
            self.post_message(self.Highlighted(new_id))

    def _scroll_cursor_into_view(self) -> bool:
        """True when it scrolled (so the whole view is redrawn anyway)."""
        visible = max(1, self.size.height - 1)  # line 0 is the header
        top = int(self.scroll_offset.y)
        target = None
        if self.cursor < top:
            target = self.cursor
        elif self.cursor >= top + visible:
            target = self.cursor - visible + 1
        if target is None:
            return False
        # force: right after the row count grew, layout has not yet shown the scrollbar, and
        # without it Textual ignores the scroll
        self.scroll_to(y=target, animate=False, immediate=True, force=True)
        return True

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta, announce=False)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.size.height - 2), announce=False)

    def action_jump(self, where: int) -> None:
        if where != 0 and self.model.capped:
            self.model.count_further(exact=True)  # the last row needs the real count
            self.virtual_size = Size(self.size.width, self.model.count() + 1)
            self._refresh_screen_line(0)
        self._move_to(0 if where == 0 else self.model.count() - 1, announce=False)

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

    # -- drawing ----------------------------------------------------------------------------
    def _columns(self, width: int) -> list[tuple[str, int]]:
        cols = [("STATUS", 12), ("PROVIDER", 9), ("TO", 14), ("ID", 9), ("POLLED", 7)]
        if width >= 100:
            cols.insert(4, ("CHANGED", 8))
        used = sum(w for _, w in cols) + 2
        cols.append(("DETAIL", max(0, width - used)))
        return cols

    def render_line(self, y: int) -> Strip:
        self.lines_rendered += 1
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._header(width, base)
        index = int(self.scroll_offset.y) + y - 1
        row = self.model.cached_row(index)
        self._drawn.pop(y, None)
        if row is None:
            if index < self.model.count():  # its page is being read in a thread
                self._prefetch()
                return Strip(
                    [
                        Segment(
                            "  …",
                            base + self.get_component_rich_style("messagelist--dim", partial=True),
                        )
                    ]
                ).crop_extend(0, width, base)
            if index == 0 and self.model.count() == 0:
                f = self.model.filter
                if f.text or f.statuses or f.provider or f.error_code:
                    hint = "  No messages match this filter (Esc clears it)."
                else:
                    hint = "  No messages here yet. Press / and paste a message ID, or i to import a file."
                return Strip(
                    [
                        Segment(
                            hint,
                            base + self.get_component_rich_style("messagelist--dim", partial=True),
                        )
                    ]
                ).crop_extend(0, width, base)
            return Strip.blank(width, base)
        selected = index == self.cursor
        style = base + self.get_component_rich_style("messagelist--cursor") if selected else base
        now = self.clock()
        cells = self._cells(row, now)
        self._drawn[y] = (row.id, cells)
        # simplify: neighbouring cells of one style become one run, fewer escape codes per repaint
        return (
            Strip(self._row_segments(cells, width, style, selected))
            .crop_extend(0, width, style)
            .simplify()
        )

    def _header(self, width: int, base: Style) -> Strip:
        header = base + self.get_component_rich_style("messagelist--header")
        text = "  " + "".join(name[: max(0, w - 1)].ljust(w) for name, w in self._columns(width))
        shown = f"{self.model.count_label()} " if self.model.count() else ""
        if (
            len(text.rstrip()) + len(shown) + 1 <= width
        ):  # the count, right-aligned, when it fits whole
            text = text[: width - len(shown)].ljust(width - len(shown)) + shown
        return Strip([Segment(text, header)]).crop_extend(0, width, header)

    def _cells(self, row: Row, now: float) -> tuple[tuple[str, str], ...]:
        """Each column's text and colour (a component class; "" for none), in `_columns` order.

        Also what is remembered per drawn line, so a tick or a live update repaints a line only
        when a cell would read or look different, and then only up to the last changed cell."""
        stuck = is_no_receipt(row.provider, row.status, row.last_changed, now)
        status_class = row.status if row.status in GLYPH else ""
        why = reason(row.error_code, row.error_message)
        if stuck:
            tail = (
                f"{NO_RECEIPT} for {age(now - row.last_changed)}"
                if row.last_changed
                else NO_RECEIPT,
                "noreceipt",
            )
        elif why and row.status not in (
            "delivered",
            "read",
        ):  # failed, blocked, cancelled...: say why
            tail = (safe_text(why, single_line=True, limit=200), status_class)
        elif row.last_error and row.last_polled is None:
            tail = ("⚠ " + safe_text(row.last_error, single_line=True, limit=200), "dim")
        else:
            tail = (safe_text(row.body or "", single_line=True, limit=200), "dim")
        if row.last_polled:
            label = safe_text(
                status_label(row.status, row.provider_status), single_line=True, limit=24
            )
            status = (label, "noreceipt" if stuck else status_class)
        else:
            status = ("◌ waiting", "dim")
        values = {
            "STATUS": status,
            "PROVIDER": (Provider(row.provider).label if row.provider in PROVIDERS else "?", ""),
            "TO": (safe_text(row.to or "-", single_line=True, limit=20), ""),
            "ID": (safe_text(short_id(row.id), single_line=True), "dim"),
            "CHANGED": (list_age(now - row.last_changed) if row.last_changed else "-", ""),
            "POLLED": (list_age(now - row.last_polled) if row.last_polled else "never", "dim"),
            "DETAIL": tail,
        }
        return tuple(values[name] for name, _ in self._columns(self.size.width))

    def _row_segments(
        self, cells: tuple[tuple[str, str], ...], width: int, style: Style, selected: bool
    ) -> list[Segment]:
        segments = [Segment("▶ " if selected else "  ", style)]
        for (text, colour), (_, w) in zip(cells, self._columns(width), strict=False):
            # partial: only the colour, so the cursor's background survives on every cell
            cell_style = (
                style + self.get_component_rich_style(f"messagelist--{colour}", partial=True)
                if colour
                else style
            )
            segments.append(Segment((text[: w - 1] + " ").ljust(w) if w else "", cell_style))
        return segments
