"""The alert engine: rules over the history (and the caller's provider/webhook health) -> transitions.

A rule fires once when it starts to hold and resolves once after it has not held for `hold_down`
seconds (so a rate hovering around its threshold does not flap). State lives in the history (`AlertState`),
shared by the instances on one history; only the instance that polls evaluates (`should_evaluate`,
the caller's lease), so a team gets one message, not three. `tick(now)` is the one call the
dashboard, `poll` and `wait` make: it evaluates (at most every `interval` seconds), delivers what
changed, and returns what the status line should show.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tui.alerts.notify import BellStream, Notifier
from tui.alerts.settings import AlertRule, AlertSettings, RuleKind
from tui.alerts.state import AlertState, RuleState
from tui.alerts.units import format_duration
from tui.config import Settings
from tui.errors import StoreError
from tui.model import Provider
from tui.secret import Secret
from tui.store import ListFilter, Row, Store

log = logging.getLogger("sendwatch.alerts")

SETTLED = frozenset({"delivered", "read", "failed"})
PENDING = frozenset({"created", "scheduled", "queued", "sent"})
PAGE = 1000
SCAN_CAP = 50_000  # rows one rule reads at most per evaluation
DOWN_STATES = frozenset({"offline", "auth rejected"})

#: provider -> (health state word, since when); e.g. {"sentdm": ("offline", 1767225600.0)}
HealthHook = Callable[[], dict[str, tuple[str, float | None]]]
#: provider -> time of its latest webhook (None: never pushed)
WebhookHook = Callable[[], dict[str, float | None]]


@dataclass(frozen=True)
class Observation:
    holds: bool
    value: float
    text: str
    provider: str | None = None


@dataclass(frozen=True)
class Transition:
    rule: AlertRule
    state: str  # "firing" | "resolved"
    value: float
    text: str
    at: float
    provider: str | None = None

    def payload(self) -> dict[str, Any]:
        """Slack-compatible (`text`) plus the fields a machine wants; no key, secret or full number."""
        return {
            "text": f"sendwatch alert {self.state}: {self.rule.name} — {self.text}",
            "rule": self.rule.name,
            "kind": self.rule.kind.value,
            "campaign": self.rule.campaign,
            "provider": self.provider,
            "value": round(self.value, 3),
            "threshold": self.rule.threshold,
            "state": self.state,
        }


@dataclass(frozen=True)
class TickResult:
    transitions: list[Transition]
    #: for the status line: "⚠ failure-rate, stuck" while rules fire, else None
    status: str | None


def _changed_at(row: Row) -> float:
    return row.last_changed if row.last_changed is not None else row.first_seen


def _rows(store: Store, flt: ListFilter, since: float | None = None) -> Iterator[Row]:
    """Rows of the view, most recently changed first, down to `since` (at most SCAN_CAP)."""
    rows = store.page(flt, 0, PAGE, sort="changed")
    seen = 0
    while rows:
        for row in rows:
            if since is not None and _changed_at(row) < since:
                return
            yield row
            seen += 1
            if seen >= SCAN_CAP:
                return
        if len(rows) < PAGE:
            return
        rows = store.page_after(flt, rows[-1], PAGE, sort="changed")


@dataclass
class AlertEngine:
    store: Store
    settings: AlertSettings
    state: AlertState
    notifier: Notifier = field(default_factory=Notifier)
    should_evaluate: Callable[[], bool] = lambda: True
    provider_health: HealthHook = dict
    webhooks_last: WebhookHook = dict
    #: seconds between evaluations (store scans); a tick in between only reads the status
    interval: float = 10.0

    def __post_init__(self) -> None:
        self._last_evaluation: float | None = None
        self._firing: list[str] = []

    @classmethod
    def for_settings(
        cls,
        store: Store,
        settings: Settings,
        alerts: AlertSettings,
        *,
        should_evaluate: Callable[[], bool] = lambda: True,
        bell_stream: BellStream | None = None,
    ) -> AlertEngine:
        """An engine for this history: its state and webhook silence from the store."""
        notifier = Notifier(
            alerts.webhook_url,
            bell_stream=bell_stream if alerts.bell else None,
            tmux=bool(os.environ.get("TMUX")),
            secrets=_secrets(settings),
            retries=alerts.retries,
            backoff=alerts.backoff,
            timeout=alerts.timeout,
        )
        recheck = settings.polling.webhook_recheck

        def webhooks_last() -> dict[str, float | None]:
            out: dict[str, float | None] = {}
            for p in settings.configured_providers():
                until = store.last_push(p)
                out[p.value] = None if until is None else until - recheck
            return out

        return cls(
            store,
            alerts,
            AlertState(store),
            notifier,
            should_evaluate,
            webhooks_last=webhooks_last,
        )

    def close(self) -> None:
        self.notifier.close()

    # -- the one call of the dashboard, poll and wait ------------------------------------------
    def tick(self, now: float, *, force: bool = False) -> TickResult:
        """Evaluate (if this instance polls and `interval` passed, or `force`), deliver, and say
        what the status line shows. Never raises for a store or delivery problem."""
        transitions: list[Transition] = []
        due = force or self._last_evaluation is None or now - self._last_evaluation >= self.interval
        if self.settings.rules and due and self.should_evaluate():
            self._last_evaluation = now
            try:
                transitions = self.evaluate(now)
            except (
                StoreError
            ) as exc:  # the history refused the state: said once per tick, never fatal
                log.warning("alert state in %s not written: %s", self.state.where, exc)
            self.deliver(transitions)
        return TickResult(transitions, self.status())

    def tick_lines(self, now: float, *, force: bool = False) -> list[str]:
        """`tick` for a command line: one line per transition."""
        return [t.payload()["text"] for t in self.tick(now, force=force).transitions]

    def status(self) -> str | None:
        firing = self.firing()
        return f"⚠ {', '.join(firing)}" if firing else None

    def firing(self) -> list[str]:
        """The rules firing now (the last known ones while the history does not answer)."""
        try:
            states = self.state.read()
        except StoreError:
            return self._firing
        self._firing = [
            r.name for r in self.settings.rules if states.get(r.name, RuleState()).firing
        ]
        return self._firing

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self, now: float) -> list[Transition]:
        """Observe every rule and apply the hold-down state machine; the state is updated before
        anything is delivered, under its lock, so each transition happens once."""
        observed: dict[str, Observation] = {}
        for rule in self.settings.rules:
            try:
                observed[rule.name] = self.observe(rule, now)
            except Exception as exc:  # noqa: BLE001 - one failing rule (a store hiccup) never stops the others
                log.warning("alert rule %s not evaluated: %s", rule.name, type(exc).__name__)
        transitions: list[Transition] = []
        with self.state.locked() as states:
            for rule in self.settings.rules:
                obs = observed.get(rule.name)
                if obs is None:
                    continue
                st = states.setdefault(rule.name, RuleState())
                change = self._step(st, obs, now)
                if change:
                    transitions.append(
                        Transition(rule, change, obs.value, obs.text, now, obs.provider)
                    )
        return transitions

    def _step(self, st: RuleState, obs: Observation, now: float) -> str | None:
        if obs.holds:
            st.clear_since, st.value, st.text = None, obs.value, obs.text
            if not st.firing:
                st.firing, st.since = True, now
                return "firing"
            return None
        if not st.firing:
            return None
        if st.clear_since is None:
            st.clear_since = now
        if now - st.clear_since >= self.settings.hold_down:
            st.firing, st.since, st.clear_since = False, None, None
            st.value, st.text = obs.value, obs.text
            return "resolved"
        return None

    def observe(self, rule: AlertRule, now: float) -> Observation:
        kind = rule.kind
        if kind is RuleKind.FAILURE_RATE:
            return self._failure_rate(rule, now)
        if kind is RuleKind.CODE:
            return self._code(rule, now)
        if kind is RuleKind.STUCK:
            return self._stuck(rule, now)
        if kind is RuleKind.WEBHOOKS_SILENT:
            return self._longest(rule, now, self._silences(), "no webhook from {p} for {d}")
        return self._longest(rule, now, self._downs(), "{p} down for {d}")

    def _failure_rate(self, rule: AlertRule, now: float) -> Observation:
        flt = ListFilter(statuses=SETTLED, campaign=rule.campaign)
        settled = failed = 0
        for row in _rows(self.store, flt, since=now - rule.window):
            settled += 1
            failed += row.status == "failed"
        rate = 100.0 * failed / settled if settled else 0.0
        holds = settled >= rule.min_messages and rate > rule.threshold
        text = (
            f"{rate:.1f}% failed ({failed} of {settled} in the last {format_duration(rule.window)})"
        )
        return Observation(holds, rate, text)

    def _code(self, rule: AlertRule, now: float) -> Observation:
        flt = ListFilter(
            statuses=frozenset({"failed"}), campaign=rule.campaign, error_code=rule.code
        )
        count = sum(1 for _ in _rows(self.store, flt, since=now - rule.window))
        text = f"{count} failed with {rule.code} in the last {format_duration(rule.window)}"
        return Observation(count >= max(1.0, rule.threshold), float(count), text)

    def _stuck(self, rule: AlertRule, now: float) -> Observation:
        flt = ListFilter(statuses=PENDING, campaign=rule.campaign)
        by_stage: dict[str, int] = {}
        for row in _rows(self.store, flt):
            if row.next_poll is not None and now - _changed_at(row) > rule.threshold:
                by_stage[row.status] = by_stage.get(row.status, 0) + 1
        count = sum(by_stage.values())
        stages = ", ".join(f"{s} {n}" for s, n in sorted(by_stage.items(), key=lambda i: -i[1]))
        text = f"{count} messages unchanged for over {format_duration(rule.threshold)}" + (
            f" ({stages})" if stages else ""
        )
        return Observation(count >= max(1, rule.min_messages), float(count), text)

    def _silences(self) -> dict[str, float | None]:
        return self.webhooks_last()

    def _downs(self) -> dict[str, float | None]:
        return {
            p: since for p, (state, since) in self.provider_health().items() if state in DOWN_STATES
        }

    @staticmethod
    def _longest(
        rule: AlertRule, now: float, since: dict[str, float | None], words: str
    ) -> Observation:
        """The provider in the state longest (silent, down), if for `threshold` seconds or more."""
        spans = {p: now - t for p, t in since.items() if t is not None}
        if not spans:
            return Observation(False, 0.0, "all clear")
        provider, span = max(spans.items(), key=lambda item: item[1])
        label = Provider(provider).label if provider in ("sentdm", "sendo") else provider
        text = words.format(p=label, d=format_duration(span))
        return Observation(span >= rule.threshold, span, text, provider)

    # -- delivery -------------------------------------------------------------------------------
    def deliver(self, transitions: list[Transition]) -> None:
        for transition in transitions:
            payload = transition.payload()
            if transition.state == "firing":
                self.notifier.ring(payload["text"])
            self.notifier.send(payload)


def _secrets(settings: Settings) -> list[Secret]:
    """Every secret in the settings (keys, webhook secrets, the database URL): redacted if quoted."""
    found: list[Secret] = []

    def walk(value: object) -> None:
        if isinstance(value, Secret):
            found.append(value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))

    walk(settings)
    return found
