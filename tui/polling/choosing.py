"""Which due messages a provider loop asks next, when a request could start now.

The selected row first, then rows on screen within a bounded share of the budget (a fading boost),
then messages never asked yet (oldest first), then the most overdue: `ScreenShare` (policy.py)
makes the pick; this reads the candidates from the store, in a thread.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable

from tui.polling.loops import Focus, Owner
from tui.polling.policy import PollPolicy, ScreenShare
from tui.store import Store

DueRow = tuple[str, str | None, str, float | None]


async def choose_due(
    store: Store,
    policy: PollPolicy,
    focus: Focus,
    picker: ScreenShare,
    owner: Owner,
    count: int,
    now: float,
    free: Callable[[str], bool],
    *,
    inflight: int,
    unassigned: bool = False,
) -> list[tuple[str, bool]]:
    """Up to `count` due IDs of `owner`'s loop, each with whether it is screen work; `free` leaves
    out messages being polled (or polled since the question was asked). `unassigned`: the
    account's loop also takes its provider's messages of no recorded account."""
    selected = focus.selected
    visible = [v for v in focus.visible if v != selected]

    async def due_rows(
        limit: int, among: list[str] | None = None, never_asked: bool | None = None
    ) -> list[DueRow]:
        rows = await asyncio.to_thread(
            functools.partial(
                store.due,
                now,
                limit,
                provider=owner.provider if owner else None,
                unresolved=owner is None,
                account=owner.name if owner else None,
                unassigned=unassigned,
                among=among,
                never_asked=never_asked,
            )
        )
        return [r for r in rows if free(r[0])]

    async def due(
        limit: int, among: list[str] | None = None, never_asked: bool | None = None
    ) -> list[str]:
        return [r[0] for r in await due_rows(limit, among, never_asked)]

    chosen_selected = await due(1, [selected]) if selected else []
    screen: list[str] = []
    first: list[str] = []
    if visible:
        first += await due(len(visible), visible, never_asked=True)
        for mid, _, _, changed in await due_rows(len(visible), visible, never_asked=False):
            if changed is not None and now - changed <= policy.boost_fade:
                screen.append(mid)  # a faded row is ordinary overdue work below
    limit = inflight + count * 2 + len(visible) + 1
    first += await due(limit, never_asked=True)
    focused = {selected, *screen}
    overdue = (
        [m for m in await due(limit, never_asked=False) if m not in focused]
        if len(first) < count
        else []
    )
    share = policy.first_pass_screen_share if first else policy.screen_share
    picked = picker.pick(
        count, share=share, selected=chosen_selected, screen=screen, first=first, overdue=overdue
    )
    on_screen = {*chosen_selected, *screen}
    return [(mid, mid in on_screen) for mid in picked]
