"""What a `Monitor` reports, one frozen dataclass per kind of news, through its one sink; and what it
is given of a webhook receiver (`Receiver`, `Pushed`).

The sink (`OnEvent`) is called on the monitor's event loop or from a thread (the change watcher's)
and must not block: a dashboard posts a message, a command logs a line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tui.errors import SendwatchError
from tui.model import Provider, Status
from tui.providers.budget import Health, HealthState
from tui.store import Changes, FetchOutcome


@dataclass(frozen=True)
class AnswerStored:
    """A status was stored: a poll answer, or a webhook's push (`pushed`)."""

    message_id: str
    previous: Status | None
    current: Status
    pushed: bool = False

    @property
    def newly_failed(self) -> bool:
        return self.current is Status.FAILED and self.previous not in (None, Status.FAILED)

    @property
    def newly_delivered(self) -> bool:
        return self.current is Status.DELIVERED and self.previous not in (None, Status.DELIVERED)


@dataclass(frozen=True)
class PollFailed:
    """A poll failed. `needs_user`: an auth problem, answers that are not the documented API, or a
    provider really down (its circuit open); a single retryable failure only shows as health."""

    provider: Provider | None
    error: SendwatchError
    needs_user: bool


@dataclass(frozen=True)
class LoopCrashed:
    """A poll loop raised something unexpected; the poller restarts it by itself after a backoff."""

    owner: Provider | None
    error: BaseException


@dataclass(frozen=True)
class StoreChanged:
    """Another instance wrote to the shared history: re-read these rows (all, when truncated)."""

    changes: Changes


@dataclass(frozen=True)
class HealthChanged:
    """A provider's health changed state (offline, rate-limited, auth rejected, ok…)."""

    provider: Provider
    before: HealthState
    health: Health

    @property
    def recovered(self) -> bool:
        troubled = (HealthState.OFFLINE, HealthState.AUTH_REJECTED, HealthState.RATE_LIMITED)
        return self.before in troubled and self.health.state is HealthState.OK


@dataclass(frozen=True)
class ReceiverStarted:
    base_url: str


@dataclass(frozen=True)
class ReceiverUnavailable:
    """The webhook receiver could not start (the address is taken…): polling carries on alone."""

    reason: str


@dataclass(frozen=True)
class WatcherFailed:
    """Other instances' changes cannot be watched (`error` at start) or the watching keeps
    failing (`errors` so far); this instance still shows its own updates."""

    error: BaseException | None
    errors: int = 0


@dataclass(frozen=True)
class CampaignListingFailed:
    campaign_id: str
    error: SendwatchError


MonitorEvent = (
    AnswerStored
    | PollFailed
    | LoopCrashed
    | StoreChanged
    | HealthChanged
    | ReceiverStarted
    | ReceiverUnavailable
    | WatcherFailed
    | CampaignListingFailed
)
OnEvent = Callable[[MonitorEvent], None]


# -- what the monitor is given ------------------------------------------------------------------
class Receiver(Protocol):
    """A webhook receiver (`tui.webhooks.WebhookReceiver`), built by the host with
    `on_applied=monitor.pushed`: the monitor starts and stops it."""

    @property
    def base_url(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Pushed(Protocol):
    """What the receiver reports of one applied push (`tui.webhooks.apply.Applied`)."""

    @property
    def message_id(self) -> str: ...

    @property
    def status(self) -> Status: ...

    @property
    def outcome(self) -> FetchOutcome | None: ...
