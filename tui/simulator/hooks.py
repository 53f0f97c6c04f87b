"""Registered webhooks: Sent.dm's webhook objects and their delivery log, Sendo's campaign webhooks.

What the management endpoints read and change (routes_webhooks.py, routes_sendo.py), and what
the dispatcher (dispatch.py) delivers to. Choices where docs/providers.md says UNCONFIRMED:
- a log row is one event for one webhook and counts its attempts; its `id` is the
  `X-Webhook-Event-ID` the deliveries carry (`SimConfig.webhook_log_ids_match=False`: its own id);
  `delivery_status` is lower case (`pending`, `retrying`, `delivered`, `failed`, as the docs'
  example), rows are listed newest first, `search` matches the event type or the message id;
- `consecutive_failures` counts failed attempts (the stricter reading): 10 in a row set
  `is_active=false`; any 2xx resets it; toggling a webhook back on resets it too;
- a test delivery is logged but does not count towards `consecutive_failures`;
- times on webhooks and log rows are world times (`SimWorld.wall`).
Secrets (`whsec_…`, Sendo `signature`) are the simulator's own, drawn from its seeded stream.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from tui.model import Provider
from tui.simulator.accounts import Account
from tui.simulator.payloads import sendo_time, sentdm_time

DISABLE_AFTER = 10  # consecutive failed attempts
SENDO_RETRIES = 6
RETRY_BASE = 60.0  # world seconds before the first retry; doubling (Sent.dm capped at an hour)
RETRY_CAP = 3600.0
SENDO_EVENT_TYPES = ("message.incoming", "message.status", "recipient.optout")


@dataclass
class LogRow:
    """One event for one webhook: what `GET /v3/webhooks/{id}/events` lists."""

    id: str
    event_id: str  # X-Webhook-Event-ID
    event_type: str
    message_id: str | None
    body: bytes  # exactly what is POSTed
    created_at: float  # world time
    dropped: bool = False  # the drop switch: attempted and logged, never received
    status: str = "pending"
    http_status_code: int | None = None
    response_body: str | None = None
    attempts: int = 0
    error_message: str | None = None
    started_at: float | None = None
    completed_at: float | None = None


@dataclass
class Hook:
    """A registered webhook (Sent.dm's object, or a Sendo campaign webhook)."""

    provider: Provider
    id: str
    account: Account
    url: str
    secret: str  # Sent.dm signing secret; Sendo `signature` (sent as X-Webhook-Token)
    since: float  # world time it was created: it receives what happens from then on
    name: str = ""
    event_types: list[str] = field(default_factory=list)
    event_filters: dict[str, list[str]] | None = None
    retry_count: int = 3
    timeout_seconds: int = 30
    campaign_id: str = ""  # Sendo
    numbers: list[str] = field(default_factory=list)  # Sendo
    is_active: bool = True
    consecutive_failures: int = 0
    last_attempt_at: float | None = None
    last_success_at: float | None = None
    updated_at: float | None = None
    log: list[LogRow] = field(default_factory=list)

    def wants(self, event_type: str) -> bool:
        """Does this webhook subscribe to `event_type` (`message.delivered`, `message.status`)?"""
        if self.provider is Provider.SENDO:
            return event_type in self.event_types
        family, _, sub = event_type.partition(".")
        if family not in {"message" if t == "messages" else t for t in self.event_types}:
            return False  # one older docs example names the family in the plural
        wanted = (self.event_filters or {}).get(family)
        return not wanted or sub in wanted or event_type in wanted


@dataclass
class DropRules:
    """Which deliveries are dropped: attempted and logged as timeouts, never received."""

    share: float = 0.0
    event_types: frozenset[str] = frozenset()
    message_ids: frozenset[str] = frozenset()


class HookRegistry:
    """Every registered webhook, thread-safe; `dropped` lists what the drop switch took."""

    def __init__(self, seed: int) -> None:
        self.lock = threading.RLock()
        self.hooks: dict[str, Hook] = {}
        self.rng = random.Random(f"{seed}-hooks")
        self.drop_rng = random.Random(f"{seed}-drops")
        self.rules = DropRules()
        self.dropped: list[LogRow] = []

    def new_uuid(self) -> str:
        with self.lock:
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def new_secret(self, provider: Provider) -> str:
        with self.lock:
            if provider is Provider.SENDO:
                alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
                return "".join(self.rng.choice(alphabet) for _ in range(16))
            return "whsec_" + base64.b64encode(self.rng.randbytes(32)).decode()

    def add(self, hook: Hook) -> Hook:
        with self.lock:
            self.hooks[hook.id] = hook
        return hook

    def get(self, hook_id: str, account: Account) -> Hook | None:
        """The account's webhook with that id (another account's is as good as absent)."""
        with self.lock:
            hook = self.hooks.get(hook_id.lower())
        if hook is None or hook.account != account:
            return None
        return hook

    def remove(self, hook: Hook) -> None:
        with self.lock:
            self.hooks.pop(hook.id, None)

    def of(self, account: Account) -> list[Hook]:
        with self.lock:
            return [h for h in self.hooks.values() if h.account == account]

    def active(self) -> list[Hook]:
        with self.lock:
            return [h for h in self.hooks.values() if h.is_active]

    def drop(
        self,
        share: float = 0.0,
        *,
        event_types: Collection[str] = (),
        message_ids: Collection[str] = (),
    ) -> None:
        """Drop `share` of new deliveries (drawn from a seeded stream) and every delivery of
        `event_types` (`message.delivered`, `message.status`) or of `message_ids`; `drop()`
        stops dropping. Each dropped event is attempted as often as its webhook retries, and
        logged as a timeout (`http_status_code` null), but never reaches the receiver."""
        with self.lock:
            self.rules = DropRules(
                share, frozenset(event_types), frozenset(m.lower() for m in message_ids)
            )

    def should_drop(self, event_type: str, message_id: str | None) -> bool:
        with self.lock:
            rules = self.rules
            if event_type in rules.event_types or (message_id or "") in rules.message_ids:
                return True
            return bool(rules.share) and self.drop_rng.random() < rules.share


def retry_delay(hook: Hook, attempts: int) -> float:
    """World seconds before the next attempt after `attempts` failed ones (from a minute, doubling)."""
    delay = RETRY_BASE * 2.0 ** (attempts - 1)
    return delay if hook.provider is Provider.SENDO else min(delay, RETRY_CAP)


def max_attempts(hook: Hook) -> int:
    return 1 + (SENDO_RETRIES if hook.provider is Provider.SENDO else hook.retry_count)


Wall = Callable[[float], float]  # SimWorld.wall: world time -> epoch seconds


def _when(wall: Wall, t: float | None) -> str | None:
    return None if t is None else sentdm_time(wall(t))


def sentdm_hook_data(hook: Hook, wall: Wall, *, secret: bool = False) -> dict[str, Any]:
    """The Sent.dm webhook object; `signing_secret` in full only when `secret` (create, rotate)."""
    return {
        "id": hook.id,
        "customer_id": hook.account.id,
        "display_name": hook.name,
        "endpoint_url": hook.url,
        "event_types": list(hook.event_types),
        "event_filters": hook.event_filters,
        "is_active": hook.is_active,
        "retry_count": hook.retry_count,
        "timeout_seconds": hook.timeout_seconds,
        "signing_secret": hook.secret if secret else None,
        "consecutive_failures": hook.consecutive_failures,
        "last_delivery_attempt_at": _when(wall, hook.last_attempt_at),
        "last_successful_delivery_at": _when(wall, hook.last_success_at),
        "created_at": sentdm_time(wall(hook.since)),
        "updated_at": _when(wall, hook.updated_at),
    }


def log_row_data(row: LogRow, wall: Wall) -> dict[str, Any]:
    """One `GET /v3/webhooks/{id}/events` entry; `event_data` is the exact body."""
    return {
        "id": row.id,
        "event_type": row.event_type,
        "event_data": json.loads(row.body),
        "delivery_status": row.status,
        "http_status_code": row.http_status_code,
        "response_body": row.response_body,
        "delivery_attempts": row.attempts,
        "error_message": row.error_message,
        "created_at": sentdm_time(wall(row.created_at)),
        "processing_started_at": _when(wall, row.started_at),
        "processing_completed_at": _when(wall, row.completed_at),
    }


def sendo_hook_data(hook: Hook, wall: Wall) -> dict[str, Any]:
    """Sendo's webhook object; `signature` is what its deliveries carry as X-Webhook-Token."""
    return {
        "id": hook.id,
        "createdAt": sendo_time(wall(hook.since)),
        "name": hook.name,
        "url": hook.url,
        "campaignId": hook.campaign_id,
        "signature": hook.secret,
        "eventTypes": list(hook.event_types),
        "numbers": list(hook.numbers),
    }
