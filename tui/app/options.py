"""What the dashboard is started with (the command line's flags, the tests' knobs): plain values,
so the app can hold them without loading the parts that use them."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from tui.app.list_model import ViewRead
from tui.store import ListFilter


@dataclass(frozen=True)
class LiveOptions:
    """How the live part runs (`widgets/live.py`)."""

    poll: bool = True
    elect: bool = True  # share polling with other instances on the same history
    listen: tuple[str, int] | None = None  # (host, port) of a webhook receiver inside the app
    discover: str | None = None  # a Sendo campaign ID whose new messages join while it runs
    campaign: str | None = None  # what `discover` tracks them as


@dataclass(frozen=True)
class DashboardOptions:
    demo: bool = False
    initial_filter: ListFilter | None = None
    campaign: str | None = None  # the summary's subject
    clock: Callable[[], float] = time.time
    live: LiveOptions = field(default_factory=LiveOptions)
    #: the first page, already being read (`list_model.read_ahead`); read by the screen when None
    first_view: Future[tuple[int, ViewRead]] | None = None
