"""What every importer returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.errors import InvalidIdError
from tui.ids import MessageRef, parse_ref
from tui.model import Provider


@dataclass(frozen=True)
class Problem:
    where: str  # "line 12" or "data.recipients[3].message_id"
    reason: str


@dataclass
class ImportResult:
    format: str
    refs: list[MessageRef] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0
    _seen: set[str] = field(default_factory=set, repr=False)

    def add(self, where: str, raw: str, provider: Provider | str | None = None) -> None:
        """Parse one ID; keep it, or record why not."""
        try:
            ref = parse_ref(raw, provider)
        except (InvalidIdError, ValueError) as exc:
            self.problems.append(Problem(where, str(exc)))
            return
        if ref.id in self._seen:
            self.duplicates += 1
            return
        self._seen.add(ref.id)
        self.refs.append(ref)

    def summary(self) -> str:
        text = f"{len(self.refs)} IDs read ({self.format})"
        if self.duplicates:
            text += f", {self.duplicates} duplicates ignored"
        if self.problems:
            text += f", {len(self.problems)} lines skipped"
        return text
