"""The find bar, looking IDs up and refreshing them: what Enter and `r` do.

Typed text is untrusted: every message about it goes through `toasts` (plain text, controls
neutralized). An ID looked up while no provider can be reached is not lost: it is tracked in the
store without a provider, shown as waiting, and the poller's "unresolved" loop finds it when a
provider answers again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import work
from textual.widgets import Input

from tui.app.list_model import PAGE_SIZE
from tui.app.query import parse_query
from tui.app.toasts import part, toast_text
from tui.app.widgets.message_list import MessageList
from tui.errors import RateLimitedError, SendwatchError, UnavailableError
from tui.ids import MessageRef, looks_like_id, parse_ref
from tui.store import ListFilter
from tui.textsafe import safe_text

if TYPE_CHECKING:
    from tui.app.app import SendwatchApp
    from tui.services.lookup import LookupService

LOOKING_UP = "Looking up"
#: a lookup still unanswered after this long is kept as waiting and left to the poller
LOOKUP_DEADLINE = 30.0


class LookupActions:
    """Mixed into `SendwatchApp`."""

    # -- detail -----------------------------------------------------------------------------
    def on_message_list_highlighted(self: SendwatchApp, event: MessageList.Highlighted) -> None:
        self.load_detail(event.message_id)

    def on_message_list_opened(self: SendwatchApp, event: MessageList.Opened) -> None:
        self.detail.focus()

    @work(group="detail", exclusive=True, exit_on_error=False)
    async def load_detail(self: SendwatchApp, message_id: str | None) -> None:
        if message_id is None:
            self.detail.show(None)
            return
        stored = await asyncio.to_thread(self.store.get, message_id)
        if stored is None:
            row = await asyncio.to_thread(self.store.row, message_id)
            waiting = f"{safe_text(message_id)}: waiting for the first answer from the provider."
            if row and row.last_error:
                waiting += (
                    f"\nLast attempt: {safe_text(row.last_error, single_line=True, limit=300)}"
                )
            self.detail.show(None, waiting)
            return
        if self.query_one(MessageList).selected_id == message_id:
            self.detail.show(stored)

    def _recover_detail(self: SendwatchApp, error: BaseException) -> None:
        self.detail.show(None, toast_text("Could not read this message: {}", error))

    # -- find bar ---------------------------------------------------------------------------
    def action_find(self: SendwatchApp) -> None:
        self.query_one("#find", Input).focus()

    def on_input_changed(self: SendwatchApp, event: Input.Changed) -> None:
        if event.input.id != "find":
            return
        query = parse_query(event.value, ListFilter(campaign=self.model.filter.campaign))
        if query.ref is None:
            self._apply_filter(query.filter)

    def on_input_submitted(self: SendwatchApp, event: Input.Submitted) -> None:
        if event.input.id != "find":
            return
        query = parse_query(event.value, ListFilter(campaign=self.model.filter.campaign))
        if query.problem:
            self.notify(query.problem, severity="warning")  # quotes typed text: plain, see toasts
        if query.ref is None and looks_like_id(event.value):
            try:
                parse_ref(event.value)
            except SendwatchError as exc:
                self._show_error(exc)
                return
        if query.ref is not None:
            self.goto_id(query.ref)
            return
        self._apply_filter(query.filter)
        self.query_one(MessageList).focus()

    def _apply_filter(self: SendwatchApp, flt: ListFilter) -> None:
        if flt != self.model.filter and flt != self._pending_filter:
            self.reload_view(flt)

    def reload_view(self: SendwatchApp, flt: ListFilter | None = None) -> None:
        """Re-read the list (a new filter or sort, rows added or removed) in the background."""
        flt = self.model.filter if flt is None else flt
        self._pending_filter = flt
        self.filter_list(flt)

    @work(group="filter", exclusive=True, exit_on_error=False)
    async def filter_list(self: SendwatchApp, flt: ListFilter) -> None:
        await self._load_view(flt)

    def _recover_filter(self: SendwatchApp, error: BaseException) -> None:
        self._pending_filter = (
            None  # otherwise live updates would wait for a re-read that never comes
        )

    async def _load_view(self: SendwatchApp, flt: ListFilter) -> None:
        """Read the first page of a view in a thread (its count follows): typing never waits for a scan.
        The only way the list is re-read after start-up (callers set `_pending_filter` first)."""
        listed = self.query_one(MessageList)
        selected, sort = listed.selected_id, self.model.sort
        # the selection stays where it is if it is on the first page, otherwise the view starts at its top
        first = await asyncio.to_thread(
            self.store.page, flt, 0, PAGE_SIZE, sort
        )  # rows first; counted later
        position = next((i for i, row in enumerate(first) if row.id == selected), None)
        if self._pending_filter != flt:
            return  # a newer filter was asked for meanwhile
        self.model.prime(flt, None, first)
        listed.reload(position=position, primed=True)
        self._pending_filter = None
        self.count_statuses(delay=0.3)

    # -- lookup -----------------------------------------------------------------------------
    @work(group="lookup", exclusive=True, exit_on_error=False)
    async def goto_id(self: SendwatchApp, ref: MessageRef) -> None:
        """Enter on an ID: select it if history has it (refreshing it), else look it up."""
        row = await asyncio.to_thread(self.store.row, ref.id)
        if row is None or (
            ref.provider is not None and row.provider not in (None, ref.provider.value)
        ):
            await self._lookup(ref)
            return
        await self._show_message(ref.id)
        self.refresh_selected()

    def _recover_lookup(self: SendwatchApp, error: BaseException) -> None:
        if (self.detail.notice or "").startswith(LOOKING_UP):
            self.detail.show(
                None, toast_text("Lookup failed: {}", f"{type(error).__name__}: {error}")
            )

    async def _show_message(self: SendwatchApp, message_id: str) -> None:
        """Re-read the view (clearing the filter if it hides the message) and select the message."""
        position = await asyncio.to_thread(
            self.store.position, message_id, self.model.filter, self.model.sort
        )
        flt = self.model.filter if position is not None else ListFilter()
        if position is None:
            position = await asyncio.to_thread(
                self.store.position, message_id, flt, self.model.sort
            )
        self._pending_filter = flt
        await self._load_view(flt)
        self.query_one("#find", Input).value = ""
        listed = self.query_one(MessageList)
        listed.select_id(message_id, position)
        listed.focus()

    def lookup_service(self: SendwatchApp) -> LookupService:
        """The one lookup path shared with `sendwatch get`: asks, reads Sent.dm's activity log,
        records, and gives up at a deadline (then the ID is kept as waiting, see `_keep_waiting`)."""
        from tui.services.lookup import LookupService

        assert self.providers is not None
        return LookupService(self.providers, self.store, self.policy, clock=self.clock)

    async def _lookup(self: SendwatchApp, ref: MessageRef) -> None:
        if self.providers is None:
            return
        from tui.services.lookup import describe_wait

        where = ref.provider.label if ref.provider else "every configured provider"
        looking = f"{LOOKING_UP} {safe_text(ref)} at {where}…"
        self.detail.show(None, looking)
        try:
            result = await self.lookup_service().lookup(
                ref,
                timeout=LOOKUP_DEADLINE,
                on_wait=lambda info: self.detail.show(
                    None, f"{looking}\n{safe_text(describe_wait(info))}"
                ),
            )
        except (UnavailableError, RateLimitedError) as exc:  # includes the deadline (LookupTimeout)
            await self._keep_waiting(ref, exc)
            return
        except SendwatchError as exc:
            self._show_error(exc)
            return
        self._tell_notes(result.notes)
        await self._show_message(result.message.id)
        if self.poller:
            self.poller.wake()

    def _tell_notes(self: SendwatchApp, notes: tuple[str, ...]) -> None:
        for note in notes:
            self.notify(note, severity="warning", timeout=8)

    async def _keep_waiting(self: SendwatchApp, ref: MessageRef, exc: SendwatchError) -> None:
        """No provider could be reached: keep the ID in the list as waiting, polled until one answers."""
        now = self.clock()
        retry = exc.retry_after if isinstance(exc, RateLimitedError) else self.policy.min_interval

        def keep() -> None:
            self.store.track([ref], now=now)
            self.store.record_failure(ref.id, str(exc), next_poll=now + retry)

        await asyncio.to_thread(keep)
        await self._show_message(ref.id)
        self.notify(
            toast_text(
                "Could not reach the provider for {} ({}); it stays in the list and is looked up "
                "again when a provider answers.",
                ref.id,
                exc,
            ),
            severity="warning",
            timeout=12,
        )
        if self.poller:
            self.poller.wake()

    def _show_error(self: SendwatchApp, exc: SendwatchError) -> None:
        text = safe_text(str(exc))
        self.detail.show(None, text)
        self.notify(text, severity="error", timeout=10)

    # -- refresh ----------------------------------------------------------------------------
    def action_refresh(self: SendwatchApp) -> None:
        self.refresh_selected()

    @work(group="refresh", exclusive=True, exit_on_error=False)
    async def refresh_selected(self: SendwatchApp) -> None:
        if self.providers is None:
            return
        message_id = self.query_one(MessageList).selected_id
        if not message_id:
            return
        try:
            result = await self.lookup_service().refresh(message_id, timeout=LOOKUP_DEADLINE)
        except SendwatchError as exc:
            self.notify(part(exc, 400), severity="error", timeout=8)
            return
        self._tell_notes(result.notes)
        self._pending.add(message_id)
        self.load_detail(message_id)

    def action_refresh_all(self: SendwatchApp) -> None:
        self.refresh_all()

    @work(group="refresh-all", exclusive=True, exit_on_error=False)
    async def refresh_all(self: SendwatchApp) -> None:
        count = await asyncio.to_thread(self.store.make_all_due, self.clock())
        self.notify(
            f"{count} pending messages queued for a poll now (final ones are never re-asked)."
        )
        if self.poller:
            self.poller.wake()
