"""Sent.dm v3 message endpoints: read a message and its activities, send (docs/providers.md)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tui.model import Provider
from tui.simulator import lifecycle, payloads, poison
from tui.simulator.accounts import Account, me_data, visible
from tui.simulator.handler import NOT_JSON, UUID_RE
from tui.simulator.payloads import envelope
from tui.simulator.sending import IDEMPOTENCY_KEY, SendRefused, sentdm_send
from tui.simulator.world import SimMessage

if TYPE_CHECKING:
    from tui.simulator.handler import Handler, Route

SD = Provider.SENTDM


def find_message(h: Handler, raw_id: str, account: Account) -> SimMessage | None:
    """The caller's message, or None after answering 400 (not an id) or 404 (not theirs)."""
    if not UUID_RE.match(raw_id):
        h.sentdm_fail(400, "VALIDATION_001", "Invalid message ID format.", raw_id)
        return None
    msg = h.sim.world.get(raw_id)
    if msg is None or not visible(msg, account):
        h.sentdm_fail(404, "RESOURCE_003", "Message not found", raw_id.lower())
        return None
    return msg


def page_args(h: Handler, query: dict[str, str], record: str) -> tuple[int, int] | None:
    """`page` (1-based) and `page_size` (1..100, default 20), or None after a 400."""
    try:
        page = max(1, int(query.get("page", 1)))
        size = min(100, max(1, int(query.get("page_size", 20))))
    except ValueError:
        h.sentdm_fail(400, "VALIDATION_001", "page and page_size must be integers.", record)
        return None
    return page, size


def get_message(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    raw_id = m.group(1)
    account = h.gate(SD, raw_id, shape_fault=True)
    msg = find_message(h, raw_id, account) if account else None
    if msg is None:
        return
    world = h.sim.world
    if m.group(2):
        paging = page_args(h, query, msg.id)
        if paging is None:
            return
        data = payloads.sentdm_activities(world, msg, *paging)
    else:
        data = payloads.sentdm_data(world, msg)
    if msg.hostile:
        return poison.answer(h, msg, envelope(data))
    h.ok(SD, msg.id, data)


def send(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    sim = h.sim
    account = h.gate(SD, "send")
    if account is None:
        return
    key = h.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        return h.sentdm_fail(
            400, "VALIDATION_001", "Idempotency-Key must be 1-255 of A-Z a-z 0-9 _ -.", "send"
        )
    try:
        if key is not None:
            cached = sim.idempotency.begin(key)
            if cached is not None:
                sim.record(SD, "send", cached.status)
                return h.send(cached.status, envelope(cached.data), {"Idempotent-Replayed": "true"})
        try:
            if sim.config.send_seconds:
                time.sleep(sim.config.send_seconds)
            data = sentdm_send(sim.world, None if h.body is NOT_JSON else h.body, account.id)
        except SendRefused:
            if key is not None:
                sim.idempotency.finish(key, None)
            raise
    except SendRefused as exc:
        return h.sentdm_fail(exc.status, exc.code, exc.message, "send", exc.field)
    if key is not None:
        sim.idempotency.finish(key, 202, data)
    h.ok(SD, "send", data, 202)


def resend(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    """202 with the message as GET shows it (now QUEUED). The body is empty (ignored if not);
    Idempotency-Key is not documented for resend and ignored: a repeat meets a 409 anyway."""
    raw_id = m.group(1)
    account = h.gate(SD, raw_id)
    msg = find_message(h, raw_id, account) if account else None
    if msg is None:
        return
    try:
        lifecycle.resend(h.sim.world, msg)
    except lifecycle.ActionRefused as exc:
        return h.sentdm_fail(409, "BUSINESS_006", exc.message, msg.id)
    h.ok(SD, msg.id, payloads.sentdm_data(h.sim.world, msg), 202)


def idempotent(
    h: Handler, account: Account, record: str, run: Callable[[], tuple[int, Any] | None]
) -> None:
    """Answer with `run()`'s (status, data), replayed for a repeated Idempotency-Key (per
    account and endpoint); `run` answers refusals itself and returns None (nothing is kept)."""
    sim = h.sim
    key = h.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        return h.sentdm_fail(
            400, "VALIDATION_001", "Idempotency-Key must be 1-255 of A-Z a-z 0-9 _ -.", record
        )
    slot = f"{account.id} {h.command} {urlsplit(h.path).path} {key}"
    try:
        cached = sim.action_idempotency.begin(slot) if key is not None else None
    except SendRefused as exc:
        return h.sentdm_fail(exc.status, exc.code, exc.message, record)
    if cached is not None:
        sim.record(SD, record, cached.status)
        return h.send(cached.status, envelope(cached.data), {"Idempotent-Replayed": "true"})
    result = None
    try:
        result = run()
    finally:
        if key is not None:
            sim.action_idempotency.finish(slot, *(result or (None,)))
    if result is not None:
        h.ok(SD, record, result[1], result[0])


def cancel(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    """200 with the message (CANCELLED, its scheduled_at, the events as they stood before);
    the same again for a repeat. Idempotency-Key replays the first answer for that key."""
    raw_id = m.group(1)
    account = h.gate(SD, raw_id)
    if account is None:
        return

    def run() -> tuple[int, Any] | None:
        msg = find_message(h, raw_id, account)
        if msg is None:
            return None
        try:
            lifecycle.cancel(h.sim.world, msg)
        except lifecycle.ActionRefused as exc:
            h.sentdm_fail(409, "BUSINESS_006", exc.message, msg.id)
            return None
        data = payloads.sentdm_data(h.sim.world, msg)
        if data["events"] and data["events"][-1]["status"] == "CANCELLED":
            data["events"] = data["events"][:-1]  # the lifecycle as it stood before the cancel
        return 200, data

    idempotent(h, account, raw_id.lower(), run)


def me(h: Handler, m: re.Match[str], query: dict[str, str]) -> None:
    """The account behind the key (and `x-profile-id`): organization, profile or user."""
    account = h.gate(SD, "me")
    if account is not None:
        h.ok(SD, "me", me_data(account))


ROUTES: dict[str, list[tuple[re.Pattern[str], Route]]] = {
    "GET": [
        (re.compile(r"/v3/messages/([^/]+)(/activities)?"), get_message),
        (re.compile(r"/v3/me"), me),
    ],
    "POST": [
        (re.compile(r"/v3/messages"), send),
        (re.compile(r"/v3/messages/([^/]+)/resend"), resend),
        (re.compile(r"/v3/messages/([^/]+)/cancel"), cancel),
    ],
}
