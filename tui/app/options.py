"""How the dashboard is started: demo or not, the first view, the clock, what runs live."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tui.app.widgets.live import LiveOptions
from tui.store import ListFilter


@dataclass(frozen=True)
class DashboardOptions:
    demo: bool = False
    initial_filter: ListFilter | None = None
    campaign: str | None = None  # the summary's subject
    clock: Callable[[], float] = time.time
    live: LiveOptions = LiveOptions()
