"""Leave cleanly when the terminal goes away (SSH dropped, window closed, `kill`).

SIGHUP's default action kills the process on the spot: the store is not closed and the screen is
never restored. Here SIGHUP and SIGTERM ask the app to exit, so `dashboard.run` closes the history
(SQLite WAL checkpoint) as usual. Some terminals vanish without a signal reaching us, so stdin and
the output are also checked every few seconds (as dolphie does). If the exit itself hangs on a dead
terminal, a watchdog ends the process after `WATCHDOG` seconds: every store write is one committed
transaction, so nothing recorded is lost even then.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from typing import Any

from textual.app import App

CHECK_EVERY = 2.0
WATCHDOG = 8.0
EXIT_HANGUP = 128 + signal.SIGHUP
EXIT_TERM = 128 + signal.SIGTERM


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _fds() -> list[int]:
    """stdin (keys), stdout, and stderr (where Textual draws); only those that start as a terminal count."""
    fds = []
    for stream in (sys.__stdin__, sys.__stdout__, sys.__stderr__):
        try:
            fds.append(stream.fileno())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            pass
    return fds


class TerminalWatch:
    """Held by the app; does nothing in headless runs (tests, screenshots)."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self._watched_fds: list[int] = []
        self._leaving = False

    def start(self) -> None:
        if self.app.is_headless:
            return
        loop = asyncio.get_running_loop()
        for sig, code in ((signal.SIGHUP, EXIT_HANGUP), (signal.SIGTERM, EXIT_TERM)):
            try:
                loop.add_signal_handler(sig, self.gone, code)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or no such signal on this platform
        self._watched_fds = [fd for fd in _fds() if _isatty(fd)]
        if self._watched_fds:
            self.app.set_interval(CHECK_EVERY, self._check)

    def stop(self) -> None:
        if self.app.is_headless:
            return
        try:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass

    def _check(self) -> None:
        if not all(_isatty(fd) for fd in self._watched_fds):
            self.gone(EXIT_HANGUP)

    def gone(self, code: int = EXIT_HANGUP) -> None:
        """The terminal went away: exit with `code` (the history is closed on the way out), and
        end the process anyway if that exit hangs."""
        if self._leaving:
            return
        self._leaving = True
        watchdog = threading.Timer(WATCHDOG, os._exit, args=(code,))
        watchdog.daemon = True
        watchdog.start()
        self.app.exit(return_code=code)
