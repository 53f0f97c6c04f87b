"""Sendo v1 endpoints: read a message, list a campaign's messages, send; campaign webhooks.

A campaign webhook receives `message.status` for every status change of the campaign's
messages sent from one of its `numbers` (by default the campaign's number), with its
`signature` as `X-Webhook-Token`, retried 6 times from 60 world-seconds, doubling, and never
disabled (dispatch.py). Any 8-character campaign id names a campaign.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tui.model import Provider
from tui.simulator import payloads, poison
from tui.simulator.accounts import visible
from tui.simulator.catalog import SENDO_FROM
from tui.simulator.handler import NOT_JSON, UUID_RE
from tui.simulator.hooks import SENDO_EVENT_TYPES, Hook, sendo_hook_data
from tui.simulator.sending import E164, SENDO_CAMPAIGN, SendRefused, sendo_send

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
        message_id = sendo_send(h.sim.world, None if h.body is NOT_JSON else h.body, account.id)
    except SendRefused as exc:
        return h.sendo_fail(exc.status, exc.message, "send")
    h.ok(SO, "send", {"success": True, "id": message_id})


# -- campaign webhooks (docs/providers.md Part 2 §5): list, create, update, delete -------------
def _hook_fields(body: object, *, creating: bool) -> dict[str, Any] | str:
    """The fields a create/update body sets, or the refusal's `error` string."""
    if not isinstance(body, dict):
        return "Request body must be a JSON object"
    out: dict[str, Any] = {}
    if "name" in body:
        if body["name"] is not None and not isinstance(body["name"], str):
            return "Invalid name"
        out["name"] = (body["name"] or "")[:200]
    if "url" in body or creating:
        url = body.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            return "Invalid url"
        out["url"] = url
    if "eventTypes" in body or creating:
        types = body.get("eventTypes")
        if not isinstance(types, list) or not types or not set(types) <= set(SENDO_EVENT_TYPES):
            return f"eventTypes must be one or more of {', '.join(SENDO_EVENT_TYPES)}"
        out["event_types"] = list(dict.fromkeys(types))
    if "numbers" in body:
        numbers = body["numbers"]
        if not isinstance(numbers, list) or not all(
            isinstance(n, str) and E164.match(n) for n in numbers
        ):
            return "numbers must be a list of E.164 phone numbers"
        out["numbers"] = list(numbers) or [SENDO_FROM]
    return out


def campaign_webhooks(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    """GET lists the campaign's webhooks, POST creates one (`signature` = its X-Webhook-Token)."""
    cid = m.group(1)
    record = f"webhooks:{cid}"
    account = h.gate(SO, record)
    if account is None:
        return
    if not SENDO_CAMPAIGN.match(cid):
        return h.sendo_fail(404, "Campaign not found", record)
    sim = h.sim
    wall = sim.world.wall
    if h.command == "GET":
        mine = [k for k in sim.hooks.of(account) if k.campaign_id == cid]
        return h.ok(SO, record, {"webhooks": [sendo_hook_data(k, wall) for k in mine]})
    fields = _hook_fields(h.body, creating=True)
    if isinstance(fields, str):
        return h.sendo_fail(400, fields, record)
    hook = Hook(
        SO,
        sim.hooks.new_uuid(),
        account,
        url=fields.pop("url"),
        secret=sim.hooks.new_secret(SO),
        since=sim.world.now(),
        campaign_id=cid,
        numbers=[SENDO_FROM],
    )
    for key, value in fields.items():
        setattr(hook, key, value)
    sim.hooks.add(hook)
    sim.dispatcher.ensure_started()
    h.ok(SO, record, {"success": True, "webhook": sendo_hook_data(hook, wall)})


def webhook(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    """PATCH updates any of name, url, eventTypes, numbers; DELETE (undocumented) removes it."""
    record = f"webhook:{m.group(1).lower()}"
    account = h.gate(SO, record)
    if account is None:
        return
    sim = h.sim
    hook = sim.hooks.get(m.group(1), account)
    if hook is None or hook.provider is not SO:
        return h.sendo_fail(404, "Webhook not found", record)
    if h.command == "DELETE":
        sim.hooks.remove(hook)
        return h.ok(SO, record, {"success": True})
    fields = _hook_fields(h.body, creating=False)
    if isinstance(fields, str):
        return h.sendo_fail(400, fields, record)
    with sim.hooks.lock:
        for key, value in fields.items():
            setattr(hook, key, value)
    h.ok(SO, record, {"success": True, "webhook": sendo_hook_data(hook, sim.world.wall)})


ROUTES: dict[str, list[tuple[re.Pattern[str], Route]]] = {
    "GET": [
        (re.compile(r"/v1/message/list"), list_messages),
        (re.compile(r"/v1/message/([^/]+)"), get_message),
        (re.compile(r"/v1/campaign/([^/]+)/webhooks"), campaign_webhooks),
    ],
    "POST": [
        (re.compile(r"/v1/message/send"), send),
        (re.compile(r"/v1/campaign/([^/]+)/webhooks"), campaign_webhooks),
    ],
    "PATCH": [(re.compile(r"/v1/webhook/([^/]+)"), webhook)],
    "DELETE": [(re.compile(r"/v1/webhook/([^/]+)"), webhook)],
}
