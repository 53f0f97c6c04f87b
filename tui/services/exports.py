"""Exporting a view to a file of its own (the dashboard's "Export CSV/JSON"): a fresh, dated name
in a folder next to the history, written as `sendwatch export` writes it."""

from __future__ import annotations

import time
from pathlib import Path

from tui.export import write_export
from tui.store import ListFilter, Store


def export_to_folder(
    store: Store, flt: ListFilter, fmt: str, folder: Path, now: float | None = None
) -> tuple[int, Path]:
    """Write every message in the view to `folder/sendwatch-<time>.<fmt>`; returns how many and
    where. Blocking (call it in a thread); raises OSError when the folder or file cannot be written."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    target = folder / f"sendwatch-{stamp}.{fmt}"
    folder.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as out:
        count = write_export(store, flt, fmt, out)
    return count, target
