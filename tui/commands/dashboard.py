"""Starting the dashboard: normally, as the demo, or watching a file of IDs."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tui.commands.output import fail
from tui.config import Settings
from tui.ids import MessageRef
from tui.store.history import HistoryStore, ListFilter


def _open_store(settings: Settings) -> HistoryStore | None:
    try:
        return HistoryStore(settings.history_path())
    except Exception as exc:  # noqa: BLE001 - e.g. a read-only disk: say so, do not trace back
        print(f"sendwatch: cannot open the history at {settings.history_path()}: {exc}", file=sys.stderr)
        return None


def run(settings: Settings, initial_filter: ListFilter | None = None, *, demo: bool = False) -> int:
    from tui.app.app import SendwatchApp

    store = _open_store(settings)
    if store is None:
        return 2
    try:
        SendwatchApp(settings, store, demo=demo, initial_filter=initial_filter).run()
    finally:
        store.close()
    return 0


def run_demo() -> int:
    """The full app against the embedded simulator, with a fresh throwaway history."""
    from tui.simulator.demo import demo_settings, start_demo

    sim, tracked = start_demo()
    try:
        with tempfile.TemporaryDirectory(prefix="sendwatch-demo-") as tmp:
            settings = demo_settings(sim, Path(tmp) / "history.sqlite3")
            store = HistoryStore(settings.history_path())
            history = [m for m in tracked if m.campaign is None]
            store.track([MessageRef(m.id, m.provider) for m in history])
            store.track([MessageRef(m.id, m.provider) for m in tracked if m.campaign], campaign="spring-sale")
            store.close()
            return run(settings, demo=True)
    finally:
        sim.stop()


def run_watch(settings: Settings, source: str, campaign: str | None, provider: str | None, *, no_ui: bool = False) -> int:
    return fail("watch is not available yet", 2)
