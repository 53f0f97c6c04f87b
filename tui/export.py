"""Export the tracked messages: JSON (the objects `get --json` prints) or CSV (one row each),
each with the account that owns it.

Streams from the store in batches, so 100,000 messages never sit in memory at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from itertools import islice
from typing import Any, TextIO

from tui.store import ListFilter, Store

CSV_COLUMNS = [
    "id",
    "provider",
    "status",
    "provider_status",
    "to",
    "from",
    "channel",
    "error_code",
    "error_message",
    "error_advice",
    "created_at",
    "sent_at",
    "updated_at",
    "fetched_at",
    "campaigns",
    "last_poll_error",
    "account",
]
#: snapshots whose accounts are read in one query
ACCOUNT_BATCH = 500


#: what a spreadsheet takes as the start of a formula (or, for TAB and CR, hides one behind)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Text we did not write, made inert for spreadsheets: a cell starting with `=`, `+`, `-`, `@`,
    TAB or CR gets a leading `'` (OWASP's advice against CSV injection), so `=HYPERLINK(…)` in a
    message body is shown, never evaluated."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_row(item: dict[str, Any]) -> dict[str, Any]:
    error = item.get("error") or {}
    row = {key: item.get(key) for key in CSV_COLUMNS}
    row["error_code"] = error.get("code")
    row["error_message"] = error.get("message")
    row["error_advice"] = error.get("advice")
    row["campaigns"] = ";".join(item.get("campaigns") or [])
    return {k: ("" if v is None else spreadsheet_safe(v)) for k, v in row.items()}


def with_accounts(store: Store, items: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each snapshot with `account`: the account that owns the message (None: not known yet),
    read a batch at a time as the export streams."""
    while batch := list(islice(items, ACCOUNT_BATCH)):
        owners = store.accounts_of(str(item.get("id")) for item in batch)
        for item in batch:
            item["account"] = owners.get(str(item.get("id")))
            yield item


def write_export(store: Store, flt: ListFilter, fmt: str, out: TextIO) -> int:
    """Write every message in the view to `out`; returns how many."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for item in with_accounts(store, iter(store.iter_snapshots(flt))):
            writer.writerow(_csv_row(item))
            count += 1
        return count
    out.write("[")
    for item in with_accounts(store, iter(store.iter_snapshots(flt))):
        out.write(",\n" if count else "\n")
        out.write(json.dumps(item))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
