"""A CSV with an `id` (or `message_id`) column and an optional `provider` column."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from tui.importers.base import ImportResult, Problem
from tui.model import Provider

ID_COLUMNS = ("id", "message_id", "messageid", "message id")


def looks_like_csv(first_line: str) -> bool:
    cells = [c.strip().strip('"').lower() for c in first_line.split(",")]
    return len(cells) > 1 and any(c in ID_COLUMNS for c in cells)


def read_csv(
    lines: Iterable[str], default_provider: Provider | None = None, *, first_line: int = 1
) -> ImportResult:
    """Rows from `lines` (the header first, which is line `first_line` of the file). A row the CSV
    reader refuses (a field over its 131,072-character limit, a stray quote) is a problem with its
    line number, and reading goes on with the next row."""
    result = ImportResult("csv")
    reader = csv.reader(iter(lines))

    def where() -> str:
        return f"line {first_line - 1 + reader.line_num}"

    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return result
    except csv.Error as exc:
        result.problems.append(Problem(where(), f"the header is not a CSV row ({exc})"))
        return result
    id_col = next((i for i, h in enumerate(header) if h in ID_COLUMNS), None)
    if id_col is None:
        result.problems.append(Problem(where(), "no id column in the header"))
        return result
    provider_col = header.index("provider") if "provider" in header else None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.problems.append(Problem(where(), f"not a CSV row ({exc}): skipped"))
            continue
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if id_col >= len(row):
            result.problems.append(Problem(where(), "the row has no id cell"))
            continue
        provider: Provider | str | None = default_provider
        raw = row[id_col].strip()
        if provider_col is not None and provider_col < len(row) and row[provider_col].strip():
            value = row[provider_col].strip().lower().replace(".", "")
            if value not in ("sentdm", "sendo"):
                result.problems.append(
                    Problem(
                        where(), f"unknown provider {row[provider_col][:20]!r} (sentdm or sendo)"
                    )
                )
                continue
            provider = value
        result.add(where(), raw, provider)
    return result
