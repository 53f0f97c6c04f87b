"""The scheduler's decisions: pure logic, no I/O."""

from __future__ import annotations

import pytest

from tui.model import Provider, Status, normalize_status
from tui.polling.policy import PollPolicy, Priority, ScreenShare, no_receipt

P = PollPolicy()
NOW = 1_000_000.0


def nxt(
    status: Status,
    since_change: float,
    *,
    age: float = 60,
    provider=Provider.SENTDM,
    channel="sms",
    priority=Priority.NORMAL,
    first_seen_ago: float | None = None,
):
    return P.next_poll(
        status,
        now=NOW,
        last_changed=NOW - since_change,
        first_seen=NOW - (age if first_seen_ago is None else first_seen_ago),
        provider=provider,
        channel=channel,
        created=NOW - age,
        priority=priority,
    )


@pytest.mark.parametrize(
    "word", ["FAILED", "BLOCKED", "FILTERED", "EXPIRED", "READ", "CANCELLED", "RECEIVED", "opened"]
)
@pytest.mark.parametrize("provider", [Provider.SENTDM, Provider.SENDO])
def test_final_states_are_never_polled_again(word, provider) -> None:
    status = normalize_status(word)
    for channel in ("sms", "whatsapp", "mms", None):
        assert nxt(status, 1, provider=provider, channel=channel) is None
        assert (
            nxt(status, 1, provider=provider, channel=channel, priority=Priority.SELECTED) is None
        )


def test_recently_changed_is_polled_often_and_intervals_grow() -> None:
    intervals = [nxt(Status.SENT, s) - NOW for s in (1, 60, 600, 3600, 86400)]
    assert intervals[0] == P.min_interval
    assert intervals == sorted(intervals) and intervals[-1] == P.max_interval
    assert intervals[2] == pytest.approx(150)


def test_selected_and_visible_are_polled_first() -> None:
    normal = nxt(Status.QUEUED, 50)
    visible = nxt(Status.QUEUED, 50, priority=Priority.VISIBLE)
    selected = nxt(Status.QUEUED, 50, priority=Priority.SELECTED)
    assert (
        selected - NOW == P.selected_interval < visible - NOW == P.visible_interval < normal - NOW
    )


def test_a_visible_rows_boost_fades_when_it_stops_changing() -> None:
    fresh = nxt(Status.QUEUED, P.boost_fade - 1, priority=Priority.VISIBLE)
    faded = nxt(Status.QUEUED, P.boost_fade + 1, priority=Priority.VISIBLE)
    assert fresh - NOW == P.visible_interval
    assert faded == nxt(Status.QUEUED, P.boost_fade + 1)  # the normal interval
    faded_delivered = nxt(Status.DELIVERED, 3600, channel="whatsapp", priority=Priority.VISIBLE)
    assert faded_delivered - NOW == P.delivered_recheck  # not every 4 s while on screen
    # the selected row is what the user is waiting on: it keeps its boost
    assert nxt(Status.QUEUED, 3600, priority=Priority.SELECTED) - NOW == P.selected_interval


@pytest.mark.parametrize("channel", ["sms", "mms", None, "SMS"])
def test_delivered_at_sentdm_is_final_without_read_receipts(channel) -> None:
    assert nxt(Status.DELIVERED, 5, channel=channel) is None


@pytest.mark.parametrize("channel", ["whatsapp", "rcs", "WhatsApp"])
def test_delivered_whatsapp_or_rcs_may_still_be_read_rarely_until_an_age_cap(channel) -> None:
    assert nxt(Status.DELIVERED, 5, channel=channel) - NOW == P.delivered_recheck
    assert nxt(Status.DELIVERED, 5, channel=channel, age=P.delivered_max_age + 1) is None


def test_sendo_delivered_is_final_for_sms_and_rechecked_for_mms() -> None:
    assert nxt(Status.DELIVERED, 5, provider=Provider.SENDO, channel="sms") is None
    assert nxt(Status.DELIVERED, 5, provider=Provider.SENDO, channel=None) is None  # no `type`: SMS
    assert (
        nxt(Status.DELIVERED, 5, provider=Provider.SENDO, channel="mms") - NOW
        == P.delivered_recheck
    )
    assert (
        nxt(
            Status.DELIVERED, 5, provider=Provider.SENDO, channel="mms", age=P.delivered_max_age + 1
        )
        is None
    )


def test_stale_pending_messages_are_given_up() -> None:
    assert nxt(Status.SENT, 3600, age=P.pending_max_age + 1) is None
    assert nxt(Status.UNKNOWN, 10) is not None  # an unknown status is treated as pending, not final
    assert nxt(Status.UNKNOWN, 10, age=P.pending_max_age + 1) is None


def test_unknown_backs_off_from_first_seen_not_from_last_change() -> None:
    # a new unknown word just arrived (last change 1 s ago) on a message first seen an hour ago
    unknown = nxt(Status.UNKNOWN, 1, first_seen_ago=3600, age=3600)
    assert unknown - NOW == P.max_interval  # like an hour-old pending message, not like a fresh one
    assert nxt(Status.UNKNOWN, 1, first_seen_ago=60, age=60) - NOW == pytest.approx(15)
    assert nxt(Status.QUEUED, 1, first_seen_ago=3600, age=3600) - NOW == P.min_interval


