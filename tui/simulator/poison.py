"""Writing a hostile message's poisoned answer (the kinds are described in hostile.py).

Each starts from the answer the message would normally get, so everything but the poison is
the provider's real shape. `huge` and `trickle` write their body in parts and stop as soon as
the client hangs up or the simulator stops; the connection is closed after them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tui.model import Provider
from tui.simulator.world import SimMessage

if TYPE_CHECKING:
    from tui.simulator.handler import Handler

OVERFLOW_TIME = "0001-01-01T00:00:00+14:00"
_TIME_KEYS = frozenset(
    {"created_at", "timestamp", "scheduled_at", "createdAt", "sentAt", "updatedAt", "scheduledAt"}
)
_SLOT = "@@sendwatch-simulator-slot@@"
_CHUNK = 65536


def answer(h: Handler, msg: SimMessage, body: dict[str, Any]) -> None:
    """Answer `h`'s request for `msg` with its poison; `body` is the normal answer."""
    kind, options = msg.hostile, msg.hostile_options
    h.sim.record(msg.provider, msg.id, 200)
    target = body["data"] if msg.provider is Provider.SENTDM else body["message"]
    if kind == "wrong_id":
        target["message_id" if "message_id" in target else "id"] = options["other_id"]
    elif kind == "overflow_time":
        _overflow(target)
    elif kind == "nested":
        holder, key = _nest_slot(target)
        holder[key] = _SLOT
        depth = int(options["depth"])
        raw = json.dumps(body).encode()
        raw = raw.replace(json.dumps(_SLOT).encode(), b"[" * depth + b"]" * depth)
        return h.send(200, None, raw=raw, content_type="application/json")
    elif kind == "fake_gzip":
        raw = json.dumps(body).encode()  # announced as gzip, sent as it is
        h.start_answer(
            200,
            {
                "content-type": "application/json",
                "content-encoding": "gzip",
                "content-length": str(len(raw)),
            },
        )
        h.wfile.write(raw)
        return None
    elif kind == "huge":
        return _huge(h, body, target, float(options["size_mb"]), bool(options["content_length"]))
    elif kind == "trickle":
        return _trickle(h, json.dumps(body).encode(), float(options["interval"]))
    h.send(200, body)  # nul: the NUL is in the world's text already


def _overflow(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _TIME_KEYS and isinstance(value, str):
                node[key] = OVERFLOW_TIME
            else:
                _overflow(value)
    elif isinstance(node, list):
        for item in node:
            _overflow(item)


def _nest_slot(target: dict[str, Any]) -> tuple[dict[str, Any], str]:
    if isinstance(target.get("message_body"), dict):
        return target["message_body"], "buttons"
    if "activities" in target:
        return target, "activities"
    return target, "metadata"


def _text_slot(target: dict[str, Any]) -> tuple[dict[str, Any], str]:
    if isinstance(target.get("message_body"), dict):
        return target["message_body"], "content"
    if target.get("activities"):
        return target["activities"][0], "description"
    return target, "body"


def _huge(
    h: Handler, body: dict[str, Any], target: dict[str, Any], size_mb: float, length: bool
) -> None:
    """`size_mb` MB of text inside an otherwise valid answer, never held in memory whole."""
    holder, key = _text_slot(target)
    holder[key] = _SLOT
    prefix, _, suffix = json.dumps(body).partition(json.dumps(_SLOT))
    head, tail = (prefix + '"').encode(), ('"' + suffix).encode()
    filler = int(size_mb * 1024 * 1024)
    headers = {"content-type": "application/json"}
    if length:
        headers["content-length"] = str(len(head) + filler + len(tail))
    else:
        headers["transfer-encoding"] = "chunked"
    h.close_connection = True
    h.start_answer(200, headers)

    def put(data: bytes) -> None:
        h.wfile.write(data if length else b"%x\r\n%s\r\n" % (len(data), data))

    put(head)
    chunk = b"x" * _CHUNK
    for start in range(0, filler, _CHUNK):
        if h.sim.stopping.is_set():
            return
        put(chunk if start + _CHUNK <= filler else chunk[: filler - start])
    put(tail)
    if not length:
        h.wfile.write(b"0\r\n\r\n")


def _trickle(h: Handler, raw: bytes, interval: float) -> None:
    """A valid answer, one byte every `interval` seconds (a read timeout per byte never fires)."""
    h.close_connection = True
    h.start_answer(200, {"content-type": "application/json", "content-length": str(len(raw))})
    for i in range(len(raw)):
        if i and h.sim.stopping.wait(interval):
            return
        h.wfile.write(raw[i : i + 1])
