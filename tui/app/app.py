"""The Textual application: theme, keys, the one safe way to toast, crash handling; the dashboard
screen does the rest.

Everything the user watches is `DashboardScreen` (the default screen): its widgets own their state
and reads, and a `LiveMonitor` among them runs the domain's `Monitor`. The app only holds what is
app-wide: the settings (for the keymap, the theme and scrubbing secrets from crash reports), the
store (closed by `tui.commands.dashboard` after the app exits), the failure log every widget's
`BackgroundFailure` ends in, and the watch on the terminal (a hang-up ends the app cleanly).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui.app.commands import palette_commands
from tui.app.crash import crash_line, write_report
from tui.app.failures import BackgroundFailure, FailureLog
from tui.app.list_model import ViewRead
from tui.app.options import DashboardOptions, LiveOptions
from tui.app.screens.dashboard import DashboardScreen
from tui.app.terminal import TerminalWatch
from tui.app.toasts import safe_toast
from tui.config import Settings
from tui.store import ListFilter, Store

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel


class SendwatchApp(App[None]):
    CSS_PATH = Path(__file__).parent / "sendwatch.tcss"  # absolute: subclasses live elsewhere
    TITLE = "sendwatch"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [  # ids are what `[keys]` in the config remaps
        Binding("t", "change_theme", "Theme", show=False, id="theme"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        demo: bool = False,
        initial_filter: ListFilter | None = None,
        campaign: str | None = None,
        startup_notes: list[str] | None = None,
        clock: Callable[[], float] = time.time,
        start_poller: bool = True,
        listen: tuple[str, int] | None = None,
        elect: bool = True,
        discover: str | None = None,
        first_view: Future[tuple[int, ViewRead]] | None = None,
    ) -> None:
        """`first_view`: the first page already being read (`list_model.read_ahead`)."""
        super().__init__()
        self.settings = settings
        self.store = store
        self.demo = demo
        self.startup_notes = startup_notes or []
        live = LiveOptions(
            poll=start_poller, elect=elect, listen=listen, discover=discover, campaign=campaign
        )
        self.options = DashboardOptions(demo, initial_filter, campaign, clock, live, first_view)
        self.failures = FailureLog(settings)
        self.terminal = TerminalWatch(self)
        self._crash_line: str | None = None
        if settings.ui.theme in self.available_themes:
            self.theme = settings.ui.theme
        if settings.keys:
            self.set_keymap(settings.keys)

    def get_default_screen(self) -> Screen[None]:
        return DashboardScreen(self.settings, self.store, self.options)

    @property
    def dashboard(self) -> DashboardScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, DashboardScreen)
        return screen

    def on_mount(self) -> None:
        for warning in [*self.store.warnings, *self.startup_notes]:
            self.notify(warning, severity="warning", timeout=15)
        if not self.settings.configured_providers() and not self.demo:
            from tui.app.screens.welcome import WelcomeScreen

            self.push_screen(WelcomeScreen(str(self.settings.path)))
        self.terminal.start()

    def on_unmount(self) -> None:
        self.terminal.stop()

    def action_help(self) -> None:
        from tui.app.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, DashboardScreen):
            yield from palette_commands(screen)

    # -- telling the user -----------------------------------------------------------------------
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,  # accepted for signature compatibility, always treated as False
    ) -> None:
        """Every toast is plain text, whatever the caller passes: a `[/]` from a provider or the
        find bar would otherwise be parsed as markup when the toast is drawn, and end the app."""
        text, heading = safe_toast(message, title)
        super().notify(text, title=heading, severity=severity, timeout=timeout, markup=False)

    def on_background_failure(self, failure: BackgroundFailure) -> None:
        """Whatever failed in the background is logged and told, never silent and never fatal."""
        text = self.failures.tell(failure)
        if text is not None:
            self.notify(text, severity="error", timeout=15)

    # -- crashes --------------------------------------------------------------------------------
    def _handle_exception(self, error: Exception) -> None:
        """Textual's hook for an unhandled error: log it first (secrets scrubbed), then let Textual
        set return code 1 and close; the terminal gets one line naming the log, no traceback."""
        path = write_report(error, "the app (unhandled exception)", self.settings)
        super()._handle_exception(error)
        self._crash_line = crash_line(error, self.settings, path)
        self._exit_renderables.clear()  # no traceback with local variables

    def _print_error_renderables(self) -> None:
        """Textual prints exit messages here, after the screen is restored."""
        if self._crash_line is None:
            super()._print_error_renderables()
            return
        self._exit_renderables.clear()
        # plain print: one line, never re-wrapped by a console width, so the path can be copied whole
        print(self._crash_line, file=sys.stderr, flush=True)
