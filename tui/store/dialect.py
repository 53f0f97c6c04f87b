"""How SQLite and PostgreSQL spell what the shared queries need: the only differences, in one place.

The shared queries (writes.py, queries.py, scheduling.py, seen.py) are written in the SQL both
databases speak: `INSERT ... ON CONFLICT DO NOTHING`, `RETURNING`, `coalesce`, `CASE`, `LIKE` on
lower-case constants only. What does differ:
  * parameters: the shared SQL uses `?`; psycopg takes `%s`. `Dialect.statement()` swaps them and
    refuses SQL where that could change meaning (a `%`, or a `?` inside a quoted literal): such
    values are passed as parameters instead;
  * string aggregation: SQLite's `group_concat` (3.40 has no `string_agg`), PostgreSQL's `string_agg`;
  * the events' insertion order: SQLite's implicit `rowid`, a real identity column on PostgreSQL.
Free-text search is not spelling but an index each backend has (`Store._text_match`).
PostgreSQL-only SQL (tui/store/postgres.py) is written natively with `%s` and never passes here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@lru_cache(maxsize=1024)
def _format_style(sql: str) -> str:
    """`?` -> `%s`, for SQL that has no `%` and no `?` inside a string literal (checked, not guessed)."""
    if "%" in sql:
        raise ValueError("shared SQL passes '%' as a parameter, never in its text")
    pieces = sql.split("'")
    if any("?" in literal for literal in pieces[1::2]):
        raise ValueError("shared SQL passes '?' as a parameter, never inside a literal")
    return sql.replace("?", "%s")


@dataclass(frozen=True)
class Dialect:
    name: str
    #: how a query's placeholders reach the driver (SQLite takes the shared `?` as written)
    format_style: bool
    #: `group_concat` or `string_agg`: both take (expression, separator)
    string_agg: str
    #: the events table's insertion-order column
    event_order: str

    def statement(self, sql: str) -> str:
        """The shared SQL as this database's driver takes it."""
        return _format_style(sql) if self.format_style else sql

    def concat(self, expression: str, separator: str) -> str:
        """Aggregate `expression` into one string joined by `separator` (a plain literal)."""
        return f"{self.string_agg}({expression}, '{separator}')"


SQLITE = Dialect("sqlite", format_style=False, string_agg="group_concat", event_order="rowid")
POSTGRESQL = Dialect("postgresql", format_style=True, string_agg="string_agg", event_order="seq")
