"""Connections that never finish a request cannot keep the receiver from providers.

What uvicorn (0.55, h11) does on its own, read from its source and checked against a running server:
- a connection that sends nothing, or half a request line or header block, is never closed: the
  keep-alive timer is only armed after a response, and any byte cancels it;
- `limit_concurrency` counts *sockets* as well as requests, so that many idle sockets make every
  request a 503 (64 of them did, and ten failed deliveries disable a Sent.dm webhook);
- a request body is waited for as long as the application waits (ours: `body_timeout`), and bytes
  of a body the application no longer reads keep the connection alive without limit;
- header blocks over `h11_max_incomplete_event_size` get a 400, logged one warning line each.

`GuardedH11Protocol` is uvicorn's own h11 protocol with one addition, a per-connection deadline:
from the moment a connection owes us a request (it opened, or our previous answer went out) it has
`request_timeout` seconds to deliver the whole request, head and body, or it is closed. Bytes that
trickle in do not extend it. A cap on open sockets (`max_sockets`) is kept, but reaching it closes
the connection that has owed us a request the longest instead of refusing the newcomer, so idle
sockets cannot crowd out a provider that connects and sends at once. Concurrent *requests* are
capped by the application (server.py), not here. Every refusal is counted (`Refusals`), not logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from tui.webhooks.stats import Refusals

#: uvicorn's per-request warnings (malformed request, unsupported upgrade) are caused by whoever
#: connects: counted by the guard, logged only from ERROR up (our own application's failures).
_HTTP_LOG = logging.getLogger("sendwatch.webhooks.http")
_HTTP_LOG.setLevel(logging.ERROR)

TIMED_OUT = "connections without a complete request in time"
EVICTED = "connections closed at the socket cap (oldest without a complete request)"
REFUSED = "connections refused at the socket cap (every socket busy with a request)"
MALFORMED = "malformed HTTP requests"

#: The client still owes us (part of) a request in these h11 states.
_OWING = (h11.IDLE, h11.SEND_BODY)


class ConnectionGuard:
    """What every connection of one receiver shares: the deadline, the socket cap, the counters."""

    def __init__(self, request_timeout: float, max_sockets: int, refusals: Refusals) -> None:
        self.request_timeout = request_timeout
        self.max_sockets = max_sockets
        self.refusals = refusals
        # Connections that owe a request, oldest first (dicts keep insertion order), with their timer.
        self._owing: dict[GuardedH11Protocol, asyncio.TimerHandle] = {}

    @property
    def owing(self) -> int:
        return len(self._owing)

    def admit(self, conn: GuardedH11Protocol) -> None:
        """A new connection is open; at the cap, close the longest-owing one (or this one)."""
        if len(conn.connections) <= self.max_sockets:
            return
        victim = next(iter(self._owing), None)
        if victim is not None:
            self.refusals.count(EVICTED)
            victim.close()
        else:
            self.refusals.count(REFUSED)
            conn.close()

    def watch(self, conn: GuardedH11Protocol) -> None:
        """Arm the deadline when `conn` starts owing a request; disarm it once it has delivered."""
        if conn.transport.is_closing():
            self.release(conn)
        elif conn.conn.their_state in _OWING:
            if conn not in self._owing:
                self._owing[conn] = conn.loop.call_later(self.request_timeout, self._expire, conn)
        else:
            self.release(conn)

    def release(self, conn: GuardedH11Protocol) -> None:
        timer = self._owing.pop(conn, None)
        if timer is not None:
            timer.cancel()

    def _expire(self, conn: GuardedH11Protocol) -> None:
        if self._owing.pop(conn, None) is not None:
            self.refusals.count(TIMED_OUT)
            conn.close()


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol under a `ConnectionGuard` (make one class per receiver: `guarded`)."""

    guard: ClassVar[ConnectionGuard]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.logger = _HTTP_LOG

    # uvicorn's H11Protocol narrows BaseTransport to Transport the same way (a TCP server's kind).
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.guard.admit(self)
        self.guard.watch(self)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.guard.watch(self)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.guard.watch(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.release(self)
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self.guard.refusals.count(MALFORMED)
        super().send_400_response(msg)

    def close(self) -> None:
        """Close without a word: there is no request to answer (h11 allows no response before one)."""
        self.guard.release(self)
        if not self.transport.is_closing():
            self.transport.close()


def guarded(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """A protocol class bound to `guard`, for `uvicorn.Config(http=...)` (it instantiates classes)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": guard})
