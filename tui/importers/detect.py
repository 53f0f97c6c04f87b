"""Pick the importer from the content: JSON, CSV with an id header, or plain lines.

`read_ids_from` is the one way in for a file, a pipe or stdin (the CLI's `watch` and the app's
import): it reads line by line within `MAX_IMPORT_BYTES`, so neither `/dev/zero` nor an endless
pipe can fill the memory. `read_ids` is the same for text already in memory.
"""

from __future__ import annotations

import io
import os
from itertools import chain
from typing import IO, Any

from tui.importers.base import ImportResult, Problem
from tui.importers.csv_ids import looks_like_csv, read_csv
from tui.importers.sentdm_send import read_json
from tui.importers.source import MAX_IMPORT_BYTES, LineSource
from tui.importers.text_lines import read_lines
from tui.model import Provider


def read_ids_from(
    source: str | os.PathLike[str] | IO[Any],
    default_provider: Provider | None = None,
    *,
    limit: int = MAX_IMPORT_BYTES,
) -> ImportResult:
    """Read IDs from a path (str or PathLike) or an open stream (binary or text; `sys.stdin` is
    read through its bytes). Raises OSError only when a path cannot be opened; everything wrong
    inside is a problem with its line, and every valid ID before and after it is kept."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            return _read(stream, default_provider, limit)
    return _read(getattr(source, "buffer", source), default_provider, limit)


def read_ids(text: str, default_provider: Provider | None = None) -> ImportResult:
    """`read_ids_from` for text already in memory."""
    return _read(io.StringIO(text, newline=None), default_provider, MAX_IMPORT_BYTES * 4)


def _read(stream: IO[Any], default_provider: Provider | None, limit: int) -> ImportResult:
    source = LineSource(stream, limit)
    lines = iter(source)
    leading: list[str] = []  # blank and comment lines before the first content line
    first: str | None = None
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            first = line
            break
        leading.append(line)
    if first is None:
        result = ImportResult("text")
    elif first.lstrip().startswith(("{", "[")):
        text = "".join(chain([first], lines))
        result = read_json(text, default_provider or Provider.SENTDM, first_line=len(leading) + 1)
    elif looks_like_csv(first):
        result = read_csv(chain([first], lines), default_provider, first_line=len(leading) + 1)
    else:
        result = read_lines(chain(leading, [first], lines), default_provider)
    result.problems += [Problem(f"line {number}", reason) for number, reason in source.problems]
    return result
