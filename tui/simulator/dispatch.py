"""Delivering to registered webhooks: the world's status changes, signed, retried, logged.

The same deliveries as the config-driven `WebhookSender` (webhooks.py: Svix-style signature,
the Sent.dm and Sendo envelopes), addressed by the registry (hooks.py): `X-Webhook-ID` is the
webhook's id, `X-Webhook-Event-ID` one per event and webhook, the same on every retry. Retries
wait on the WORLD clock (60 s, doubling: Sent.dm capped at an hour, `retry_count` of them; Sendo
6), so tests drive them with `world.advance`; each attempt's HTTP timeout is the webhook's
`timeout_seconds` times `SimConfig.webhook_timeout_scale` real seconds. One background thread,
started with the first webhook; `flush()` waits until everything due by now was attempted.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from typing import Any

import httpx

from tui.model import Provider
from tui.simulator import payloads
from tui.simulator.accounts import visible
from tui.simulator.hooks import (
    DISABLE_AFTER,
    Hook,
    HookRegistry,
    LogRow,
    max_attempts,
    retry_delay,
)
from tui.simulator.settings import SimConfig
from tui.simulator.webhooks import SENTDM_SUBTYPES, iso_now, sign
from tui.simulator.world import SimMessage, SimWorld, campaign_id


class Dispatcher:
    def __init__(
        self, world: SimWorld, registry: HookRegistry, config: SimConfig, stopping: threading.Event
    ) -> None:
        self.world, self.registry, self.config, self.stopping = world, registry, config, stopping
        self.last: float | None = None  # world time up to which changes became events
        self._at_last: set[tuple[str, float, str]] = set()
        self._queue: list[tuple[float, int, str, LogRow]] = []  # (due, seq, hook id, row)
        self._seq = 0
        self._busy = False
        self._ticks = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None  # the thread's own, for its lifetime
        self.errors: list[str] = []  # what went wrong inside the thread (tests assert none)

    # -- lifecycle --------------------------------------------------------------------------
    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self.last = self.world.now()
            self._thread = threading.Thread(
                target=self._run, name="sendwatch-sim-hooks", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Wait (a little) for the thread, which ends once `stopping` is set."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(5.0)

    def _run(self) -> None:
        with httpx.Client() as self._client:
            while not self.stopping.is_set():
                try:
                    self.tick()
                except Exception as exc:  # noqa: BLE001 (kept for tests to see; delivery goes on)
                    if self.stopping.is_set():
                        return
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                self._ticks += 1
                self.stopping.wait(self.config.webhook_interval)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every change up to the world's present was turned into events and every
        delivery due by now was attempted (retries due later wait for the clock to reach them)."""
        if self._thread is None:
            return True
        target, ticks = self.world.now(), self._ticks
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ticks >= ticks + 2 and (self.last or 0.0) >= target and not self._due():
                return True
            time.sleep(0.01)
        return False

    def _due(self) -> bool:
        with self._lock:
            return self._busy or bool(self._queue and self._queue[0][0] <= self.world.now())

    # -- work -------------------------------------------------------------------------------
    def tick(self) -> None:
        now = self.world.now()
        last = now if self.last is None else self.last
        if now >= last:
            changes = [
                c
                for c in self.world.status_changes_between(last - 1e-6, now)
                if c not in self._at_last
            ]
            for message_id, at, status in sorted(changes, key=lambda c: (c[1], c[0])):
                self._events_for(message_id, at, status)
            edge = {c for c in changes if c[1] >= now - 1e-6}
            self._at_last = (self._at_last | edge) if now == last else edge
            self.last = now
        while not self.stopping.is_set():
            with self._lock:
                if not self._queue or self._queue[0][0] > self.world.now():
                    return
                _, _, hook_id, row = heapq.heappop(self._queue)
                self._busy = True
            try:
                self._attempt(hook_id, row)
            finally:
                with self._lock:
                    self._busy = False

    def _push(self, due: float, hook: Hook, row: LogRow) -> None:
        with self._lock:
            self._seq += 1
            heapq.heappush(self._queue, (due, self._seq, hook.id, row))

    def _events_for(self, message_id: str, at: float, status: str) -> None:
        with self.world.lock:
            msg = self.world.messages.get(message_id)
        if msg is None:
            return
        hooks = [h for h in self.registry.active() if self._subscribed(h, msg, at, status)]
        if not hooks:
            return
        if msg.provider is Provider.SENTDM:
            event_type = f"message.{status.lower()}"
            body: dict[str, Any] = {
                "field": "message",
                "event": event_type,
                "payload": payloads.sentdm_webhook_payload(self.world, msg, at, status),
                "request_id": self.registry.new_uuid(),
                "timestamp": iso_now(),
            }
        else:
            event_type = "message.status"
            body = {
                "id": self.registry.new_uuid(),
                "type": event_type,
                "timestamp": iso_now(),
                "message": payloads.sendo_data(self.world, msg, at, nulls=True),
            }
        raw = json.dumps(body).encode()
        for hook in hooks:
            self.log(hook, event_type, msg.id, raw, queue=True)

    def _subscribed(self, hook: Hook, msg: SimMessage, at: float, status: str) -> bool:
        if hook.provider is not msg.provider or at < hook.since - 1e-9:
            return False
        if not visible(msg, hook.account):
            return False
        if msg.provider is Provider.SENTDM:
            return status in SENTDM_SUBTYPES and hook.wants(f"message.{status.lower()}")
        return (
            hook.wants("message.status")
            and campaign_id(msg.campaign) == hook.campaign_id
            and (not hook.numbers or msg.from_ in hook.numbers)
        )

    def log(
        self, hook: Hook, event_type: str, message_id: str | None, raw: bytes, *, queue: bool
    ) -> LogRow:
        """A new log row for one event to `hook` (queued for delivery now when `queue`)."""
        event_id = self.registry.new_uuid()
        row = LogRow(
            id=event_id if self.config.webhook_log_ids_match else self.registry.new_uuid(),
            event_id=event_id,
            event_type=event_type,
            message_id=message_id,
            body=raw,
            created_at=self.world.now(),
            dropped=queue and self.registry.should_drop(event_type, message_id),
        )
        with self.registry.lock:
            hook.log.append(row)
            if row.dropped:
                self.registry.dropped.append(row)
        if queue:
            self._push(row.created_at, hook, row)
        return row

    def post(
        self, hook: Hook, row: LogRow, client: httpx.Client | None = None
    ) -> tuple[int | None, str | None, str | None]:
        """One attempt: (HTTP status or None, response body, error message)."""
        if row.dropped:
            return None, None, "timeout"
        if hook.provider is Provider.SENTDM:
            stamp = str(int(time.time()))
            headers = {
                "X-Webhook-ID": hook.id,
                "X-Webhook-Timestamp": stamp,
                "X-Webhook-Signature": sign(hook.secret, hook.id, stamp, row.body),
                "X-Webhook-Event-ID": row.event_id,
            }
        else:
            headers = {"X-Webhook-Token": hook.secret}
        headers["content-type"] = "application/json"
        timeout = hook.timeout_seconds * self.config.webhook_timeout_scale
        try:
            sender = client or self._client
            assert sender is not None, "deliveries run on the dispatcher's thread"
            response = sender.post(hook.url, content=row.body, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            return None, None, "timeout"
        except httpx.HTTPError as exc:
            return None, None, f"connection failed: {type(exc).__name__}"
        text = response.text[:1000]
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return response.status_code, text, error

    def deliver_test(self, hook: Hook, event_type: str) -> LogRow:
        """`POST /v3/webhooks/{id}/test`: one signed sample event, now, never retried; logged,
        but not counted towards `consecutive_failures`."""
        now = self.world.now()
        family, _, sub = event_type.partition(".")
        payload = {
            "message_status": (sub or "sent").upper(),
            "message_id": self.registry.new_uuid(),
            "account_id": hook.account.id,
            "channel": "sms",
            "body": "This is a test event from the Sent.dm simulator.",
            "updated_at": payloads.sentdm_webhook_time(self.world.wall(now)),
        }
        body = {
            "field": family,
            "event": event_type,
            "payload": payload,
            "request_id": self.registry.new_uuid(),
            "timestamp": iso_now(),
        }
        row = self.log(hook, event_type, None, json.dumps(body).encode(), queue=False)
        with httpx.Client() as client:
            code, text, error = self.post(hook, row, client)
        with self.registry.lock:
            row.attempts, row.started_at, row.completed_at = 1, now, now
            row.http_status_code, row.response_body, row.error_message = code, text, error
            row.status = "delivered" if error is None else "failed"
            hook.last_attempt_at = now
            if error is None:
                hook.last_success_at = now
        return row

    def _attempt(self, hook_id: str, row: LogRow) -> None:
        with self.registry.lock:
            hook = self.registry.hooks.get(hook_id)
        now = self.world.now()
        if hook is None or not hook.is_active:
            row.status, row.error_message, row.completed_at = "failed", "Webhook is disabled", now
            return
        code, text, error = self.post(hook, row)
        with self.registry.lock:
            row.attempts += 1
            row.started_at = now if row.started_at is None else row.started_at
            row.http_status_code, row.response_body, row.error_message = code, text, error
            hook.last_attempt_at = now
            if error is None:
                row.status, row.completed_at = "delivered", now
                hook.consecutive_failures, hook.last_success_at = 0, now
                return
            hook.consecutive_failures += 1
            if hook.provider is Provider.SENTDM and hook.consecutive_failures >= DISABLE_AFTER:
                hook.is_active = False
            if hook.is_active and row.attempts < max_attempts(hook):
                row.status = "retrying"
                self._push(now + retry_delay(hook, row.attempts), hook, row)
            else:
                row.status, row.completed_at = "failed", now
