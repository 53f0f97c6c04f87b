"""The monitor's news, as messages that travel up the dashboard.

The monitor (`tui.services.monitor`) reports through one callback that may run on a thread;
`news` wraps each of its events in the matching message here, and `post_message` (thread-safe)
delivers it to the dashboard screen, which handles it on the UI's turn of the loop. One message
class per event, so a handler is named after what happened (`on_answer_stored`).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from textual.message import Message

from tui.services import monitor_events as monitor

E = TypeVar("E")


class News(Message, Generic[E]):
    """An event of the monitor, carried to the screen."""

    def __init__(self, event: E) -> None:
        self.event = event
        super().__init__()


class AnswerStored(News[monitor.AnswerStored]):
    """A poll answer or a webhook push was stored: redraw its row, maybe toast."""


class PollFailed(News[monitor.PollFailed]):
    """A poll failed; toasted only when it needs the user."""


class LoopCrashed(News[monitor.LoopCrashed]):
    """A poll loop raised; it restarts by itself."""


class StoreChanged(News[monitor.StoreChanged]):
    """Another instance wrote to the shared history."""


class HealthChanged(News[monitor.HealthChanged]):
    """A provider's health changed state."""


class ReceiverStarted(News[monitor.ReceiverStarted]):
    """The webhook receiver inside the dashboard is listening."""


class ReceiverUnavailable(News[monitor.ReceiverUnavailable]):
    """The webhook receiver could not start."""


class WatcherFailed(News[monitor.WatcherFailed]):
    """Other instances' changes cannot be watched."""


class CampaignListingFailed(News[monitor.CampaignListingFailed]):
    """A pass over a Sendo campaign's pages failed (the next one is tried later)."""


_NEWS: dict[type, type[News[Any]]] = {
    monitor.AnswerStored: AnswerStored,
    monitor.PollFailed: PollFailed,
    monitor.LoopCrashed: LoopCrashed,
    monitor.StoreChanged: StoreChanged,
    monitor.HealthChanged: HealthChanged,
    monitor.ReceiverStarted: ReceiverStarted,
    monitor.ReceiverUnavailable: ReceiverUnavailable,
    monitor.WatcherFailed: WatcherFailed,
    monitor.CampaignListingFailed: CampaignListingFailed,
}


def news(event: monitor.MonitorEvent) -> News[Any]:
    """The message that carries `event`."""
    return _NEWS[type(event)](event)
