"""What the shared queries need of a database: the primitives each backend implements, once.

The query mixins (writes.py, queries.py, scheduling.py, seen.py) are written against `Backend`:
a write transaction on a connection of its own, a read, the revision a transaction stamps, a
per-message lock, a generation bump for deletes, free-text matching, and the dialect (dialect.py).

Transactions are re-entrant per thread: a write method called inside `transaction()` joins it, and
reads inside it see its own uncommitted rows. So a read-merge-write (a webhook push), a batch of
answers (`record_fetches`) or a send and its messages commit once, with one revision, or not at all.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar, Protocol

from tui.store.dialect import Dialect


class Cursor(Protocol):
    """What a statement gives back on either driver."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Tx(ABC):
    """One write transaction: runs the shared SQL (with `?` parameters) on its connection."""

    def __init__(self) -> None:
        #: the revision this transaction stamps on what it writes (taken once, when first needed)
        self.rev: int | None = None

    @abstractmethod
    def execute(self, sql: str, params: Iterable[Any] = ()) -> Cursor: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """One statement for many parameter rows, in as few round trips as the driver allows;
        returns the rows affected in total."""


class Backend(ABC):
    """The primitives under the shared queries, and the transaction machinery over them."""

    backend: ClassVar[str]
    dialect: ClassVar[Dialect]
    #: True when free text goes through SQLite's FTS5 trigram index (only the SQLite file has one)
    fts: bool = False

    def __init__(self) -> None:
        self._local = threading.local()

    @abstractmethod
    def _begin(self) -> AbstractContextManager[Tx]:
        """One write transaction: committed when the block ends, rolled back if it raises."""

    @abstractmethod
    def _read_direct(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run a read outside any transaction of this thread."""

    @abstractmethod
    def _stamp(self, tx: Tx) -> int:
        """The revision of this transaction (asked once per transaction)."""

    @abstractmethod
    def _lock_message(self, tx: Tx, message_id: str) -> None:
        """Serialize writers of one message until the transaction ends."""

    def _lock_messages(self, tx: Tx, message_ids: list[str]) -> None:
        """`_lock_message` for each of `message_ids` (sorted); a backend may take them at once."""
        for message_id in message_ids:
            self._lock_message(tx, message_id)

    @abstractmethod
    def _lock_tracking(self, tx: Tx) -> None:
        """Serialize `track` transactions: two imports of overlapping IDs in different orders
        would otherwise each wait for a row the other inserted (the list keeps the given order,
        so the rows cannot simply be sorted)."""

    @abstractmethod
    def _bump_generation(self, tx: Tx) -> None:
        """Rows were deleted: other instances reload instead of patching rows."""

    @abstractmethod
    def _text_match(self, text: str) -> tuple[str, list[Any]]:
        """SQL (and parameters) matching messages whose searchable fields contain `text`."""

    @contextmanager
    def transaction(self, *, lock: str | Iterable[str] = ()) -> Iterator[Tx]:
        """One write transaction for everything inside, re-entrant on this thread.

        `lock`: message ids whose writers are serialized from here on (taken in one order, so two
        transactions never wait on each other), so what is read of them inside the transaction
        stays true until the commit (read-merge-write)."""
        ids = sorted({lock} if isinstance(lock, str) else set(lock))
        current: Tx | None = getattr(self._local, "tx", None)
        if current is not None:
            self._lock_messages(current, ids)
            yield current
            return
        with self._begin() as tx:
            self._local.tx = tx
            try:
                self._lock_messages(tx, ids)
                yield tx
            finally:
                self._local.tx = None

    def _tx(self) -> AbstractContextManager[Tx]:
        """The write transaction (the short name the store's helpers, seeds and tests use)."""
        return self.transaction()

    def _rev(self, tx: Tx) -> int:
        """The revision this transaction stamps: one per transaction, whatever it writes."""
        if tx.rev is None:
            tx.rev = self._stamp(tx)
        return tx.rev

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """A read; inside this thread's transaction it runs there (and sees its own writes)."""
        current: Tx | None = getattr(self._local, "tx", None)
        if current is not None:
            return [tuple(r) for r in current.execute(sql, params).fetchall()]
        return self._read_direct(sql, tuple(params))

    def _count(self, sql: str, params: Iterable[Any] = ()) -> int:
        """The one integer a query answers (a count)."""
        return int(self._read(sql, params)[0][0])

    def _number(self, sql: str, params: Iterable[Any] = ()) -> float | None:
        """The one number (or NULL) a query answers (a min or max of times)."""
        value = self._read(sql, params)[0][0]
        return None if value is None else float(value)

    def _after_track(self, added: int) -> None:
        """Called after `track` added `added` messages (a backend may refresh its statistics)."""
        return None  # the file's statistics need nothing
