"""The message list: a `ScrollView` that draws only the visible lines (Textual's line API).

Rows come from `ListModel` a page at a time, so 100,000 messages cost what 30 do. Every cell is a
plain `Segment`: provider text is never parsed as markup, and `safe_text` has already removed
control characters.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.app.format import GLYPH, age, short_id
from tui.app.list_model import ListModel
from tui.store.history import Row
from tui.textsafe import safe_text

STATUS_CLASSES = [f"messagelist--{s}" for s in GLYPH]


class MessageList(ScrollView, can_focus=True):
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
    COMPONENT_CLASSES = {"messagelist--cursor", "messagelist--header", "messagelist--dim", *STATUS_CLASSES}

    cursor: reactive[int] = reactive(0, always_update=True)

    class Highlighted(Message):
        """The cursor moved to another message (or the list became empty)."""

        def __init__(self, message_id: str | None) -> None:
            self.message_id = message_id
            super().__init__()

    class Opened(Message):
        def __init__(self, message_id: str) -> None:
            self.message_id = message_id
            super().__init__()

    def __init__(self, model: ListModel, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.clock = clock
        self.selected_id: str | None = None
        self._age_signature: list[tuple[str, str]] = []

    # -- data -------------------------------------------------------------------------------
    def reload(self, keep_selection: bool = True, *, position: int | None = None, primed: bool = False) -> None:
        """Re-read the count (after a filter, a sort or new rows) and keep the selection on its message.

        `primed`: the model already holds fresh data (read by a worker), so nothing is re-read;
        `position` is then the selected message's index in it, if the worker found one.
        """
        if not primed:
            self.model.invalidate()
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
        top = int(self.scroll_offset.y)
        for index in self.model.update_rows(rows):
            if top <= index < top + self.size.height:
                self.refresh_line(index - top + 1)
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
        """Once a second: redraw only if a visible relative age ("5s", "3m") would read differently."""
        now = self.clock()
        signature = [(age(now - row.last_polled) if row.last_polled else "", age(now - row.last_changed) if row.last_changed else "")
                     for row in self._visible_rows()]
        if signature != self._age_signature:
            self._age_signature = signature
            self.refresh()

    def visible_ids(self) -> list[str]:
        return [row.id for row in self._visible_rows()]

    def _visible_rows(self) -> list[Row]:
        top = int(self.scroll_offset.y)
        rows = []
        for index in range(top, top + max(0, self.size.height - 1)):  # line 0 is the header
            row = self.model.row(index)
            if row is None:
                break
            rows.append(row)
        return rows

    # -- cursor -----------------------------------------------------------------------------
    def _move_to(self, index: int, *, announce: bool) -> None:
        count = self.model.count()
        index = max(0, min(index, count - 1)) if count else 0
        self.cursor = index
        row = self.model.row(index)
        new_id = row.id if row else None
        changed = new_id != self.selected_id
        self.selected_id = new_id
        self._scroll_cursor_into_view()
        if announce or changed:
            self.post_message(self.Highlighted(new_id))

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.size.height - 1)  # line 0 is the header
        top = int(self.scroll_offset.y)
        target = None
        if self.cursor < top:
            target = self.cursor
        elif self.cursor >= top + visible:
            target = self.cursor - visible + 1
        if target is None:
            return
        # force: right after the row count grew, layout has not yet shown the scrollbar, and
        # without it Textual ignores the scroll
        self.scroll_to(y=target, animate=False, immediate=True, force=True)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta, announce=False)
        self.refresh()

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.size.height - 2), announce=False)
        self.refresh()

    def action_jump(self, where: int) -> None:
        self._move_to(0 if where == 0 else self.model.count() - 1, announce=False)
        self.refresh()

    def action_open(self) -> None:
        if self.selected_id:
            self.post_message(self.Opened(self.selected_id))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            return
        self.focus()
        self._move_to(int(self.scroll_offset.y) + event.y - 1, announce=False)
        self.refresh()

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
        width = self.size.width
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("messagelist--header")
            text = "  " + "".join(name[: max(0, w - 1)].ljust(w) for name, w in self._columns(width))
            return Strip([Segment(text, base + header)]).crop_extend(0, width, base + header)
        index = int(self.scroll_offset.y) + y - 1
        row = self.model.row(index)
        if row is None:
            if index == 0 and self.model.count() == 0:
                f = self.model.filter
                if f.text or f.statuses or f.provider or f.error_code:
                    hint = "  No messages match this filter (Esc clears it)."
                else:
                    hint = "  No messages here yet. Press / and paste a message ID, or i to import a file."
                return Strip([Segment(hint, base + self.get_component_rich_style("messagelist--dim", partial=True))]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        selected = index == self.cursor
        style = base + self.get_component_rich_style("messagelist--cursor") if selected else base
        return Strip(self._row_segments(row, width, style, selected)).crop_extend(0, width, style)

    def _row_segments(self, row: Row, width: int, style: Style, selected: bool) -> list[Segment]:
        now = self.clock()
        # partial: only the colour, so the cursor's background survives on every cell
        status_style = style + self.get_component_rich_style(f"messagelist--{row.status}", partial=True) if row.status in GLYPH else style
        dim = style + self.get_component_rich_style("messagelist--dim", partial=True)
        provider = {"sentdm": "Sent.dm", "sendo": "Sendo"}.get(row.provider or "", "?")
        if row.status == "failed":
            tail = safe_text(f"{row.error_code or ''} {row.error_message or ''}".strip(), single_line=True, limit=200)
        elif row.last_error and row.last_polled is None:
            tail = "⚠ " + safe_text(row.last_error, single_line=True, limit=200)
        else:
            tail = safe_text(row.body or "", single_line=True, limit=200)
        values = {
            "STATUS": (f"{GLYPH.get(row.status, '?')} {row.status}" if row.last_polled else "◌ waiting", status_style if row.last_polled else dim),
            "PROVIDER": (provider, style),
            "TO": (safe_text(row.to or "-", single_line=True, limit=20), style),
            "ID": (short_id(row.id), dim),
            "CHANGED": (age(now - row.last_changed) if row.last_changed else "-", style),
            "POLLED": (age(now - row.last_polled) if row.last_polled else "never", dim),
            "DETAIL": (tail, dim if row.status != "failed" else status_style),
        }
        segments = [Segment("▶ " if selected else "  ", style)]
        for name, w in self._columns(width):
            text, cell_style = values[name]
            segments.append(Segment((text[: w - 1] + " ").ljust(w) if w else "", cell_style))
        return segments
