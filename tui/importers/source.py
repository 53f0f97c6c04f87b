"""Reading an import's lines with a bound: a file, a pipe or stdin, never more than the cap.

`watch /dev/zero`, an endless pipe or a 2 GB file must not take the process's memory: lines are read
one at a time, in chunks, with a cap on the whole import, and binary data stops the reading at
once. Where reading stopped is a problem with its line number; every line before it is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

MAX_IMPORT_BYTES = 64 * 1024 * 1024  # far beyond any campaign's IDs (a million IDs is ~37 MB)
_CHUNK = 64 * 1024


@dataclass
class LineSource:
    """The lines of one import as text (newlines kept), numbered from 1 as they are read.

    `problems` holds (line number, reason) for where reading stopped: binary data, or the cap."""

    stream: IO[Any]
    limit: int = MAX_IMPORT_BYTES
    read: int = 0
    number: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    stopped: bool = False

    def __iter__(self) -> Iterator[str]:
        while True:
            line = self._next_line()
            if line is None:
                return
            self.number += 1
            text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
            yield text.lstrip("\ufeff") if self.number == 1 else text

    def _next_line(self) -> str | bytes | None:
        """One whole line, read a chunk at a time; None at the end or where reading stops."""
        pieces: list[Any] = []
        while not self.stopped:
            piece = self.stream.readline(min(_CHUNK, self.limit - self.read) + 1)
            if not piece:
                break
            self.read += len(piece)
            if _has_nul(piece):
                self._stop("binary data (a NUL byte), not text: stopped reading here")
                return None
            if self.read > self.limit:
                megabytes = self.limit // (1024 * 1024)
                self._stop(
                    f"the import is larger than {megabytes} MB: stopped reading here "
                    "(the IDs before this line are kept)"
                )
                return None
            pieces.append(piece)
            if _ends_line(piece):
                break
        if not pieces:
            return None
        joined: str | bytes = (b"" if isinstance(pieces[0], bytes) else "").join(pieces)
        return joined

    def _stop(self, reason: str) -> None:
        self.problems.append((self.number + 1, reason))
        self.stopped = True


def _has_nul(raw: str | bytes) -> bool:
    if isinstance(raw, bytes):
        return b"\x00" in raw
    return "\x00" in raw


def _ends_line(raw: str | bytes) -> bool:
    if isinstance(raw, bytes):
        return raw.endswith(b"\n")
    return raw.endswith("\n")
