"""Pick the importer from the content: JSON, CSV with an id header, or plain lines."""

from __future__ import annotations

from tui.importers.base import ImportResult
from tui.importers.csv_ids import looks_like_csv, read_csv
from tui.importers.sentdm_send import read_json
from tui.importers.text_lines import read_lines
from tui.model import Provider


def read_ids(text: str, default_provider: Provider | None = None) -> ImportResult:
    stripped = text.lstrip("\ufeff").lstrip()
    if stripped.startswith(("{", "[")):
        return read_json(stripped, default_provider or Provider.SENTDM)
    first = next(
        (
            line
            for line in stripped.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ),
        "",
    )
    if looks_like_csv(first):
        return read_csv(stripped, default_provider)
    return read_lines(text.lstrip("\ufeff").splitlines(), default_provider)
