"""When is a message worth another request, and who gets the next one? Pure decisions, no I/O.

The budget is the hard limit (Sent.dm: 200 requests/minute), so intervals grow with the time since a
message last changed: something that changed 20 s ago is likely to change again soon; something
stuck in `sent` for an hour is not.

Finality follows the providers (see docs/providers.md):
  * `failed` (Sent.dm FAILED/BLOCKED/FILTERED, Sendo FAILED/EXPIRED all normalize to it), `read`,
    `cancelled` and `received` are never asked again;
  * `delivered` is final unless a read can still follow, and then rechecked rarely up to an age cap:
    - Sent.dm: only WhatsApp and RCS report `READ`; SMS and MMS deliveries are final;
    - Sendo: `READ` ("opened") exists, but an SMS carries no read report, and rechecking every
      delivered Sendo SMS for a day is what starved the budget in issue 8's trial. So a Sendo
      delivery is final unless the message is known not to be SMS (`type` MMS); an absent `type`
      counts as SMS (the common case, and the one that cannot be read).
  * `unknown` (a word we do not know) backs off like an old pending message: its interval grows
    with the time since it was first seen, not since the last change, and it is given up at the
    pending age cap;
  * a Sendo `sent` unchanged for `no_receipt_after` (1 h) is polled ever more rarely (up to
    `stuck_max_interval`): Sendo says such a message "almost always" was delivered and MMS often
    never leave `SENT`; `no_receipt()` tells the UI to show it as "sent, no receipt".

Who gets the next request (`ScreenShare`): the selected row always first; rows on screen next but
only within a bounded share of the provider's budget; then messages never asked yet (oldest first),
then the most overdue. So the screen cannot starve a campaign, and every tracked message gets its
first answer within about N / (rate x (1 - share)) seconds.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from tui.config import PollingSettings
from tui.errors import RateLimitedError, SendwatchError
from tui.model import Provider, Status

# Channels that report reads after delivery: Sent.dm documents READ for WhatsApp and RCS only.
READ_RECEIPT_CHANNELS = frozenset({"whatsapp", "rcs"})
NO_RECEIPT_AFTER = 3600.0  # a Sendo `sent` unchanged this long: "sent, no receipt"


class Priority(enum.IntEnum):
    """Lower sorts first when the budget cannot cover everything that is due."""

    SELECTED = 0
    VISIBLE = 1
    NORMAL = 2


def _value(x: object) -> str:
    return str(getattr(x, "value", x) or "").lower()


def no_receipt(
    provider: Provider | str | None,
    status: Status | str | None,
    since_change: float,
    after: float = NO_RECEIPT_AFTER,
) -> bool:
    """True for a Sendo message stuck in `sent` for `after` seconds: show "sent, no receipt".

    Accepts enum members or their stored string values, so the UI can call it on a list row."""
    return (
        _value(provider) == Provider.SENDO.value
        and _value(status) == Status.SENT.value
        and since_change >= after
    )


@dataclass(frozen=True)
class PollPolicy:
    min_interval: float = 5.0
    max_interval: float = 900.0
    selected_interval: float = 2.0
    visible_interval: float = 4.0
    delivered_recheck: float = 600.0
    delivered_max_age: float = 86400.0
    #: interval = growth x seconds since the last change, clamped to [min, max]
    growth: float = 0.25
    #: a message pending this long is given up on (it stays in history, marked stale)
    pending_max_age: float = 7 * 86400.0
    #: a row on screen is boosted to `visible_interval` only while it changed this recently
    boost_fade: float = 60.0
    #: most of a provider's budget the rows on screen may take while other work is due
    screen_share: float = 0.5
    #: ... and while messages never asked yet are waiting (their first answer comes first)
    first_pass_screen_share: float = 0.25
    #: a Sendo `sent` this long unchanged keeps backing off up to `stuck_max_interval`
    no_receipt_after: float = NO_RECEIPT_AFTER
    stuck_max_interval: float = 3600.0
    #: a message whose status came by webhook is polled only this often (a safety net) ...
    webhook_recheck: float = 900.0
    #: ... until the provider's webhooks have been silent this long: then polling takes over again
    webhook_silence: float = 600.0

    @classmethod
    def from_settings(cls, polling: PollingSettings) -> PollPolicy:
        return cls(
            min_interval=polling.min_interval,
            max_interval=polling.max_interval,
            selected_interval=polling.selected_interval,
            visible_interval=polling.visible_interval,
            delivered_recheck=polling.delivered_recheck,
            delivered_max_age=polling.delivered_max_age,
            webhook_recheck=polling.webhook_recheck,
            webhook_silence=polling.webhook_silence,
        )

    def can_still_change(
        self, status: Status, provider: Provider | None, channel: str | None, age: float
    ) -> bool:
        """False when no later status can come (so the message is never polled again)."""
        if status.is_final:
            return False
        if status is Status.DELIVERED:
            if age > self.delivered_max_age:
                return False
            channel = (channel or "").lower()
            if provider is Provider.SENDO:
                return channel not in ("", "sms")  # MMS may still be opened; SMS never reports it
            return channel in READ_RECEIPT_CHANNELS
        return age <= self.pending_max_age

    def interval(
        self,
        status: Status,
        since_change: float,
        priority: Priority = Priority.NORMAL,
        provider: Provider | None = None,
    ) -> float:
        """Seconds until the next poll of a message that can still change.

        A visible row's boost fades once it has not changed for `boost_fade` seconds."""
        if status is Status.DELIVERED:
            base = self.delivered_recheck
        elif no_receipt(provider, status, since_change, self.no_receipt_after):
            base = min(self.stuck_max_interval, max(self.max_interval, since_change * self.growth))
        else:
            base = min(self.max_interval, max(self.min_interval, since_change * self.growth))
        if priority is Priority.SELECTED:
            return min(base, self.selected_interval)
        if priority is Priority.VISIBLE and since_change <= self.boost_fade:
            return min(base, self.visible_interval)
        return base

    def next_poll(
        self,
        status: Status,
        *,
        now: float,
        last_changed: float,
        first_seen: float,
        provider: Provider | None = None,
        channel: str | None = None,
        created: float | None = None,
        priority: Priority = Priority.NORMAL,
    ) -> float | None:
        """Absolute time of the next poll, or None for never."""
        age = now - (created if created is not None else first_seen)
        if not self.can_still_change(status, provider, channel, age):
            return None
        # An unknown word says nothing about progress: back off from when we first saw the message.
        since = now - (first_seen if status is Status.UNKNOWN else last_changed)
        return now + self.interval(status, max(0.0, since), priority, provider)

    def after_error(self, errors: int, now: float) -> float:
        """Back off one message that keeps failing: min_interval doubling per error, capped."""
        backoff: float = self.min_interval * 2.0 ** min(errors, 16)
        return now + min(self.max_interval, backoff)

    def after_failure(self, error: SendwatchError, errors: int, now: float) -> float:
        """When to ask again after a failed ask (the `errors`-th in a row for this message).

        The one rule for every caller (the poller, lookups, the app): a 429 waits its
        Retry-After; anything else — a 5xx, a timeout, an answer that cannot be read or stored,
        an answer about another message — backs off like a 5xx, so one poison answer is asked
        ever more rarely and never in a tight loop."""
        if isinstance(error, RateLimitedError):
            return now + max(0.0, error.retry_after)
        return self.after_error(errors, now)


