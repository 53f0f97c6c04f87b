"""`GET /readyz`: is this process able to do its job right now (issue #17)?

Ready means the history answers a trivial read within a short bound, and every check a caller
registered passes (`sendwatch poll` adds its poll loops: alive and not stalled). `/healthz` only
says the process is alive; a load balancer or an orchestrator takes a not-ready instance out of
rotation without restarting it.

The history is read in a thread, and never twice at once: a store that hangs (a PostgreSQL server
gone silent) costs one thread however often `/readyz` is asked, and each ask still answers within
the bound.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tui.errors import SendwatchError
from tui.store import Store

log = logging.getLogger("sendwatch.webhooks")

#: A registered check: None when fine, else a short reason (ours, safe to show). May be async.
Check = Callable[[], str | None | Awaitable[str | None]]

STORE_TIMEOUT = 2.0  # seconds the history has to answer a trivial read


@dataclass(frozen=True)
class Verdict:
    ready: bool
    reasons: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        if self.ready:
            return {"ok": True}
        return {"ok": False, "reason": "; ".join(self.reasons)}


class Readiness:
    """The history's answer plus the registered checks; `await verdict()` runs them all."""

    def __init__(self, store: Store, timeout: float = STORE_TIMEOUT) -> None:
        self.store, self.timeout = store, timeout
        self._checks: dict[str, Check] = {}
        self._probe: asyncio.Future[int] | None = None
        self._last_ready: bool | None = None

    def add(self, name: str, check: Check) -> None:
        """Register (or replace) a check; `name` prefixes its reason in the answer."""
        self._checks[name] = check

    def remove(self, name: str) -> None:
        self._checks.pop(name, None)

    async def verdict(self) -> Verdict:
        reasons: list[str] = []
        problem = await self._store_problem()
        if problem is not None:
            reasons.append(f"history: {problem}")
        for name, check in list(self._checks.items()):
            problem = await self._run(check)
            if problem is not None:
                reasons.append(f"{name}: {problem}")
        verdict = Verdict(not reasons, tuple(reasons))
        if verdict.ready is not self._last_ready:  # log changes, not every probe
            if verdict.ready:
                log.info("ready")
            else:
                log.warning("not ready: %s", "; ".join(reasons))
            self._last_ready = verdict.ready
        return verdict

    async def _store_problem(self) -> str | None:
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(asyncio.to_thread(self.store.current_rev))
        try:
            await asyncio.wait_for(asyncio.shield(self._probe), self.timeout)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except SendwatchError as exc:
            log.warning("readiness: the history failed a read: %s", exc)
            return f"read failed ({type(exc).__name__})"
        except Exception as exc:  # noqa: BLE001 - any store failure means not ready, never a 500
            log.warning("readiness: the history failed a read (%s)", type(exc).__name__)
            return f"read failed ({type(exc).__name__})"
        return None

    async def _run(self, check: Check) -> str | None:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, self.timeout)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - a failing check means not ready, never a 500
            return f"check failed ({type(exc).__name__})"
        return result if isinstance(result, str) else None
