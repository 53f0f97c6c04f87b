"""The find bar: what is typed becomes a filter for the list, or, on Enter, an ID to look up.

It only parses (`tui.app.query`) and posts what the text means: `FilterChanged` while typing
filter tokens or text, `LookupRequested` on Enter with a message ID, `Refused` when the text says
something it cannot do (an unknown status, a malformed ID). The screen decides what follows.
Typed text is untrusted: it is never markup anywhere it is repeated.
"""

from __future__ import annotations

from textual.message import Message
from textual.widgets import Input

from tui.app.query import parse_query
from tui.errors import SendwatchError
from tui.ids import MessageRef, looks_like_id, parse_ref
from tui.store import ListFilter

PLACEHOLDER = "/ filter: text, status:failed, provider:sendo, error:CODE, or an ID + Enter"


class FindBar(Input):
    class FilterChanged(Message):
        """The text is a filter (`submitted`: Enter was pressed on it)."""

        def __init__(self, flt: ListFilter, submitted: bool) -> None:
            self.filter = flt
            self.submitted = submitted
            super().__init__()

    class LookupRequested(Message):
        def __init__(self, ref: MessageRef) -> None:
            self.ref = ref
            super().__init__()

    class Refused(Message):
        """Something typed cannot be used: `error` for an ID that is not one, else a problem."""

        def __init__(self, problem: str, error: SendwatchError | None = None) -> None:
            self.problem = problem
            self.error = error
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder=PLACEHOLDER, id=id)
        self.base = ListFilter()  # what an empty find bar shows (the campaign being watched)

    def clear_quietly(self) -> None:
        """Empty the bar without announcing a filter (the screen has chosen the view already)."""
        with self.prevent(Input.Changed):
            self.value = ""

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        query = parse_query(event.value, self.base)
        if query.ref is None:
            self.post_message(self.FilterChanged(query.filter, submitted=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        query = parse_query(event.value, self.base)
        if query.problem:
            self.post_message(self.Refused(query.problem))
        if query.ref is None and looks_like_id(event.value):
            try:
                parse_ref(event.value)
            except SendwatchError as exc:
                self.post_message(self.Refused(str(exc), exc))
                return
        if query.ref is not None:
            self.post_message(self.LookupRequested(query.ref))
        else:
            self.post_message(self.FilterChanged(query.filter, submitted=True))
