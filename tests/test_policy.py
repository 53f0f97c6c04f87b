"""The scheduler's decisions: pure logic, no I/O."""

from __future__ import annotations

import pytest

from tui.model import Provider, Status
from tui.polling.policy import PollPolicy, Priority

P = PollPolicy()
NOW = 1_000_000.0


def nxt(status: Status, since_change: float, *, age: float = 60, provider=Provider.SENTDM, channel="sms",
        priority=Priority.NORMAL):
    return P.next_poll(status, now=NOW, last_changed=NOW - since_change, first_seen=NOW - age, provider=provider,
                       channel=channel, created=NOW - age, priority=priority)


@pytest.mark.parametrize("status", [Status.FAILED, Status.READ])
def test_final_states_are_never_polled_again(status) -> None:
    assert nxt(status, 1) is None
    assert nxt(status, 1, priority=Priority.SELECTED) is None


def test_recently_changed_is_polled_often_and_intervals_grow() -> None:
    intervals = [nxt(Status.SENT, s) - NOW for s in (1, 60, 600, 3600, 86400)]
    assert intervals[0] == P.min_interval
    assert intervals == sorted(intervals) and intervals[-1] == P.max_interval
    assert intervals[2] == pytest.approx(150)


def test_selected_and_visible_are_polled_first() -> None:
    normal = nxt(Status.QUEUED, 3600)
    visible = nxt(Status.QUEUED, 3600, priority=Priority.VISIBLE)
    selected = nxt(Status.QUEUED, 3600, priority=Priority.SELECTED)
    assert selected - NOW == P.selected_interval < visible - NOW == P.visible_interval < normal - NOW


def test_delivered_sms_at_sentdm_is_final() -> None:
    assert nxt(Status.DELIVERED, 5) is None


def test_delivered_may_still_be_read_rarely_until_an_age_cap() -> None:
    assert nxt(Status.DELIVERED, 5, channel="whatsapp") - NOW == P.delivered_recheck
    assert nxt(Status.DELIVERED, 5, provider=Provider.SENDO) - NOW == P.delivered_recheck
    assert nxt(Status.DELIVERED, 5, channel="whatsapp", age=P.delivered_max_age + 1) is None


def test_stale_pending_messages_are_given_up() -> None:
    assert nxt(Status.SENT, 3600, age=P.pending_max_age + 1) is None
    assert nxt(Status.UNKNOWN, 10) is not None  # an unknown status is treated as pending, not final


def test_error_backoff_doubles_and_is_capped() -> None:
    waits = [P.after_error(n, NOW) - NOW for n in range(1, 12)]
    assert waits[:3] == [10, 20, 40] and max(waits) == P.max_interval
