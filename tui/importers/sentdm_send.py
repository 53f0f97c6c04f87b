"""The JSON a Sent.dm send returns: per-recipient message IDs (the exact shape is unverified).

So the reader is shape-tolerant: it walks the document and takes every `message_id` (or
`messageId`, or the `id` of an object in a `messages`/`recipients` list) that holds a UUID. A
plain JSON array of ID strings works too. The walk is iterative and bounded in depth: a document
nested 100,000 deep is a problem to report, not a crash.
"""

from __future__ import annotations

import json
from typing import Any

from tui.importers.base import ImportResult, Problem
from tui.model import Provider

ID_KEYS = ("message_id", "messageId")
LIST_KEYS = ("messages", "recipients", "results", "data")
MAX_DEPTH = 64  # a send response nests 4 deep


def read_json(
    text: str, default_provider: Provider | None = Provider.SENTDM, *, first_line: int = 1
) -> ImportResult:
    result = ImportResult("json")
    try:
        document = json.loads(text)
    except RecursionError:
        result.problems.append(
            Problem(f"line {first_line}", "the JSON is nested too deeply to read")
        )
        return result
    except ValueError as exc:
        line = first_line - 1 + getattr(exc, "lineno", 1)
        result.problems.append(
            Problem(f"line {line}", f"not valid JSON: {getattr(exc, 'msg', exc)}")
        )
        return result
    _walk(document, result, default_provider)
    if not result.refs and not result.problems:
        result.problems.append(
            Problem("$", "no message IDs found (expected message_id fields or an array of IDs)")
        )
    return result


def _walk(document: Any, result: ImportResult, provider: Provider | None) -> None:
    """Visit every object and list in document order, without recursion."""
    stack: list[tuple[Any, str, bool, int]] = [(document, "$", False, 1)]
    too_deep = False
    while stack:
        node, path, in_list, depth = stack.pop()
        if depth > MAX_DEPTH:
            if not too_deep:
                result.problems.append(
                    Problem(path[:200], f"nested more than {MAX_DEPTH} levels deep: not read")
                )
                too_deep = True
            continue
        children: list[tuple[Any, str, bool, int]] = []
        if isinstance(node, dict):
            _take_ids(node, path, result, provider, in_list)
            for key, value in node.items():
                if isinstance(value, (dict, list)):
                    listed = key in LIST_KEYS and isinstance(value, list)
                    children.append((value, f"{path}.{key}", listed, depth + 1))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                where = f"{path}[{index}]"
                if isinstance(item, str) and path == "$":
                    result.add(where, item, None if ":" in item else provider)
                elif isinstance(item, (dict, list)):
                    children.append((item, where, in_list, depth + 1))
        stack.extend(reversed(children))  # first child on top: document order


def _take_ids(
    node: dict[str, Any], path: str, result: ImportResult, provider: Provider | None, in_list: bool
) -> None:
    for key in ID_KEYS:
        if key in node:
            value = node[key]
            if isinstance(value, str):
                result.add(f"{path}.{key}", value, None if ":" in value else provider)
            else:
                result.problems.append(Problem(f"{path}.{key}", "not a string"))
    if in_list and "id" in node and not any(k in node for k in ID_KEYS):
        value = node["id"]
        if isinstance(value, str):
            result.add(f"{path}.id", value, None if ":" in value else provider)
