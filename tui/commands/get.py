"""`sendwatch get ID`: one lookup for scripts, stored in history, never silent for long.

The lookup itself is `tui.services.lookup.LookupService` (the same path as the dashboard's); this
module adds what a command line needs: an overall deadline, plain progress lines on stderr while a
provider is slow, and the human or JSON output.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from tui.commands.output import describe, fail, warn
from tui.config import Settings
from tui.errors import SendwatchError
from tui.ids import MessageRef, parse_ref
from tui.polling.policy import PollPolicy
from tui.providers.lookup import Providers
from tui.providers.waiting import WaitInfo
from tui.serialize import message_to_dict
from tui.services.lookup import LookupResult, LookupService, LookupTimeout, describe_wait
from tui.store import Store
from tui.store.open import open_store

DEFAULT_TIMEOUT = 15.0


class StderrProgress:
    """Says what a slow lookup is waiting for, in plain lines.

    Silent for the first second (a normal answer prints nothing); then one line per retry or
    Retry-After wait as it happens, and a "still waiting" line when nothing was said for a while
    (the first one at one second). Never more than one line per second except for real events.
    """

    def __init__(
        self,
        stream: TextIO,
        timeout: float,
        *,
        quiet_for: float = 1.0,
        heartbeat: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.timeout = timeout
        self.quiet_for = quiet_for
        self.heartbeat = heartbeat
        self.clock = clock
        self.started = clock()
        self.last_line: float | None = None
        self.latest: WaitInfo | None = None
        self.service: LookupService | None = None

    def say(self, text: str) -> None:
        print(f"sendwatch: {text}", file=self.stream, flush=True)
        self.last_line = self.clock()

    def on_wait(self, info: WaitInfo) -> None:
        """A retry or Retry-After wait: worth a line once the lookup is (or will be) slow."""
        self.latest = info
        elapsed = self.clock() - self.started
        if elapsed >= self.quiet_for or info.seconds >= self.quiet_for:
            self.say(describe_wait(info))

    def tick(self) -> None:
        now = self.clock()
        elapsed = now - self.started
        if elapsed < self.quiet_for or self.service is None:
            return
        quiet = self.quiet_for if self.last_line is None else self.heartbeat
        if self.last_line is not None and now - self.last_line < max(1.0, quiet):
            return
        info = self.latest
        detail = ""
        if info is not None and info.provider in self.service.waiting_providers:
            detail = (
                f", asked to wait {info.seconds:.0f} s (Retry-After)"
                if info.kind == "retry_after"
                else f", retry {info.retry} of {info.retries} after {info.reason}"
            )
        self.say(
            f"waiting for {self.service.waiting_for}… {elapsed:.0f} s so far{detail} (giving up after {self.timeout:g} s)"
        )

    async def run(self, service: LookupService) -> None:
        self.service = service
        while True:
            await asyncio.sleep(0.2)
            self.tick()


async def lookup(
    settings: Settings,
    ref: MessageRef,
    store: Store | None,
    timeout: float,
    progress: StderrProgress | None = None,
) -> LookupResult:
    """Ask the known owner, the prefixed provider or every configured one; store the answer."""
    providers = Providers(settings)
    service = LookupService(providers, store, PollPolicy.from_settings(settings.polling))
    ticker = asyncio.ensure_future(progress.run(service)) if progress else None
    try:
        return await service.lookup(
            ref, timeout=timeout, on_wait=progress.on_wait if progress else None
        )
    finally:
        if ticker:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
        await providers.aclose()


def run(
    settings: Settings,
    raw_id: str,
    provider: str | None,
    as_json: bool,
    raw: bool,
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    try:
        ref = parse_ref(raw_id, provider)
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    store: Store | None = None
    try:
        store = open_store(settings)
        for warning in store.warnings:
            warn(warning)
    except Exception as exc:  # noqa: BLE001 - the lookup is still worth doing without history
        warn(f"history unavailable ({exc.__class__.__name__}); the result is not saved")
    try:
        result = asyncio.run(
            lookup(settings, ref, store, timeout, StderrProgress(sys.stderr, timeout))
        )
    except LookupTimeout as exc:
        return fail(
            f"{exc}. Try again later, or allow longer with --timeout SECONDS.", exc.exit_code
        )
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    finally:
        if store is not None:
            store.close()
    for note in result.notes:
        warn(note)
    fetched = datetime.fromtimestamp(result.fetched_at, tz=UTC)
    if as_json:
        item = message_to_dict(result.message, fetched, raw=raw)
        item["account"] = result.account  # who answered: as `export` says it
        print(json.dumps(item, indent=2))
    else:
        print(describe(result.message))
    return 0
