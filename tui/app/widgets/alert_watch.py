"""Alerts in the dashboard: the alert engine ticked once a second, off the UI thread.

The status line owns one of these once the monitor is live (not in the demo, which has no rules of
its own). Each tick runs `AlertEngine.tick` in a thread: it evaluates the rules when this instance
polls (a team sharing a history gets one message, from the instance that polls), delivers the
transitions (the webhook on the notifier's own thread; the bell and OSC 9 notification written to
this terminal through the app's driver, wrapped for tmux), and says what the status line shows.
A transition is also toasted; `Changed` tells the status line when the firing set changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker

from tui.app.failures import worker_failure
from tui.app.toasts import toast_text

if TYPE_CHECKING:
    from tui.alerts.engine import AlertEngine, Transition
    from tui.services.monitor import Monitor


CLOSE_WAIT = 5.0  # seconds queued webhook deliveries get when the dashboard closes


class TerminalStream:
    """What the notifier writes its bell sequence to: this app's terminal, via the driver.

    The engine ticks in a thread; the sequence is handed to the app's thread. Textual has no public
    call for a raw escape sequence (its own `bell` and `copy_to_clipboard` write to the driver the
    same way); a headless app (tests, `serve`) has no terminal and writes nothing."""

    def __init__(self, widget: Widget) -> None:
        self.widget = widget
        self.written: list[str] = []  # what reached the driver, for the Pilot test

    def write(self, text: str) -> int:
        self.widget.app.call_from_thread(self._write, text)
        return len(text)

    def _write(self, text: str) -> None:
        self.written.append(text)
        driver = self.widget.app._driver  # private: no public raw-output call (see docstring)
        if driver is not None and not self.widget.app.is_headless:
            driver.write(text)

    def flush(self) -> None:
        pass


class AlertWatch(Widget):
    DEFAULT_CSS = "AlertWatch { display: none; }"
    WORKER_LABELS = {"alerts": "Evaluating alert rules"}
    EVERY = 1.0

    class Changed(Message):
        """The firing rules changed: `status` is the status line's text ("⚠ failure-rate"), or None."""

        def __init__(self, status: str | None) -> None:
            self.status = status
            super().__init__()

    def __init__(self, monitor: Monitor, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.monitor = monitor
        self.clock = clock
        self.status: str | None = None
        self.terminal = TerminalStream(self)
        self.engine: AlertEngine | None = None

    def on_mount(self) -> None:
        self.set_interval(self.EVERY, self.tick)
        self.tick()

    def tick(self) -> None:
        self._tick()

    @work(group="alerts", exclusive=True, exit_on_error=False)
    async def _tick(self) -> None:
        if self.engine is None:
            self.engine = await asyncio.to_thread(self._build)
        result = await asyncio.to_thread(self.engine.tick, self.clock())
        for transition in result.transitions:
            self._toast(transition)
        if result.status != self.status:
            self.status = result.status
            self.post_message(self.Changed(result.status))

    def _build(self) -> AlertEngine:
        """The engine `poll` builds, with this terminal for the bell (imports in a thread)."""
        from tui.alerts.engine import AlertEngine
        from tui.alerts.hooks import polls_here, provider_health

        monitor = self.monitor
        settings = monitor.settings
        poller, providers = monitor.poller, monitor.providers
        engine = AlertEngine.for_settings(
            monitor.store,
            settings,
            settings.alerts,
            should_evaluate=polls_here(poller) if poller is not None else lambda: False,
            bell_stream=self.terminal,
        )
        if providers is not None:
            engine.provider_health = provider_health(providers)
        return engine

    def _toast(self, transition: Transition) -> None:
        text = transition.payload()["text"]
        firing = transition.state == "firing"
        self.notify(toast_text("{}", text), severity="warning" if firing else "information")

    async def on_unmount(self) -> None:
        """Let a queued delivery go out (a few seconds at most), off the UI thread."""
        if self.engine is not None:
            await asyncio.to_thread(self.engine.notifier.close, CLOSE_WAIT)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS)
        if failure is not None:
            self.post_message(failure)
