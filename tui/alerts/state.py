"""Which rules are firing, in a small JSON file beside the history, shared by every instance.

Why a file and not the store: the store is being rewritten (a table for it is the plan; see the
report of issue #16). Why shared at all: the instance that evaluates can change (the poller's lease
moves when its holder exits), and a restart must not send "firing" again for a rule already firing.
Every read-modify-write happens under an exclusive `flock` on `<file>.lock`, so two instances that
both evaluate still produce each transition once; writes are atomic (temporary file + rename).
A missing or unreadable file is an empty state, never a crash.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("sendwatch.alerts")


@dataclass
class RuleState:
    firing: bool = False
    since: float | None = None  # when it started firing
    clear_since: float | None = None  # while firing: since when it has not held (hold-down)
    value: float = 0.0
    text: str = ""


def _parse(data: Any) -> dict[str, RuleState]:
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, dict):
        return {}
    out: dict[str, RuleState] = {}
    for name, raw in rules.items():
        if not isinstance(raw, dict):
            continue
        try:
            out[str(name)] = RuleState(
                firing=bool(raw.get("firing", False)),
                since=_num(raw.get("since")),
                clear_since=_num(raw.get("clear_since")),
                value=_num(raw.get("value")) or 0.0,
                text=str(raw.get("text", ""))[:500],
            )
        except (TypeError, ValueError):
            continue
    return out


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")

    def read(self) -> dict[str, RuleState]:
        try:
            return _parse(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning(
                "alert state %s unreadable (%s): starting afresh", self.path, type(exc).__name__
            )
            return {}

    def write(self, states: dict[str, RuleState]) -> None:
        data = {"version": 1, "rules": {name: asdict(s) for name, s in states.items()}}
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextmanager
    def locked(self) -> Iterator[dict[str, RuleState]]:
        """The current state, to change in place; written back (atomically) when the block ends."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            states = self.read()
            yield states
            self.write(states)
        finally:
            os.close(fd)  # closing drops the flock
