"""What each column of the message list says for a row, and in which colour: plain text only.

A cell is `(text, colour)`, the colour being a component class of the list (`""` for none). The
list remembers the cells it drew per line, so a tick or a live update repaints a line only when a
cell would read or look different.
"""

from __future__ import annotations

from tui import present
from tui.store import ListFilter, Row
from tui.textsafe import safe_text

Cell = tuple[str, str]
#: (header, width); DETAIL takes what is left
NARROW_COLUMNS = [("STATUS", 12), ("PROVIDER", 9), ("TO", 14), ("ID", 9), ("POLLED", 7)]
CHANGED_FROM = 100  # columns from which the CHANGED column is shown


def columns(width: int) -> list[tuple[str, int]]:
    cols = list(NARROW_COLUMNS)
    if width >= CHANGED_FROM:
        cols.insert(4, ("CHANGED", 8))
    used = sum(w for _, w in cols) + 2
    cols.append(("DETAIL", max(0, width - used)))
    return cols


def header(width: int, count_label: str | None) -> str:
    """The header line, with the view's count right-aligned when it fits whole."""
    text = "  " + "".join(name[: max(0, w - 1)].ljust(w) for name, w in columns(width))
    if count_label:
        shown = f"{count_label} "
        if len(text.rstrip()) + len(shown) + 1 <= width:
            text = text[: width - len(shown)].ljust(width - len(shown)) + shown
    return text


def empty_hint(flt: ListFilter) -> str:
    if flt.text or flt.statuses or flt.provider or flt.error_code:
        return "  No messages match this filter (Esc clears it)."
    return "  No messages here yet. Press / and paste a message ID, or i to import a file."


def cells(row: Row, now: float, width: int) -> tuple[Cell, ...]:
    """Each column's text and colour, in `columns(width)` order."""
    stuck = present.is_no_receipt(row.provider, row.status, row.last_changed, now)
    status_class = row.status if row.status in present.GLYPH else ""
    why = present.reason(row.error_code, row.error_message)
    tail: Cell
    if stuck:
        since = row.last_changed
        tail = (
            f"{present.NO_RECEIPT} for {present.age(now - since)}" if since else present.NO_RECEIPT,
            "noreceipt",
        )
    elif why and row.status not in ("delivered", "read"):  # failed, blocked, cancelled…: say why
        tail = (safe_text(why, single_line=True, limit=200), status_class)
    elif row.last_error and row.last_polled is None:
        tail = ("⚠ " + safe_text(row.last_error, single_line=True, limit=200), "dim")
    else:
        tail = (safe_text(row.body or "", single_line=True, limit=200), "dim")
    if row.last_polled:
        status = (
            present.status_label(row.status, row.provider_status),
            "noreceipt" if stuck else status_class,
        )
    else:
        status = (f"{present.GLYPH[present.WAITING]} {present.WAITING}", "dim")
    changed = row.last_changed
    polled = row.last_polled
    values: dict[str, Cell] = {
        "STATUS": status,
        "PROVIDER": (present.provider_label(row.provider), ""),
        "TO": (safe_text(row.to or "-", single_line=True, limit=20), ""),
        "ID": (safe_text(present.short_id(row.id), single_line=True), "dim"),
        "CHANGED": (present.list_age(now - changed) if changed else "-", ""),
        "POLLED": (present.list_age(now - polled) if polled else "never", "dim"),
        "DETAIL": tail,
    }
    return tuple(values[name] for name, _ in columns(width))