def test_sendo_sent_without_receipt_backs_off_ever_more_rarely() -> None:
    hours = [1.5, 2, 4, 8, 24]
    waits = [
        nxt(Status.SENT, h * 3600, provider=Provider.SENDO, age=h * 3600 + 60) - NOW for h in hours
    ]
    assert (
        waits == sorted(waits) and waits[0] > P.max_interval and waits[-1] == P.stuck_max_interval
    )
    assert len(set(waits)) >= 3  # it keeps growing, not a plateau at max_interval
    # Sent.dm's stuck `sent` keeps the ordinary cap; Sendo's pending cap still gives up in the end
    assert nxt(Status.SENT, 8 * 3600) - NOW == P.max_interval
    assert nxt(Status.SENT, 8 * 3600, provider=Provider.SENDO, age=P.pending_max_age + 1) is None


def test_no_receipt_marks_only_sendo_sent_after_an_hour() -> None:
    assert no_receipt(Provider.SENDO, Status.SENT, 3601)
    assert no_receipt("sendo", "sent", 7200)  # a list row's stored strings work too
    assert not no_receipt(Provider.SENDO, Status.SENT, 1800)
    assert not no_receipt(Provider.SENDO, Status.QUEUED, 7200)
    assert not no_receipt(Provider.SENTDM, Status.SENT, 7200)
    assert not no_receipt(None, None, 7200)


def test_error_backoff_doubles_and_is_capped() -> None:
    waits = [P.after_error(n, NOW) - NOW for n in range(1, 12)]
    assert waits[:3] == [10, 20, 40] and max(waits) == P.max_interval


def test_screen_gets_at_most_its_share_when_other_work_is_due() -> None:
    share = ScreenShare()
    screen = [f"v{i}" for i in range(40)]
    overdue = [f"b{i}" for i in range(100)]
    picks: list[str] = []
    for _ in range(40):  # 40 turns of 2 free tokens, the screen always asking for everything
        picks += share.pick(2, share=0.5, screen=screen, overdue=overdue)
        screen = [v for v in screen if v not in picks] + [
            v for v in screen if v in picks
        ]  # they come due again
    on_screen = sum(p.startswith("v") for p in picks)
    assert len(picks) == 80 and on_screen <= 0.5 * 80 + 1 and on_screen >= 0.4 * 80


def test_selected_first_then_never_asked_before_overdue_and_no_request_left_unused() -> None:
    share = ScreenShare()
    share.recent.extend([True] * 20)  # the screen has had everything lately
    got = share.pick(
        5, share=0.5, selected=["sel"], screen=["v1", "v2"], first=["n1", "n2"], overdue=["o1"]
    )
    assert got == ["sel", "n1", "n2", "o1", "v1"]  # screen only once nothing else is due
    assert ScreenShare().pick(
        3, share=0.5, selected=["sel"], screen=["v1"], first=["v1", "n1"]
    ) == ["sel", "v1", "n1"]


def test_a_failed_ask_backs_off_like_a_5xx_and_a_429_waits_its_retry_after() -> None:
    from tui.errors import BadResponseError, RateLimitedError, UnavailableError

    policy = PollPolicy(min_interval=5, max_interval=900)
    for error in (UnavailableError("503"), BadResponseError("poison")):
        assert [policy.after_failure(error, n, 1000.0) for n in (1, 2, 3)] == [1010, 1020, 1040]
    assert policy.after_failure(RateLimitedError("429", retry_after=42.0), 7, 1000.0) == 1042.0


def test_a_loop_is_stalled_when_due_work_gets_no_answer_for_a_minute() -> None:
    from tui.polling.policy import STALL_AFTER, LoopHealth, LoopVitals

    vitals = LoopVitals(started=0.0)
    health = LoopHealth(since=0.0)
    vitals.work(True, 10.0)
    assert vitals.assess(health, 10.0 + STALL_AFTER - 1).state == "running"
    stalled = vitals.assess(health, 10.0 + STALL_AFTER)
    assert stalled.state == "stalled" and stalled.since == 10.0 and "no answer" in stalled.reason
    vitals.answered(100.0)
    assert vitals.assess(stalled, 101.0).state == "running"
    vitals.work(False, 102.0)  # nothing due: an idle loop is not stalled, however quiet
    assert vitals.assess(stalled, 1000.0).state == "running"


def test_a_loop_is_slow_while_timeouts_are_recent_and_restarts_are_left_alone() -> None:
    from dataclasses import replace

    from tui.polling.policy import SLOW_WINDOW, LoopHealth, LoopVitals

    vitals = LoopVitals(started=0.0)
    vitals.timed_out(5.0)
    vitals.timed_out(6.0)
    slow = vitals.assess(LoopHealth(), 7.0)
    assert slow.state == "slow" and slow.since == 5.0 and slow.reason.startswith("2 requests")
    assert vitals.assess(slow, 6.0 + SLOW_WINDOW + 1).state == "running"
    restarting = replace(slow, state="restarting")
    assert vitals.assess(restarting, 8.0) is restarting
