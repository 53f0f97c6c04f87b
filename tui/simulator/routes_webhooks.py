"""Sent.dm webhook management and its delivery log (docs/providers.md Part 2 §3, SDK 0.46).

Every call takes the account's key (and optional `x-profile-id`); a webhook belongs to the
account that created it (its `customer_id`) and receives that account's message events.
Mutating calls honour `Idempotency-Key` and `sandbox: true` (validated and answered, nothing
kept). Choices where the docs are silent: create answers 201, delete 204 with no body, lists
are in creation order, `search` matches display name or URL; the test endpoint answers 200 with
`{success: false, message}` when the receiver did not take the event. Rate limits: the account's
usual bucket (the sensitive 10/min tier of rotate-secret and test is not simulated).
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tui.model import Provider
from tui.simulator.handler import UUID_RE
from tui.simulator.hooks import Hook, log_row_data, sentdm_hook_data
from tui.simulator.payloads import paginate
from tui.simulator.routes_sentdm import idempotent, page_args

if TYPE_CHECKING:
    from tui.simulator.accounts import Account
    from tui.simulator.handler import Handler, Route

SD = Provider.SENTDM
FAMILIES = {
    "message": (
        "Messages",
        "Outbound message status changes and inbound messages",
        (
            "queued",
            "routed",
            "sent",
            "delivered",
            "read",
            "failed",
            "blocked",
            "filtered",
            "scheduled",
            "cancelled",
            "received",
        ),
    ),
    "templates": ("Templates", "Template approval changes", ("approved", "rejected", "paused")),
    "contact": ("Contacts", "Consent signals", ("opt_in", "opt_out", "help")),
}


class Invalid(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def _int_in(body: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid("VALIDATION_005", f"{key} must be an integer from {low} to {high}.", key)
    return value


def _fields(body: Any, *, creating: bool) -> dict[str, Any]:
    """The webhook fields a create/update body sets (validated), or Invalid."""
    if not isinstance(body, dict):
        raise Invalid("VALIDATION_001", "The request body must be a JSON object.")
    out: dict[str, Any] = {}
    name = body.get("display_name")
    if name is not None or creating:
        if not isinstance(name, str) or not name.strip():
            raise Invalid("VALIDATION_001", "Display name is required.", "display_name")
        out["name"] = name.strip()[:200]
    url = body.get("endpoint_url")
    if url is not None or creating:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise Invalid(
                "VALIDATION_001", "Endpoint URL must be a valid HTTP or HTTPS URL", "endpoint_url"
            )
        out["url"] = url
    types = body.get("event_types")
    if types is not None:
        if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
            raise Invalid("VALIDATION_001", "event_types must be a list of strings.", "event_types")
        out["event_types"] = list(types)
    elif creating:
        out["event_types"] = ["message"]
    if "event_filters" in body:
        filters = body["event_filters"]
        if filters is not None and not (
            isinstance(filters, dict)
            and all(
                isinstance(v, list) and all(isinstance(s, str) for s in v) for v in filters.values()
            )
        ):
            raise Invalid(
                "VALIDATION_001",
                "event_filters maps a family to a list of events.",
                "event_filters",
            )
        out["event_filters"] = filters
    for key, low, high in (("retry_count", 1, 5), ("timeout_seconds", 5, 120)):
        value = _int_in(body, key, low, high)
        if value is not None:
            out[key] = value
    if "sandbox" in body and not isinstance(body["sandbox"], bool):
        raise Invalid("VALIDATION_001", "sandbox must be a boolean.", "sandbox")
    return out


def _apply(hook: Hook, fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        setattr(hook, key, value)


def _sandbox(h: Handler) -> bool:
    return isinstance(h.body, dict) and h.body.get("sandbox") is True


def _refuse(h: Handler, exc: Invalid, record: str) -> None:
    h.sentdm_fail(400, exc.code, exc.message, record, exc.field)


def _find(h: Handler, raw_id: str, account: Account, record: str) -> Hook | None:
    if not UUID_RE.match(raw_id):
        h.sentdm_fail(400, "VALIDATION_001", "Invalid webhook ID format.", record)
        return None
    hook = h.sim.hooks.get(raw_id, account)
    if hook is None or hook.provider is not SD:
        h.sentdm_fail(404, "RESOURCE_008", "Webhook not found", record)
        return None
    return hook


def create(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    account = h.gate(SD, "webhooks")
    if account is None:
        return

    def run() -> tuple[int, Any] | None:
        sim = h.sim
        try:
            fields = _fields(h.body, creating=True)
        except Invalid as exc:
            _refuse(h, exc, "webhooks")
            return None
        hook = Hook(
            SD,
            sim.hooks.new_uuid(),
            account,
            url=fields.pop("url"),
            secret=sim.hooks.new_secret(SD),
            since=sim.world.now(),
        )
        _apply(hook, fields)
        if not _sandbox(h):
            sim.hooks.add(hook)
            sim.dispatcher.ensure_started()
        return 201, sentdm_hook_data(hook, sim.world.wall, secret=True)

    idempotent(h, account, "webhooks", run)


def list_hooks(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    account = h.gate(SD, "webhooks")
    paging = page_args(h, query, "webhooks") if account else None
    if account is None or paging is None:
        return
    hooks = [hook for hook in h.sim.hooks.of(account) if hook.provider is SD]
    if query.get("is_active", "") in ("true", "false"):
        hooks = [hook for hook in hooks if hook.is_active == (query["is_active"] == "true")]
    if query.get("search"):
        needle = query["search"].lower()
        hooks = [
            hook for hook in hooks if needle in hook.name.lower() or needle in hook.url.lower()
        ]
    chunk, meta = paginate(hooks, *paging, cursors=True)
    wall = h.sim.world.wall
    h.ok(
        SD, "webhooks", {"webhooks": [sentdm_hook_data(k, wall) for k in chunk], "pagination": meta}
    )


def event_types(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    if h.gate(SD, "webhooks") is None:
        return
    found = []
    for family, (label, text, subs) in FAMILIES.items():
        found.append(
            {
                "name": family,
                "display_name": label,
                "description": text,
                "event_type": family,
                "is_active": True,
                "sub_types": [
                    {
                        "name": f"{family}.{sub}",
                        "display_name": sub.replace("_", " ").title(),
                        "description": f"{label}: {sub.replace('_', ' ')}",
                        "event_type": f"{family}.{sub}",
                        "is_active": True,
                        "sub_types": [],
                    }
                    for sub in subs
                ],
            }
        )
    _, meta = paginate(found, 1, max(1, len(found)), cursors=True)
    h.ok(SD, "webhooks", {"event_types": found, "pagination": meta})


def one(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    """GET, PUT and DELETE /v3/webhooks/{id}."""
    raw_id, record = m.group(1), f"webhook:{m.group(1).lower()}"
    account = h.gate(SD, record)
    hook = _find(h, raw_id, account, record) if account else None
    if account is None or hook is None:
        return
    sim = h.sim
    if h.command == "GET":
        return h.ok(SD, record, sentdm_hook_data(hook, sim.world.wall))
    if h.command == "DELETE":
        sim.hooks.remove(hook)
        sim.record(SD, record, 204)
        h.start_answer(204, {"content-length": "0"})
        return None

    def run() -> tuple[int, Any] | None:
        try:
            fields = _fields(h.body, creating=False)
        except Invalid as exc:
            _refuse(h, exc, record)
            return None
        target = copy.copy(hook) if _sandbox(h) else hook
        with sim.hooks.lock:
            _apply(target, fields)
            target.updated_at = sim.world.now()
        return 200, sentdm_hook_data(target, sim.world.wall)

    idempotent(h, account, record, run)


def action(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    """rotate-secret, test and toggle-status."""
    raw_id, what = m.group(1), m.group(2)
    record = f"webhook:{raw_id.lower()}"
    account = h.gate(SD, record)
    hook = _find(h, raw_id, account, record) if account else None
    if account is None or hook is None:
        return
    sim = h.sim
    body = h.body if isinstance(h.body, dict) else {}

    def run() -> tuple[int, Any] | None:
        if what == "rotate-secret":
            secret = sim.hooks.new_secret(SD)
            if not _sandbox(h):
                with sim.hooks.lock:
                    hook.secret, hook.updated_at = secret, sim.world.now()  # the old one: gone
            return 200, {"signing_secret": secret}
        if what == "test":
            event_type = body.get("event_type")
            if not isinstance(event_type, str) or not event_type.strip():
                h.sentdm_fail(400, "VALIDATION_001", "Event type is required", record, "event_type")
                return None
            if _sandbox(h):
                return 200, {"success": True, "message": "Test event delivered successfully"}
            row = sim.dispatcher.deliver_test(hook, event_type.strip())
            if row.status == "delivered":
                return 200, {"success": True, "message": "Test event delivered successfully"}
            return 200, {
                "success": False,
                "message": f"Test event delivery failed: {row.error_message}",
            }
        active = body.get("is_active")
        if not isinstance(active, bool):
            h.sentdm_fail(
                400, "VALIDATION_001", "is_active must be a boolean.", record, "is_active"
            )
            return None
        target = copy.copy(hook) if _sandbox(h) else hook
        with sim.hooks.lock:
            if active and not target.is_active:
                target.consecutive_failures = 0
            target.is_active, target.updated_at = active, sim.world.now()
        return 200, sentdm_hook_data(target, sim.world.wall)

    idempotent(h, account, record, run)


def events(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    raw_id = m.group(1)
    record = f"webhook:{raw_id.lower()}"
    account = h.gate(SD, record)
    hook = _find(h, raw_id, account, record) if account else None
    paging = page_args(h, query, record) if hook else None
    if hook is None or paging is None:
        return
    with h.sim.hooks.lock:
        rows = list(reversed(hook.log))  # newest first
    if query.get("search"):
        needle = query["search"].lower()
        rows = [r for r in rows if needle in r.event_type.lower() or needle in (r.message_id or "")]
    chunk, meta = paginate(rows, *paging, cursors=True)
    wall = h.sim.world.wall
    h.ok(SD, record, {"events": [log_row_data(r, wall) for r in chunk], "pagination": meta})


_ID = r"/v3/webhooks/([^/]+)"
ROUTES: dict[str, list[tuple[re.Pattern[str], Route]]] = {
    "GET": [
        (re.compile(r"/v3/webhooks"), list_hooks),
        (re.compile(r"/v3/webhooks/event-types"), event_types),
        (re.compile(_ID + "/events"), events),
        (re.compile(_ID), one),
    ],
    "POST": [
        (re.compile(r"/v3/webhooks"), create),
        (re.compile(_ID + "/(rotate-secret|test)"), action),
    ],
    "PUT": [(re.compile(_ID), one)],
    "DELETE": [(re.compile(_ID), one)],
    "PATCH": [(re.compile(_ID + "/(toggle-status)"), action)],
}