@dataclass
class ScreenShare:
    """Orders due work for one provider so the screen gets at most `share` of the requests.

    It counts the last `window` requests it handed out (screen or not); a screen request is
    preferred only while the screen's part of them is below the share. When nothing else is due
    the screen takes the whole budget (no request is left unused), and the selected row always
    goes first: it is one message, polled every couple of seconds at most.
    """

    window: int = 20
    recent: deque[bool] = field(default_factory=deque)

    def screen_part(self) -> float:
        return sum(self.recent) / len(self.recent) if self.recent else 0.0

    def _take(self, screen: bool) -> None:
        self.recent.append(screen)
        while len(self.recent) > self.window:
            self.recent.popleft()

    def pick(
        self,
        count: int,
        *,
        share: float,
        selected: Sequence[str] = (),
        screen: Sequence[str] = (),
        first: Sequence[str] = (),
        overdue: Sequence[str] = (),
    ) -> list[str]:
        """Up to `count` IDs: selected, then screen rows within `share`, then never-asked (`first`),
        then `overdue`, then screen rows beyond the share. Each ID at most once."""
        out: list[str] = []
        seen: set[str] = set()
        queues = {
            "selected": list(selected),
            "screen": list(screen),
            "first": list(first),
            "overdue": list(overdue),
        }

        def pop(name: str) -> str | None:
            q = queues[name]
            while q:
                mid = q.pop(0)
                if mid not in seen:
                    return mid
            return None

        while len(out) < count:
            order = ["selected"]
            order += (
                ["screen", "first", "overdue"]
                if self.screen_part() < share
                else ["first", "overdue", "screen"]
            )
            for name in order:
                mid = pop(name)
                if mid is not None:
                    seen.add(mid)
                    out.append(mid)
                    self._take(name in ("selected", "screen"))
                    break
            else:
                break
        return out


