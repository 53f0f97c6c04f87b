"""Run one app until the first frame that shows its rows, print the wall time then, and exit.

Used by bench_ui.py: `python startup_child.py datatable` or `python startup_child.py sendwatch DB`;
sendwatch is built by `tui.commands.dashboard.open_dashboard`, as the command line builds it.
Both run headless, so terminal speed does not enter the comparison. The frame is caught as it is
handed to the driver (the app's `_display`), and only counts once it holds rows: sendwatch's list
reads its first page in a thread, so a frame drawn before that page landed would flatter it. The
parent also times the whole process, exit included.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any


def stop_at_first_frame(app: Any, shows_rows: Callable[[], bool]) -> None:
    """Print the time of the first frame written while `shows_rows()` holds, then exit."""
    display = app._display
    done = False

    def record(screen: Any, renderable: Any) -> None:
        nonlocal done
        display(screen, renderable)
        if renderable is not None and not done and shows_rows():
            done = True
            print(f"FIRST_FRAME {time.time():.6f}", flush=True)
            app.exit()

    app._display = record


def main() -> None:
    mode = sys.argv[1]
    if mode == "datatable":
        from textual.app import App
        from textual.widgets import DataTable

        class Minimal(App[None]):
            def compose(self):
                yield DataTable()

            def on_mount(self) -> None:
                table = self.query_one(DataTable)
                table.add_columns("status", "provider", "to", "id", "polled")
                table.add_rows(
                    [
                        ("delivered", "Sent.dm", f"+1415555{i:04d}", f"{i:08x}", "5s")
                        for i in range(100)
                    ]
                )

        app = Minimal()
        stop_at_first_frame(app, lambda: app.query_one(DataTable).row_count == 100)
        app.run(headless=True, size=(120, 40))
        return
    from dataclasses import replace
    from pathlib import Path

    from tui.commands.dashboard import open_dashboard
    from tui.config import load
    from tui.store import SQLiteStore

    settings = load(Path("/nonexistent.toml"), env={})
    settings = replace(settings, history=replace(settings.history, path=sys.argv[2]))
    store = SQLiteStore(sys.argv[2])
    # as `sendwatch` starts it (the first page read while the app is imported); demo: no welcome
    # screen over the list; no poller: nothing to poll without keys anyway
    sendwatch = open_dashboard(settings, store, start_poller=False, demo=True)

    def list_drawn() -> bool:
        from tui.app.widgets.message_list import MessageList

        listed = sendwatch.screen.query(MessageList)
        return bool(listed) and listed.first().ready and bool(listed.first()._drawn)

    stop_at_first_frame(sendwatch, list_drawn)
    sendwatch.run(headless=True, size=(120, 40))
    store.close()


if __name__ == "__main__":
    main()
