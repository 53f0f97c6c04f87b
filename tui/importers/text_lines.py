"""One ID per line, optional `sentdm:`/`sendo:` prefix; blank lines and `#` comments ignored."""

from __future__ import annotations

from collections.abc import Iterable

from tui.importers.base import ImportResult
from tui.model import Provider


def read_lines(lines: Iterable[str], default_provider: Provider | None = None) -> ImportResult:
    result = ImportResult("text")
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            result.add(f"line {number}", text, _default(text, default_provider))
    return result


def _default(text: str, provider: Provider | None) -> Provider | None:
    """A prefix on the line wins over the default provider."""
    return None if ":" in text else provider
