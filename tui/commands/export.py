"""`sendwatch export`: the current state of tracked messages as CSV or JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO, cast

from tui.commands.output import fail, warn
from tui.config import Settings
from tui.errors import SendwatchError
from tui.export import write_export
from tui.present import unknown_status
from tui.store import ListFilter
from tui.store.open import open_store
from tui.textsafe import safe_text


class SafeCsv:
    """Wraps the CSV output: provider text keeps its characters but never its control codes
    (an ESC in a body would otherwise reach the terminal of whoever `cat`s the file). The CSV
    row ends (`\\r\\n`) are kept; JSON needs no wrapper, `json.dumps` escapes controls itself."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, text: str) -> int:
        return self.out.write("\r\n".join(safe_text(part) for part in text.split("\r\n")))


def safe_csv(out: TextIO) -> TextIO:
    """`out` behind `SafeCsv`: the CSV writer only ever calls `write`, all `SafeCsv` offers."""
    return cast(TextIO, SafeCsv(out))


def run(
    settings: Settings,
    campaign: str | None,
    status: str | None,
    fmt: str,
    output: Path | None,
    account: str | None = None,
) -> int:
    status = status.strip().lower() if status else status
    refused = unknown_status(status, waiting=False) if status else None
    if refused:
        return fail(refused, 2)
    try:
        store = open_store(settings)
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    try:
        for warning in store.warnings:
            warn(warning)
        if campaign and store.campaign_started(campaign) is None:
            known = ", ".join(name for name, _ in store.campaigns()) or "none yet"
            return fail(f"no campaign named {campaign!r} (known: {known})", 2)
        flt = ListFilter(
            statuses=frozenset({status}) if status else frozenset(),
            campaign=campaign,
            account=account.lower() if account else None,
        )
        if output is None:
            count = write_export(
                store, flt, fmt, safe_csv(sys.stdout) if fmt == "csv" else sys.stdout
            )
        else:
            try:
                with output.open("w", encoding="utf-8", newline="") as out:
                    count = write_export(store, flt, fmt, safe_csv(out) if fmt == "csv" else out)
            except OSError as exc:
                return fail(f"cannot write {output}: {exc.strerror}", 2)
            print(f"wrote {count} messages to {output}", file=sys.stderr)
    except SendwatchError as exc:  # a history damaged past its first pages, a server gone
        return fail(str(exc), exc.exit_code)
    finally:
        store.close()
    return 0
