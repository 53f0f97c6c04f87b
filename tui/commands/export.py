"""`sendwatch export`: the current state of tracked messages as CSV or JSON."""

from __future__ import annotations

import sys
from pathlib import Path

from tui.commands.output import fail
from tui.config import Settings
from tui.export import write_export
from tui.model import Status
from tui.store.history import HistoryStore, ListFilter


def run(settings: Settings, campaign: str | None, status: str | None, fmt: str, output: Path | None) -> int:
    if status and status not in Status._value2member_map_:
        return fail(f"unknown status {status!r} (one of: {', '.join(s.value for s in Status)})", 2)
    store = HistoryStore(settings.history_path())
    try:
        for warning in store.warnings:
            print(f"sendwatch: warning: {warning}", file=sys.stderr)
        if campaign and store.campaign_started(campaign) is None:
            known = ", ".join(name for name, _ in store.campaigns()) or "none yet"
            return fail(f"no campaign named {campaign!r} (known: {known})", 2)
        flt = ListFilter(statuses=frozenset({status}) if status else frozenset(), campaign=campaign)
        if output is None:
            count = write_export(store, flt, fmt, sys.stdout)
        else:
            try:
                with output.open("w", encoding="utf-8", newline="") as out:
                    count = write_export(store, flt, fmt, out)
            except OSError as exc:
                return fail(f"cannot write {output}: {exc.strerror}", 2)
            print(f"wrote {count} messages to {output}", file=sys.stderr)
    finally:
        store.close()
    return 0
