"""The message list's view model: a filtered, sorted window onto the store, read a page at a time.

The list never holds all rows: it asks for the count and for the pages that are on screen, and
keeps the last few pages in an LRU cache. That is what lets 100,000 messages open as fast as 100.
"""

from __future__ import annotations

from collections import OrderedDict

from tui.store.history import HistoryStore, ListFilter, Row

PAGE_SIZE = 128
MAX_PAGES = 32


class ListModel:
    def __init__(self, store: HistoryStore, flt: ListFilter | None = None, sort: str = "newest") -> None:
        self.store = store
        self.filter = flt or ListFilter()
        self.sort = sort
        self._count: int | None = None
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()
        self.reads = 0  # page reads from the store (benchmarks look at this)

    def set_filter(self, flt: ListFilter) -> None:
        if flt != self.filter:
            self.filter = flt
            self.invalidate()

    def set_sort(self, sort: str) -> None:
        if sort != self.sort:
            self.sort = sort
            self.invalidate()

    def prime(self, flt: ListFilter, count: int, first_page: list[Row]) -> None:
        """Adopt a filter whose count and first page were already read (off the UI thread)."""
        self.filter = flt
        self._count = count
        self._pages.clear()
        self._pages[0] = first_page

    def invalidate(self) -> None:
        self._count = None
        self._pages.clear()

    def count(self) -> int:
        if self._count is None:
            self._count = self.store.count(self.filter)
        return self._count

    def row(self, index: int) -> Row | None:
        if index < 0 or index >= self.count():
            return None
        number, offset = divmod(index, PAGE_SIZE)
        page = self._pages.get(number)
        if page is None:
            page = self.store.page(self.filter, number * PAGE_SIZE, PAGE_SIZE, self.sort)
            self.reads += 1
            self._pages[number] = page
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(number)
        return page[offset] if offset < len(page) else None

    def index_of(self, message_id: str) -> int | None:
        return self.store.position(message_id, self.filter, self.sort)

    def update_rows(self, rows: dict[str, Row]) -> set[int]:
        """Replace cached copies of changed rows in place; returns their indexes (to redraw).

        Only valid while the change cannot move a row or change the count (the default sort with
        no status/text filter); callers check `order_is_stable()` first and invalidate otherwise.
        """
        touched: set[int] = set()
        for number, page in self._pages.items():
            for offset, cached in enumerate(page):
                fresh = rows.get(cached.id)
                if fresh is not None:
                    page[offset] = fresh
                    touched.add(number * PAGE_SIZE + offset)
        return touched

    def order_is_stable(self) -> bool:
        """True when a row's status change neither moves it nor hides it."""
        f = self.filter
        return self.sort == "newest" and not f.text and not f.statuses and not f.error_code
