"""A CSV with an `id` (or `message_id`) column and an optional `provider` column."""

from __future__ import annotations

import csv
import io

from tui.importers.base import ImportResult, Problem
from tui.model import Provider

ID_COLUMNS = ("id", "message_id", "messageid", "message id")


def looks_like_csv(first_line: str) -> bool:
    cells = [c.strip().strip('"').lower() for c in first_line.split(",")]
    return len(cells) > 1 and any(c in ID_COLUMNS for c in cells)


def read_csv(text: str, default_provider: Provider | None = None) -> ImportResult:
    result = ImportResult("csv")
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return result
    id_col = next((i for i, h in enumerate(header) if h in ID_COLUMNS), None)
    if id_col is None:
        result.problems.append(Problem("line 1", "no id column in the header"))
        return result
    provider_col = header.index("provider") if "provider" in header else None
    for row in reader:
        number = reader.line_num
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if id_col >= len(row):
            result.problems.append(Problem(f"line {number}", "the row has no id cell"))
            continue
        provider: Provider | str | None = default_provider
        raw = row[id_col].strip()
        if provider_col is not None and provider_col < len(row) and row[provider_col].strip():
            value = row[provider_col].strip().lower().replace(".", "")
            if value not in ("sentdm", "sendo"):
                result.problems.append(
                    Problem(
                        f"line {number}",
                        f"unknown provider {row[provider_col][:20]!r} (sentdm or sendo)",
                    )
                )
                continue
            provider = value
        result.add(f"line {number}", raw, provider)
    return result
