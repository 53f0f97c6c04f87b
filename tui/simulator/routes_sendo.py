"""Sendo v1 message endpoints: read a message, list a campaign's messages, send."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tui.model import Provider
from tui.simulator import payloads, poison
from tui.simulator.accounts import visible
from tui.simulator.handler import NOT_JSON, UUID_RE
from tui.simulator.sending import SendRefused, sendo_send

if TYPE_CHECKING:
    from tui.simulator.handler import Handler, Route

SO = Provider.SENDO
LIST_MAX = 100  # messages per list page, whatever `limit` asks


def get_message(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    raw_id = m.group(1)
    account = h.gate(SO, raw_id, shape_fault=True)
    if account is None:
        return
    if not UUID_RE.match(raw_id):
        return h.sendo_fail(400, "Invalid message id", raw_id)
    msg = h.sim.world.get(raw_id)
    if msg is None or not visible(msg, account):
        return h.sendo_fail(404, "Message not found", raw_id.lower())
    body = {"message": payloads.sendo_data(h.sim.world, msg)}
    if msg.hostile:
        return poison.answer(h, msg, body)
    h.ok(SO, msg.id, body)


def list_messages(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    campaign = query.get("campaign", "")
    record = f"list:{campaign}"
    account = h.gate(SO, record)
    if account is None:
        return
    try:
        limit, skip = int(query.get("limit", 10)), int(query.get("skip", 0))
    except ValueError:
        return h.sendo_fail(400, "limit and skip must be integers", record)
    if limit < 1 or skip < 0:
        return h.sendo_fail(400, "limit must be positive and skip not negative", record)
    world = h.sim.world
    found = [msg for msg in world.sendo_campaign(campaign or None) if visible(msg, account)]
    if query.get("direction"):
        found = [msg for msg in found if msg.direction == query["direction"].upper()]
    if query.get("number"):
        found = [msg for msg in found if query["number"] in (msg.to, msg.from_)]
    page = found[skip : skip + min(limit, LIST_MAX)]
    h.ok(SO, record, {"messages": [payloads.sendo_data(world, msg) for msg in page]})


def send(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    account = h.gate(SO, "send")
    if account is None:
        return
    try:
        message_id = sendo_send(h.sim.world, None if h.body is NOT_JSON else h.body)
    except SendRefused as exc:
        return h.sendo_fail(exc.status, exc.message, "send")
    h.ok(SO, "send", {"success": True, "id": message_id})


ROUTES: dict[str, list[tuple[re.Pattern[str], Route]]] = {
    "GET": [
        (re.compile(r"/v1/message/list"), list_messages),
        (re.compile(r"/v1/message/([^/]+)"), get_message),
    ],
    "POST": [(re.compile(r"/v1/message/send"), send)],
}
