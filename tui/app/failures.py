"""Background failures: never silent, never fatal, always said in words the user knows.

Workers run with `exit_on_error=False`, so an unexpected exception would otherwise vanish: a lookup
left "Looking up…" on screen forever, a count never finished. Each widget and screen handles its
own workers' `Worker.StateChanged` (those messages do not bubble): it clears the state tied to the
work and posts a `BackgroundFailure` with the label of the worker's group from its
`WORKER_LABELS` (every group a widget starts has one; a test checks). The app hands every
`BackgroundFailure` to `FailureLog.tell`: one crash log entry and one toast, and the same failure
again within `QUIET_REPEAT` seconds neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from textual.message import Message
from textual.worker import Worker, WorkerState

from tui.app.crash import error_line, write_report
from tui.app.toasts import toast_text

#: the same failure again within this many seconds is neither toasted nor logged again
QUIET_REPEAT = 30.0
#: what a group without a label is called (a test keeps every group labelled)
UNLABELLED = "A background task"


class BackgroundFailure(Message):
    """Something in the background failed unexpectedly: the app writes the crash log and tells
    the user "<label> failed: <error>" (posted by whoever owned the work; bubbles to the app)."""

    def __init__(
        self, label: str, error: BaseException, where: str, extra: str | None = None
    ) -> None:
        self.label = label
        self.error = error
        self.where = where
        self.extra = extra
        super().__init__()


def worker_failure(
    event: Worker.StateChanged, labels: Mapping[str, str], extra: str | None = None
) -> BackgroundFailure | None:
    """The failure to post for a worker that ended in error, or None for any other state change."""
    worker = event.worker
    if event.state is not WorkerState.ERROR or worker.error is None:
        return None
    group = worker.group or "default"
    return BackgroundFailure(
        labels.get(group, UNLABELLED),
        worker.error,
        f"background task {group!r} ({worker.name})",
        extra,
    )


class FailureLog:
    """Writes each failure to the crash log (secrets scrubbed) and words its toast."""

    def __init__(self, settings: object, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._told: dict[tuple[str, str], float] = {}

    def tell(self, failure: BackgroundFailure) -> str | None:
        """The toast for `failure` ("<label> failed: <error> — <extra> (details in <log>)"), or
        None when the same failure was told within `QUIET_REPEAT` seconds."""
        detail = error_line(failure.error, self.settings)
        key = (failure.label, detail[:300])
        now = self.clock()
        if now - self._told.get(key, float("-inf")) < QUIET_REPEAT:
            return None
        self._told[key] = now
        path = write_report(failure.error, failure.where, self.settings)
        text = toast_text(failure.label + " failed: {}", detail)
        if failure.extra:
            text += f" — {failure.extra}"
        if path:
            text += f" (details in {path})"
        return text
