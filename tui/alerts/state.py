"""Which rules are firing, kept in the history itself (tui/store/alert_state.py).

Why shared at all: the instance that evaluates can change (the poller's lease moves when its holder
exits, to another process or, on a shared PostgreSQL, another machine), and a restart must not send
"firing" again for a rule already firing. Every read-modify-write is one store transaction under
one lock, so two instances that both evaluate still produce each transition once. A rule's state
that cannot be read is an empty state, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from tui.store import Store


@dataclass
class RuleState:
    firing: bool = False
    since: float | None = None  # when it started firing
    clear_since: float | None = None  # while firing: since when it has not held (hold-down)
    value: float = 0.0
    text: str = ""


def _parse(text: str) -> RuleState | None:
    """One rule's stored state; None when it is not one (garbage in a shared table)."""
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    try:
        return RuleState(
            firing=bool(raw.get("firing", False)),
            since=_num(raw.get("since")),
            clear_since=_num(raw.get("clear_since")),
            value=_num(raw.get("value")) or 0.0,
            text=str(raw.get("text", ""))[:500],
        )
    except (TypeError, ValueError):
        return None


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _parse_all(stored: dict[str, str]) -> dict[str, RuleState]:
    return {rule: state for rule, text in stored.items() if (state := _parse(text)) is not None}


class AlertState:
    """The rules' state in `store`, shared by every instance of that history."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.where = store.location  # safe to show: a path, or a URL without its password

    def read(self) -> dict[str, RuleState]:
        return _parse_all(self.store.alert_states())

    @contextmanager
    def locked(self) -> Iterator[dict[str, RuleState]]:
        """The current state, to change in place; written back in the same transaction."""
        with self.store.alert_states_locked() as stored:
            states = _parse_all(stored)
            yield states
            stored.update({rule: json.dumps(asdict(state)) for rule, state in states.items()})