@dataclass(frozen=True)
class LoopHealth:
    """One provider loop's state for the status line and the log.

    `running`; `restarting` (until `retry_at`) after a crash; `stalled` (messages due, no answer
    for a minute); `slow` (requests timing out); `stopped`. `since` is when the state began (the
    poller's clock) and `reason` says why in plain words we wrote."""

    state: str = "running"
    restarts: int = 0
    last_error: str = ""
    retry_at: float | None = None  # clock time of the next restart while `restarting`
    since: float | None = None
    reason: str = ""

    def restarting(self, error: str, now: float, delay: float) -> LoopHealth:
        """After a crash: restarting in `delay` seconds."""
        return LoopHealth(
            "restarting",
            self.restarts + 1,
            error,
            now + delay,
            since=now,
            reason=f"the loop failed ({error}); restarting in {delay:.0f} s",
        )

    def now(self, state: str, at: float) -> LoopHealth:
        """`running` again after a restart, or `stopped`: the counts kept, the reason cleared."""
        return replace(self, state=state, retry_at=None, since=at, reason="")


#: a loop with due work and no answer for this long is `stalled`
STALL_AFTER = 60.0
#: a loop that saw a timeout (or an answer cut off at the deadline) this recently is `slow`
SLOW_WINDOW = 60.0


@dataclass
class LoopVitals:
    """What one provider's poll loop has been through, to tell whether it still does its job.

    Pure bookkeeping over times the loop reports: work became due, an ask got an answer (any
    answer from the provider, even a 404, is progress), an ask timed out. `condition` turns them
    into `stalled` (due work, no answer for `STALL_AFTER`), `slow` (timeouts within
    `SLOW_WINDOW`) or `running`, with since when and why in words."""

    started: float
    last_progress: float | None = None
    work_since: float | None = None
    timeouts: deque[float] = field(default_factory=deque)

    def work(self, due: bool, now: float) -> None:
        if not due:
            self.work_since = None
        elif self.work_since is None:
            self.work_since = now

    def answered(self, now: float) -> None:
        self.last_progress = now

    def timed_out(self, now: float) -> None:
        self.timeouts.append(now)
        self._forget(now)

    def _forget(self, now: float) -> None:
        while self.timeouts and now - self.timeouts[0] > SLOW_WINDOW:
            self.timeouts.popleft()

    def assess(self, health: LoopHealth, now: float) -> LoopHealth:
        """`health` with its state brought up to date; a restarting or stopped loop stays so (the
        supervisor owns those states)."""
        if health.state in ("restarting", "stopped"):
            return health
        state, since, reason = self.condition(now)
        if state == health.state and reason == health.reason:
            return health
        return replace(
            health,
            state=state,
            since=since if state != health.state or since is not None else health.since,
            reason=reason,
        )

    def condition(self, now: float) -> tuple[str, float | None, str]:
        """(`stalled` | `slow` | `running`, since, reason)."""
        self._forget(now)
        if self.work_since is not None:
            quiet_since = max(self.work_since, self.last_progress or self.started)
            if now - quiet_since >= STALL_AFTER:
                return (
                    "stalled",
                    quiet_since,
                    f"messages are due but no answer came for {now - quiet_since:.0f} s",
                )
        if self.timeouts:
            count = len(self.timeouts)
            return (
                "slow",
                self.timeouts[0],
                f"{count} request{'s' if count != 1 else ''} timed out in the last "
                f"{SLOW_WINDOW:.0f} s",
            )
        return "running", None, ""
