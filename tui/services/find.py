"""Enter on a message ID: the one it names, from history or from the providers, never lost.

History first (a message already tracked is shown at once and refreshed by the caller); else the
providers are asked through the lookup service (the owner, the prefixed one, or both at once) with
a deadline; when none can be reached the ID is kept waiting (`tui.services.waiting`) so the poller
resolves it later. Shared by the dashboard's find bar and anything else that takes typed IDs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tui.errors import ConfigError
from tui.ids import MessageRef
from tui.providers.waiting import WaitHook
from tui.services.monitor import Monitor
from tui.services.waiting import UNREACHABLE, keep_waiting, waiting_note


@dataclass(frozen=True)
class Found:
    """Which message to show, and what to tell about it."""

    message_id: str
    known: bool  # history had it: nothing was asked yet (refresh it)
    notes: tuple[str, ...] = ()  # the lookup succeeded with something worth knowing
    waiting: str | None = None  # no provider could be reached: kept waiting, and why


async def find_message(
    monitor: Monitor, ref: MessageRef, *, timeout: float, on_wait: WaitHook | None = None
) -> Found:
    """Raises `SendwatchError` when the ID is known to be wrong (not found, refused, no key)."""
    store = monitor.store
    row = await asyncio.to_thread(store.row, ref.id)
    if row is not None and (ref.provider is None or row.provider in (None, ref.provider.value)):
        return Found(ref.id, known=True)
    if not await monitor.wait_ready(timeout):
        raise ConfigError("the provider clients did not start: see the other notices")
    service = monitor.lookup_service()
    try:
        result = await service.lookup(ref, timeout=timeout, on_wait=on_wait)
    except UNREACHABLE as exc:  # includes the deadline (LookupTimeout)
        now = monitor.clock()
        await asyncio.to_thread(keep_waiting, store, monitor.policy, ref, exc, now)
        monitor.wake()
        return Found(ref.id, known=False, waiting=waiting_note(ref, exc))
    monitor.wake()
    return Found(result.message.id, known=False, notes=result.notes)
