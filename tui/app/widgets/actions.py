"""Resend and cancel (Sent.dm) from the dashboard: the selected message, or every eligible one in
the current view ("Resend all 12 blocked? 12 messages, about 0.5400 billed again").

No look of its own. It owns the two workers: the plan (which messages are eligible, what a resend
costs again: `services/actions.py`, shared with the CLI) and, once the confirmation screen says
yes, the requests within the provider's budget. Each message acted on is posted up as `Acted`
(the screen re-reads its row); the result is one toast. The domain is imported in the workers,
so the dashboard's first frame does not wait for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker

from tui.app.failures import worker_failure
from tui.app.toasts import part, toast_text
from tui.store import ListFilter, Store

if TYPE_CHECKING:
    from tui.providers.actions import Action
    from tui.services.actions import Outcome, Plan
    from tui.services.monitor import Monitor

#: how long to wait for the provider clients when a key is pressed right after start-up
READY_WAIT = 10.0
#: how a refusal in read-only mode names each action
REFUSED_WORDS = {"resend": "resending", "cancel": "cancelling a scheduled message"}


class MessageActions(Widget):
    DEFAULT_CSS = "MessageActions { display: none; }"
    WORKER_LABELS = {"act-plan": "Resend/cancel", "act-run": "Resend/cancel"}

    class Acted(Message):
        """These messages were resent, cancelled or looked up again: re-read their rows."""

        def __init__(self, ids: list[str]) -> None:
            super().__init__()
            self.ids = ids

    def __init__(self, store: Store, monitor: Callable[[], Monitor], *, id: str) -> None:
        super().__init__(id=id)
        self.store = store
        self.monitor = monitor  # the screen's (started on first use)
        self.running = False  # one batch at a time: a second key waits for the first

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        failure = worker_failure(event, self.WORKER_LABELS)
        if failure is not None:
            self.post_message(failure)  # told as "Resend/cancel failed: …"

    def ask(self, action: Action, selected: str | None, view: ListFilter | None) -> None:
        """Plan `action` for the selected message (`view` None) or for every one in `view`."""
        if self.running:
            self.notify("A resend or cancel is still running", severity="warning")
            return
        if view is None and selected is None:
            self.notify("Select a message first", severity="warning")
            return
        self._plan(action, selected, view)

    @work(group="act-plan", exclusive=True, exit_on_error=False)
    async def _plan(self, action: Action, selected: str | None, view: ListFilter | None) -> None:
        from tui.app.screens.confirm import ConfirmScreen
        from tui.services.actions import Selection, plan

        monitor = self.monitor()
        if not await monitor.wait_ready(READY_WAIT) or monitor.providers is None:
            self.notify("The provider clients are not ready yet", severity="error")
            return
        selection = Selection(view=view) if view is not None else Selection(ids=(selected or "",))
        work = await plan(self.store, monitor.providers, action, selection, policy=monitor.policy)
        if not work.eligible:
            why = f": {part(work.skipped[0][1], 200)}" if len(work.skipped) == 1 else ""
            self.notify(toast_text("Nothing to {}{}", action, why), severity="warning", timeout=8)
            return
        for warning in work.warnings[:3]:
            self.notify(toast_text("{}", part(warning, 300)), severity="warning", timeout=12)

        def answered(yes: bool | None) -> None:
            if yes and not self.running:
                self.running = True
                self._run(work)

        self.app.push_screen(ConfirmScreen(work.question(every=view is not None)), answered)

    @work(group="act-run", exclusive=True, exit_on_error=False)
    async def _run(self, work: Plan) -> None:
        from tui.services.actions import execute

        monitor = self.monitor()
        try:
            if monitor.providers is None:
                self.notify("The provider clients stopped", severity="error")
                return
            outcomes = await execute(
                self.store,
                monitor.providers,
                work,
                policy=monitor.policy,
                on_outcome=lambda o: self.post_message(self.Acted([o.id])),
            )
            monitor.wake()  # the resent messages are due now: polling resumes
        finally:
            self.running = False
        self._tell(work, outcomes)

    def _tell(self, work: Plan, outcomes: list[Outcome]) -> None:
        from tui.providers.actions import action_past

        done = sum(1 for o in outcomes if o.result == "done")
        past = action_past(work.action)
        cost = f"; {work.cost_words()}" if work.action == "resend" and done else ""
        self.notify(toast_text("{} {} of {}{}", past.capitalize(), done, len(outcomes), cost))
        for o in [o for o in outcomes if o.result != "done"][:3]:
            self.notify(toast_text("{}", part(o.detail, 400)), severity="warning", timeout=15)
