"""How the message list draws: only the visible lines (Textual's line API), and only what changed.

`MessageList` (what it shows, and every read behind it) builds on this. Every cell is a plain
`Segment`: provider text is never parsed as markup, and `safe_text` has already removed control
characters (`list_cells`). Over SSH every byte drawn is latency, so nothing is redrawn that did
not change: the cells drawn on each line are remembered, and a tick or a live update repaints a
line only when a cell would read or look different, and only up to that cell.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui import present
from tui.app.list_model import ListModel
from tui.app.widgets import list_cells
from tui.store import Row

STATUS_CLASSES = [f"messagelist--{s}" for s in present.GLYPH]


class MessageRows(ScrollView, can_focus=True):
    """Line 0 is the header (with the view's count), then one message per line; `cursor` is the
    selected line's index in the view."""

    DEFAULT_CSS = """
    MessageRows > .messagelist--cancelled { color: $text-muted; }
    MessageRows > .messagelist--received { color: $accent; }
    MessageRows > .messagelist--noreceipt { color: $warning; }
    """
    COMPONENT_CLASSES = {
        "messagelist--cursor",
        "messagelist--header",
        "messagelist--dim",
        "messagelist--noreceipt",
        *STATUS_CLASSES,
    }

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)  # moves repaint 2 lines

    def __init__(
        self, model: ListModel, *, clock: Callable[[], float] = time.time, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.model = model
        self.clock = clock
        self.ready = False  # the first view is read (until then an empty view says nothing)
        #: screen line -> (row id, its cells) as last drawn: what `repaint_ages` and live updates
        #: compare with before repainting anything
        self._drawn: dict[int, tuple[str, tuple[list_cells.Cell, ...]]] = {}
        self._laid_out: tuple[Size, Size, Size] | None = None
        self.lines_rendered = 0  # render_line calls (tests and benchmarks look at this)

    def _prefetch(self) -> None:
        """A line whose page is not cached was asked for: `MessageList` reads it in a thread."""

    def repaint_ages(self) -> None:
        """Repaint a visible row only if a relative age ("5s", "3m") or a time-dependent word
        ("sent, no receipt") now reads differently from what is on screen."""
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

    # -- drawing ----------------------------------------------------------------------------
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
        cells = list_cells.cells(row, now, self.size.width)
        if cells == drawn[1]:
            return
        end, x = 0, 2
        for new, old, (_, w) in zip(
            cells, drawn[1], list_cells.columns(self.size.width), strict=False
        ):
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

    def render_line(self, y: int) -> Strip:
        self.lines_rendered += 1
        width = self.size.width
        base = self.rich_style
        if y == 0:
            header = base + self.get_component_rich_style("messagelist--header")
            label = self.model.count_label() if self.model.count() else None
            text = list_cells.header(width, label)
            return Strip([Segment(text, header)]).crop_extend(0, width, header)
        index = int(self.scroll_offset.y) + y - 1
        row = self.model.cached_row(index)
        self._drawn.pop(y, None)
        if row is None:
            if index < self.model.count():  # its page is being read in a thread
                self._prefetch()
                return self._dim_line("  …", width, base)
            if index == 0 and self.ready and self.model.count() == 0:
                return self._dim_line(list_cells.empty_hint(self.model.filter), width, base)
            return Strip.blank(width, base)
        selected = index == self.cursor
        style = base + self.get_component_rich_style("messagelist--cursor") if selected else base
        cells = list_cells.cells(row, self.clock(), width)
        self._drawn[y] = (row.id, cells)
        # simplify: neighbouring cells of one style become one run, fewer escape codes per repaint
        return (
            Strip(self._row_segments(cells, width, style, selected))
            .crop_extend(0, width, style)
            .simplify()
        )

    def _dim_line(self, text: str, width: int, base: Style) -> Strip:
        dim = base + self.get_component_rich_style("messagelist--dim", partial=True)
        return Strip([Segment(text, dim)]).crop_extend(0, width, base)

    def _row_segments(
        self, cells: tuple[list_cells.Cell, ...], width: int, style: Style, selected: bool
    ) -> list[Segment]:
        segments = [Segment("▶ " if selected else "  ", style)]
        for (text, colour), (_, w) in zip(cells, list_cells.columns(width), strict=False):
            # partial: only the colour, so the cursor's background survives on every cell
            cell_style = (
                style + self.get_component_rich_style(f"messagelist--{colour}", partial=True)
                if colour
                else style
            )
            segments.append(Segment((text[: w - 1] + " ").ljust(w) if w else "", cell_style))
        return segments
