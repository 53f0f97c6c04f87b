"""The message list's view model: a filtered, sorted window onto the store, read a page at a time.

The list never holds all rows: it knows the count and the pages that are on screen, and keeps the
last few pages in an LRU cache. That is what lets 100,000 messages open as fast as 100.

Reading and adopting are separate steps. The `read_*` methods touch the store and are called in a
thread; everything else only looks at memory and runs on the UI's turn of the loop, so neither a
keystroke nor a redraw ever waits for a query. Each adopted view bumps `generation`: a page or a
count read for an older view is dropped when it lands.

Counts are capped (`COUNT_CAP`): a keystroke in the find bar costs at most a scan of that many
matches, and the list says "10,000+" until the user scrolls towards the end of what was counted
(or presses End, which counts exactly). A page that follows a cached page is read by key
(`seq < last`), not by OFFSET, so paging down a large filtered view never rescans what it passed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field

from tui.store import ListFilter, Row, Store

PAGE_SIZE = 128
MAX_PAGES = 32
COUNT_CAP = 10_000
SORTS = ("newest", "changed")


@dataclass
class ViewRead:
    """A view as read in a thread, ready to `adopt`: pages by number, maybe a count (read up to
    `cap + 1`) and the position of the message to select."""

    filter: ListFilter
    sort: str
    pages: dict[int, list[Row]] = field(default_factory=dict)
    count: int | None = None
    cap: int = field(default_factory=lambda: COUNT_CAP)
    position: int | None = None


def read_ahead(store: Store, flt: ListFilter, sort: str = "newest") -> Future[tuple[int, ViewRead]]:
    """Start reading a view's first page, and the store revision it is read at, in a thread now:
    the list adopts it when it is mounted, so the first frame can show rows without the UI
    thread ever reading (start-up has tens of milliseconds of its own to overlap it with)."""
    future: Future[tuple[int, ViewRead]] = Future()

    def read() -> None:
        # running from here on: an app that leaves before the page is read cancels its wait for
        # it (asyncio.wrap_future), not this future, which would then refuse the result
        if not future.set_running_or_notify_cancel():
            return
        try:
            rev = store.current_rev()  # before the page: a write after it is someone's news
            future.set_result((rev, ListModel(store).read_view(flt, sort)))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever adopts the view
            future.set_exception(exc)

    threading.Thread(target=read, name="sendwatch-first-view", daemon=True).start()
    return future


class ListModel:
    def __init__(self, store: Store, flt: ListFilter | None = None, sort: str = "newest") -> None:
        self.store = store
        self.filter = flt or ListFilter()
        self.sort = sort
        self.cap = COUNT_CAP
        self._count = 0
        self.capped = False  # the count stopped at `cap`: there are more rows than `_count`
        self.counting = False  # `_count` is provisional (a full first page) until a thread counts
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()
        self.generation = 0  # bumped by every adopted view: reads for an older one are dropped
        self.reads = 0  # page reads from the store (benchmarks look at this)

    # -- reads (in a thread) -------------------------------------------------------------------
    def read_view(self, flt: ListFilter, sort: str, around: str | None = None) -> ViewRead:
        """What it takes to show a view: without `around`, its first page only (counted later, see
        `adopt`); with `around` (select this message), also its position, its page and a count."""
        first = self.store.page(flt, 0, PAGE_SIZE, sort)
        view = ViewRead(flt, sort, {0: first})
        if around is None:
            return view
        position = next((i for i, row in enumerate(first) if row.id == around), None)
        if position is None:
            position = self.store.position(around, flt, sort)
        view.position = position
        if position is not None and position >= PAGE_SIZE:
            number = position // PAGE_SIZE
            view.pages[number] = self.store.page(flt, number * PAGE_SIZE, PAGE_SIZE, sort)
        if len(first) == PAGE_SIZE:
            view.cap = max(view.cap, (position or 0) + 1)
            view.count = self.store.count_upto(flt, view.cap + 1)
        return view

    def read_page(self, number: int) -> list[Row]:
        """One page of the current view; by key after the previous page when that is cached (it
        only reads the cache); `install` the result on the UI thread."""
        self.reads += 1
        before = self._pages.get(number - 1)
        if before and len(before) == PAGE_SIZE:
            return self.store.page_after(self.filter, before[-1], PAGE_SIZE, self.sort)
        return self.store.page(self.filter, number * PAGE_SIZE, PAGE_SIZE, self.sort)

    def read_count(self, flt: ListFilter, cap: int) -> int:
        """Count up to `cap + 1` (which means "more than cap")."""
        return self.store.count_upto(flt, cap + 1)

    def read_exact_count(self, flt: ListFilter) -> int:
        return self.store.count(flt)

    # -- adopting (UI thread, memory only) --------------------------------------------------------
    def adopt(self, view: ViewRead) -> None:
        """Show a view read off the UI thread. Without a count a short first page is the whole
        count, and a full one a provisional count (`counting`) that a thread replaces later."""
        self.filter, self.sort = view.filter, view.sort
        self.generation += 1
        self.cap = view.cap
        self.counting = False
        first = view.pages.get(0, [])
        if view.count is not None:
            self._set_count(view.count)
        elif len(first) < PAGE_SIZE:
            self._count, self.capped = len(first), False
        else:
            self._count, self.capped, self.counting = len(first), False, True
        self._pages.clear()
        for number in sorted(view.pages):
            self._pages[number] = view.pages[number]

    def counted(self, counted: int, generation: int) -> bool:
        """The background count of a view arrived; False if the view changed meanwhile."""
        if generation != self.generation or not self.counting:
            return False
        self.counting = False
        self._set_count(counted)
        return True

    def counted_further(self, counted: int, cap: int, generation: int) -> bool:
        """A thread counted a capped view up to a larger `cap` (the user scrolled near its end)."""
        if generation != self.generation or not self.capped:
            return False
        self.cap = cap
        self._set_count(counted)
        return True

    def counted_exactly(self, counted: int, generation: int) -> bool:
        """The exact count of a capped view arrived (End was pressed)."""
        if generation != self.generation:
            return False
        self._count, self.capped, self.counting = counted, False, False
        return True

    def _set_count(self, counted: int) -> None:
        """`cap + 1` is what a capped count returns when it stopped early; any other number is exact."""
        self.capped = counted == self.cap + 1
        self._count = self.cap if self.capped else counted

    def count(self) -> int:
        """Rows in the view as far as known (never reads)."""
        return self._count

    @property
    def exact(self) -> bool:
        return not (self.capped or self.counting)

    def count_label(self) -> str:
        """`1,234` or `10,000+`."""
        return f"{self._count:,}" if self.exact else f"{self._count:,}+"

    def cached_row(self, index: int) -> Row | None:
        """The row if its page is in memory (never reads)."""
        number, offset = divmod(index, PAGE_SIZE)
        page = self._pages.get(number)
        return page[offset] if page is not None and 0 <= offset < len(page) else None

    def missing_pages(self, first: int, last: int) -> list[int]:
        """Page numbers covering rows first..last (clamped to the count) that are not cached."""
        last = min(last, self._count - 1)
        if last < max(0, first):
            return []
        return [
            n
            for n in range(max(0, first) // PAGE_SIZE, last // PAGE_SIZE + 1)
            if n not in self._pages
        ]

    def install(self, number: int, page: list[Row], generation: int) -> bool:
        """Keep a page read for `generation`; False (dropped) if the view changed meanwhile."""
        if generation != self.generation:
            return False
        self._pages[number] = page
        self._pages.move_to_end(number)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        return True

    def update_rows(self, rows: dict[str, Row]) -> set[int]:
        """Replace cached copies of changed rows in place; returns their indexes (to redraw).

        Only valid while the change cannot move a row or change the count (the default sort with
        no status/text filter); callers check `order_is_stable()` first and re-read otherwise.
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

    def newest_seq(self) -> int | None:
        """The newest row's sequence number in the cached first page (new rows are above it)."""
        first = self._pages.get(0)
        return first[0].seq if first else None
