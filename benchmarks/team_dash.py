"""One dashboard of bench_team.py: the real app, headless, in a process of its own.

`python -m benchmarks.team_dash NAME SECONDS` with SENDWATCH_CONFIG pointing at the run's config
(the shared store: a SQLite file or a PostgreSQL URL; Sent.dm at the simulator). It runs
`SendwatchApp` (elect=True, the default: it polls only while holding the account's lease, and a
ChangeWatcher shows what other instances wrote) for SECONDS, then prints one line
`RESULT {json}`: every (message, status) its list model held and when it first held it, how the
lease went, and how many requests its own poller made.

What "the list model showed it" means: the moment a row with that content entered the model's page
cache, through the app's own paths (`update_rows` for live updates, `prime`/`install` for views it
read). To see every message, not just the first page, the child reads the remaining pages of the
list into the model's cache once at start (and again if the app drops them); rows that entered
through that probe read are tagged `probe` and are not counted as shown by the app.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from tui.app.app import SendwatchApp
from tui.app.list_model import PAGE_SIZE, ListModel
from tui.app.widgets import message_list
from tui.config import load
from tui.services.monitor import Monitor
from tui.services.monitor_events import MonitorEvent, StoreChanged
from tui.store import Row
from tui.store.open import open_store


class ProbeModel(ListModel):
    """The app's list model, noting when each row version (id, status, last change) first entered it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.obs: list[tuple[float, str, str, float | None, str]] = []
        self._seen: set[tuple[str, str, float | None]] = set()
        self.source = "app"
        self.views = 0  # whole-view re-reads by the app (reloads)

    def _note(self, rows, source: str) -> None:
        now = time.time()
        for r in rows:
            key = (r.id, r.status, r.last_changed, r.last_polled is None)
            if key not in self._seen:
                self._seen.add(key)
                self.obs.append(
                    (
                        now,
                        r.id,
                        r.status if r.last_polled is not None else "waiting",
                        r.last_changed,
                        source,
                    )
                )

    def update_rows(self, rows: dict[str, Row]) -> set[int]:
        touched = super().update_rows(rows)
        self._note([r for i in touched if (r := self.cached_row(i)) is not None], "live")
        return touched

    def prime(self, flt, count, first_page) -> None:
        super().prime(flt, count, first_page)
        self.views += 1
        self._note(first_page, "view")

    def install(self, number: int, page: list[Row], generation: int) -> bool:
        ok = super().install(number, page, generation)
        if ok:
            self._note(page, self.source)
        return ok

    def fill(self) -> int:
        """Read every page the cache lacks (the probe's own reads); returns how many."""
        missing = [
            n for n in range(0, (self.count() + PAGE_SIZE - 1) // PAGE_SIZE) if n not in self._pages
        ]
        self.source = "probe"
        try:
            for n in missing:
                self.install(
                    n,
                    self.store.page(self.filter, n * PAGE_SIZE, PAGE_SIZE, self.sort),
                    self.generation,
                )
        finally:
            self.source = "app"
        return len(missing)


async def run(name: str, seconds: float) -> dict:
    # the list builds its model from this name: the probing one from the start (never swapped
    # under a view being read)
    message_list.ListModel = ProbeModel  # type: ignore[misc]
    settings = load(None)
    store = open_store(settings)
    # what `sendwatch watch ids --campaign team` opens
    app = SendwatchApp(settings, store, campaign="team")
    started = time.time()
    out: dict = {}
    try:
        await _drive(app, name, settings, seconds, started, out)
    except Exception as exc:  # noqa: BLE001 - e.g. the app failing while it shuts down: report, keep the data
        out["exit_error"] = f"{type(exc).__name__}: {exc}"[:300]
    store.close()
    return out


def _listen_to_changes(monitor: Monitor, announced: list[tuple[float, list[str]]]) -> None:
    """Note what the change watcher hands the app, and when (the monitor's one sink, wrapped)."""
    sink = monitor.on_event

    def noted(event: MonitorEvent) -> None:
        if isinstance(event, StoreChanged):
            changes = event.changes
            announced.append((time.time(), list(changes.ids) if not changes.truncated else ["*"]))
        sink(event)

    monitor.on_event = noted


async def _drive(
    app: SendwatchApp, name: str, settings, seconds: float, started: float, out: dict
) -> None:
    leases: list[tuple[float, str]] = []
    announced: list[tuple[float, list[str]]] = []
    out["announced"] = announced  # kept even when the app fails on the way
    refills = 0
    live_at = None
    account = next(iter(settings.configured_providers()))
    async with app.run_test(size=(120, 40), notifications=False) as pilot:
        model = app.dashboard.message_list.model
        assert isinstance(model, ProbeModel)
        monitor = app.dashboard.monitor
        _listen_to_changes(monitor, announced)
        while time.time() - started < seconds:
            if live_at is None and monitor.watcher is not None:
                # the change watcher runs: from now on every write is announced
                live_at = time.time()
            if live_at is not None:  # the probe reads pages only after that: it hides no change
                refills += model.fill() > 0
            poller = monitor.poller
            state = poller.lease_state.get(account, "") if poller else ""
            if not leases or leases[-1][1] != state:
                leases.append((time.time(), state))
            await pilot.pause(0.1)
        poller = monitor.poller
        requests = sum(s.requests for s in poller.stats.values()) if poller else 0
        watcher = monitor.watcher
        out.update(
            {
                "name": name,
                "obs": model.obs,
                "leases": leases,
                "requests": requests,
                "started": started,
                "live_at": live_at,
                "ended": time.time(),
                "views": model.views,
                "refills": refills,
                "watcher_errors": watcher.errors if watcher else None,
                "rows": model.count(),
            }
        )


def main() -> None:
    name, seconds = sys.argv[1], float(sys.argv[2])
    result = asyncio.run(run(name, seconds))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
