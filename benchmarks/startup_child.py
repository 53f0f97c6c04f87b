"""Run one app until its first frame is on screen, print the wall time then, and exit.

Used by bench_ui.py: `python startup_child.py datatable` or `python startup_child.py sendwatch DB`.
Both run headless, so terminal speed does not enter the comparison.
"""

from __future__ import annotations

import sys
import time


def first_frame(app) -> None:
    def done() -> None:
        print(f"FIRST_FRAME {time.time():.6f}", flush=True)
        app.exit()

    app.call_after_refresh(done)


def main() -> None:
    mode = sys.argv[1]
    if mode == "datatable":
        from textual.app import App
        from textual.widgets import DataTable

        class Minimal(App):
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
                first_frame(self)

        Minimal().run(headless=True, size=(120, 40))
        return
    from dataclasses import replace
    from pathlib import Path

    from tui.app.app import SendwatchApp
    from tui.config import load
    from tui.store import SQLiteStore

    settings = load(Path("/nonexistent.toml"), env={})
    settings = replace(settings, history=replace(settings.history, path=sys.argv[2]))

    class Measured(SendwatchApp):
        def on_mount(self) -> None:
            # registered before the app's own after-first-frame work (providers, poller, watchers),
            # which Textual runs in order after the same refresh: the frame is on screen by then
            first_frame(self)
            super().on_mount()

    store = SQLiteStore(sys.argv[2])
    app = Measured(
        settings, store, start_poller=False, demo=True
    )  # demo: no welcome screen over the list
    app.run(headless=True, size=(120, 40))


if __name__ == "__main__":
    main()
