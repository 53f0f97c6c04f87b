"""The history: one contract every caller types against (`Store`), and its backends.

Callers outside `tui/store/` import from here only: `Store` (the contract), `SQLiteStore` (the
local file), the row types, and `open_store` in `tui.store.open` (the file or a team's server,
as the settings say). No Textual here.
"""

from tui.store.history import HistoryStore
from tui.store.rows import Changes, FetchOutcome, ListFilter, Row, Stored

#: The contract every backend implements (the SQLite store, until the backends are split).
Store = HistoryStore
#: The local SQLite file.
SQLiteStore = HistoryStore

__all__ = ["Changes", "FetchOutcome", "ListFilter", "Row", "SQLiteStore", "Store", "Stored"]
