"""The JSON a Sent.dm send returns: per-recipient message IDs (the exact shape is unverified).

So the reader is shape-tolerant: it walks the document and takes every `message_id` (or
`messageId`, or the `id` of an object in a `messages`/`recipients` list) that holds a UUID. A
plain JSON array of ID strings works too.
"""

from __future__ import annotations

import json
from typing import Any

from tui.importers.base import ImportResult, Problem
from tui.model import Provider

ID_KEYS = ("message_id", "messageId")
LIST_KEYS = ("messages", "recipients", "results", "data")


def read_json(text: str, default_provider: Provider | None = Provider.SENTDM) -> ImportResult:
    result = ImportResult("json")
    try:
        document = json.loads(text)
    except ValueError as exc:
        result.problems.append(
            Problem(
                f"line {getattr(exc, 'lineno', 1)}", f"not valid JSON: {getattr(exc, 'msg', exc)}"
            )
        )
        return result
    _walk(document, "$", result, default_provider, in_list=False)
    if not result.refs and not result.problems:
        result.problems.append(
            Problem("$", "no message IDs found (expected message_id fields or an array of IDs)")
        )
    return result


def _walk(
    node: Any, path: str, result: ImportResult, provider: Provider | None, *, in_list: bool
) -> None:
    if isinstance(node, dict):
        for key in ID_KEYS:
            if key in node:
                value = node[key]
                if isinstance(value, str):
                    result.add(f"{path}.{key}", value, None if ":" in value else provider)
                else:
                    result.problems.append(Problem(f"{path}.{key}", "not a string"))
        if (
            in_list
            and "id" in node
            and not any(k in node for k in ID_KEYS)
            and isinstance(node["id"], str)
        ):
            result.add(f"{path}.id", node["id"], None if ":" in node["id"] else provider)
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                _walk(
                    value,
                    f"{path}.{key}",
                    result,
                    provider,
                    in_list=key in LIST_KEYS and isinstance(value, list),
                )
    elif isinstance(node, list):
        for index, item in enumerate(node):
            where = f"{path}[{index}]"
            if isinstance(item, str) and path == "$":
                result.add(where, item, None if ":" in item else provider)
            else:
                _walk(item, where, result, provider, in_list=in_list)
