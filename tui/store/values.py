"""Every value the store sends to a database goes through `bind()`: the one place text is made storable.

PostgreSQL refuses NUL in text (a webhook body carrying one would fail its write), and a NUL read back
from SQLite would reach the screen. So NUL becomes U+FFFD in every string parameter, on both backends,
and inside JSON documents too: `Json(value)` marks a parameter stored as JSON text, serialized here
after the same cleaning (a NUL inside JSON would otherwise survive as the escape `\\u0000`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

NUL = "\x00"
REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class Json:
    """A parameter stored as JSON text (a snapshot, a provider's raw payload)."""

    value: Any


def clean(value: Any) -> Any:
    """`value` with NUL replaced in every string it holds (dict keys, lists and tuples included)."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def _json(value: Any) -> str:
    # json escapes a NUL as `\u0000`: a document without that text needs no cleaning (the common
    # case, and the cheap one: cleaning first walks every string of a snapshot on every write)
    text = json.dumps(value, ensure_ascii=False, default=str)
    if "\\u0000" not in text:
        return text
    return json.dumps(clean(value), ensure_ascii=False, default=lambda o: clean(str(o)))


def _one(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, Json):
        return _json(value.value)
    return value


#: parameter types stored as they are (checked by exact type: a str subclass is still cleaned)
_PLAIN = frozenset({int, float, type(None), bool, bytes})


def bind(params: Iterable[Any]) -> tuple[Any, ...]:
    """The parameters of one statement, as the database will store them."""
    return tuple(p if type(p) in _PLAIN else _one(p) for p in params)
