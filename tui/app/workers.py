"""One handler for every background worker that fails: never silent, never fatal.

Workers run with `exit_on_error=False`, so an unexpected exception would otherwise vanish: a lookup
left "Looking up…" on screen forever, a poll loop stopped without a word. Here a worker in ERROR
state is logged to the crash log, told to the user in a toast, and the state tied to it is cleared
by the owning mixin's `_recover_<group>` method (which may add a few words to the toast).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual.worker import Worker, WorkerState

from tui.app.crash import error_line, write_report
from tui.app.toasts import toast_text

if TYPE_CHECKING:
    from tui.app.app import SendwatchApp

#: what the user is told failed, by worker group
LABELS = {
    "lookup": "Lookup",
    "refresh": "Refresh",
    "refresh-all": "Queueing every pending message",
    "detail": "Reading the selected message",
    "filter": "Filtering the list",
    "poller": "Polling",
    "updates": "Updating the list",
    "notify": "Failure notice",
    "counts": "Counting statuses",
    "summary": "Campaign summary",
    "import": "Import",
    "export": "Export",
    "forget": "Forgetting",
    "prune": "Pruning old history",
    "focus": "Polling what is on screen",
}
#: the same failure again within this many seconds is neither toasted nor logged again
QUIET_REPEAT = 30.0


class WorkerFailures:
    """Mixed into `SendwatchApp`."""

    _worker_failures: dict[tuple[str, str], float]

    def on_worker_state_changed(self: SendwatchApp, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        worker, error = event.worker, event.worker.error
        group = worker.group or "default"
        recover = getattr(self, "_recover_" + group.replace("-", "_"), None)
        extra = recover(error) if recover else None
        self.report_failure(
            LABELS.get(group, "A background task"),
            error,
            f"background task {group!r} ({worker.name})",
            extra,
        )

    def report_failure(
        self: SendwatchApp, label: str, error: BaseException, where: str, extra: str | None = None
    ) -> None:
        """Log `error` to the crash log and tell the user "<label> failed: <error>" in a toast;
        the same failure again within `QUIET_REPEAT` seconds is neither logged nor toasted again."""
        detail = error_line(error, self.settings)
        key = (label, detail[:300])
        now = time.monotonic()
        if now - self._worker_failures.get(key, float("-inf")) < QUIET_REPEAT:
            return
        self._worker_failures[key] = now
        path = write_report(error, where, self.settings)
        text = toast_text(label + " failed: {}", detail)
        if extra:
            text += f" — {extra}"
        if path:
            text += f" (details in {path})"
        self.notify(text, severity="error", timeout=15)
