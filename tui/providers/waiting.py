"""Tell whoever is waiting *why* a request is taking long: the retry loop's progress hook.

`ProviderClient.get` calls `notify_wait` before each backoff sleep and each Retry-After wait. The
hook lives in a context variable, so it follows one lookup (and the tasks it starts) without
touching other callers of the same client, such as the poller. No Textual, no printing here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

from tui.model import Provider


@dataclass(frozen=True)
class WaitInfo:
    """One wait inside the retry loop. `retry` is the upcoming retry (1-based) of `retries`."""

    provider: Provider
    kind: Literal["backoff", "retry_after"]
    seconds: float
    retry: int
    retries: int
    reason: str  # what went wrong: "a timeout", "HTTP 503", "a connection error", "HTTP 429"


WaitHook = Callable[[WaitInfo], None]

wait_hook: ContextVar[WaitHook | None] = ContextVar("sendwatch_wait_hook", default=None)


def notify_wait(info: WaitInfo) -> None:
    """Call the current hook, if any. A broken progress display never breaks a request."""
    hook = wait_hook.get()
    if hook is None:
        return
    try:
        hook(info)
    except Exception:  # noqa: BLE001 - progress is best effort
        pass


@contextmanager
def waiting_reported_to(hook: WaitHook | None) -> Iterator[None]:
    """Install `hook` for the code (and the tasks it creates) inside the `with`."""
    token = wait_hook.set(hook)
    try:
        yield
    finally:
        wait_hook.reset(token)
