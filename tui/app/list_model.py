"""The message list's view model: a filtered, sorted window onto the store, read a page at a time.

The list never holds all rows: it asks for the count and for the pages that are on screen, and
keeps the last few pages in an LRU cache. That is what lets 100,000 messages open as fast as 100.

Counts are capped (`COUNT_CAP`): a keystroke in the find bar costs at most a scan of that many
matches, and the list says "10,000+" until the user scrolls towards the end of what was counted.
A page that follows a cached page is read by key (`seq < last`), not by OFFSET, so paging down
through a large filtered view never rescans what was already passed.
"""

from __future__ import annotations

from collections import OrderedDict

from tui.store import ListFilter, Row, Store

PAGE_SIZE = 128
MAX_PAGES = 32
COUNT_CAP = 10_000


class ListModel:
    def __init__(self, store: Store, flt: ListFilter | None = None, sort: str = "newest") -> None:
        self.store = store
        self.filter = flt or ListFilter()
        self.sort = sort
        self.cap = COUNT_CAP
        self._count: int | None = None
        self.capped = False  # the count stopped at `cap`: there are more rows than `_count`
        self.counting = False  # `_count` is provisional (a full first page) until a thread counts
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()
        self.generation = (
            0  # bumped on every invalidation: pages read for an older view are dropped
        )
        self.reads = 0  # page reads from the store (benchmarks look at this)

    def set_filter(self, flt: ListFilter) -> None:
        if flt != self.filter:
            self.filter = flt
            self.invalidate()

    def set_sort(self, sort: str) -> None:
        if sort != self.sort:
            self.sort = sort
            self.invalidate()

    def prime(self, flt: ListFilter, count: int | None, first_page: list[Row]) -> None:
        """Adopt a filter whose first page (and maybe count) was already read off the UI thread.

        `count` may come from `store.count_upto(flt, COUNT_CAP + 1)` (`cap + 1` means capped), or
        be None: then a short first page is the whole count, and a full one is a provisional count
        (`counting` is set) that the list replaces by counting in a thread after the rows are shown."""
        self.filter = flt
        self.generation += 1
        self.cap = COUNT_CAP
        self.counting = False
        if count is not None:
            self._set_count(count)
        elif len(first_page) < PAGE_SIZE:
            self._count, self.capped = len(first_page), False
        else:
            self._count, self.capped, self.counting = len(first_page), False, True
        self._pages.clear()
        self._pages[0] = first_page

    def counted(self, counted: int, generation: int) -> bool:
        """The background count of a primed view arrived; False if the view changed meanwhile."""
        if generation != self.generation or not self.counting:
            return False
        self.counting = False
        self._set_count(counted)
        return True

    def invalidate(self) -> None:
        self._count = None
        self.capped = self.counting = False
        self.cap = COUNT_CAP
        self.generation += 1
        self._pages.clear()

    def _set_count(self, counted: int) -> None:
        """`cap + 1` is what a capped count returns when it stopped early; any other number is exact."""
        self.capped = counted == self.cap + 1
        self._count = self.cap if self.capped else counted

    def count(self) -> int:
        if self._count is None:
            self._set_count(self.store.count_upto(self.filter, self.cap + 1))
        return self._count  # type: ignore[return-value]

    def count_label(self) -> str:
        """`1,234` or `10,000+`."""
        n = self.count()
        return f"{n:,}+" if self.capped or self.counting else f"{n:,}"

    def counted_further(self, counted: int, cap: int, generation: int) -> bool:
        """A thread counted a capped view up to a larger `cap` (the user scrolled near its end)."""
        if generation != self.generation or not self.capped:
            return False
        self.cap = cap
        self._set_count(counted)
        return True

    def count_further(self, exact: bool = False) -> bool:
        """Near the end of a capped count: count ten times further (or all). True if it grew."""
        if not self.capped:
            return False
        before = self.count()
        if exact:
            self._count, self.capped = self.store.count(self.filter), False
        else:
            self.cap *= 10
            self._set_count(self.store.count_upto(self.filter, self.cap + 1))
        return self.count() != before

    def row(self, index: int) -> Row | None:
        if index < 0 or index >= self.count():
            return None
        number, offset = divmod(index, PAGE_SIZE)
        page = self._pages.get(number)
        if page is None:
            page = self.read_page(number)
            self.install(number, page, self.generation)
        else:
            self._pages.move_to_end(number)
        return page[offset] if offset < len(page) else None

    def cached_row(self, index: int) -> Row | None:
        """The row if its page is in memory; never reads (for redraw decisions)."""
        number, offset = divmod(index, PAGE_SIZE)
        page = self._pages.get(number)
        return page[offset] if page is not None and 0 <= offset < len(page) else None

    def missing_pages(self, first: int, last: int) -> list[int]:
        """Page numbers covering rows first..last (clamped to the count) that are not cached."""
        last = min(last, self.count() - 1)
        if last < max(0, first):
            return []
        return [
            n
            for n in range(max(0, first) // PAGE_SIZE, last // PAGE_SIZE + 1)
            if n not in self._pages
        ]

    def read_page(self, number: int) -> list[Row]:
        """Read one page; by key after the previous page when that is cached. Safe in a thread
        (it only reads the cache); `install` the result on the UI thread."""
        self.reads += 1
        before = self._pages.get(number - 1)
        if before and len(before) == PAGE_SIZE:
            return self.store.page_after(self.filter, before[-1], PAGE_SIZE, self.sort)
        return self.store.page(self.filter, number * PAGE_SIZE, PAGE_SIZE, self.sort)

    def install(self, number: int, page: list[Row], generation: int) -> bool:
        """Keep a page read for `generation`; False (dropped) if the view changed meanwhile."""
        if generation != self.generation:
            return False
        self._pages[number] = page
        self._pages.move_to_end(number)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        return True

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
                if fresh is not None and fresh != cached:
                    page[offset] = fresh
                    touched.add(number * PAGE_SIZE + offset)
        return touched

    def order_is_stable(self) -> bool:
        """True when a row's status change neither moves it nor hides it."""
        f = self.filter
        return self.sort == "newest" and not f.text and not f.statuses and not f.error_code
