"""Resend and cancel (Sent.dm): one path for `sendwatch resend|cancel` and the dashboard.

`plan` selects the messages (IDs, or a campaign and a status word, from the history), looks up
IDs the history does not know yet, decides which are eligible — resend: DELIVERED, FAILED,
BLOCKED, READ (never FILTERED or CANCELLED); cancel: SCHEDULED only, with a warning when the send
time is under a minute away — and estimates what a resend is billed again (the stored price of
each, "unknown" where none is stored). `execute` asks the provider within its budget, records a
resend as the message's next attempt (QUEUED and due now: polling resumes) and a cancel as the
answer it is; after a refusal (409 `BUSINESS_006`) it reads the message afresh and records that.
Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tui.errors import AuthError, ConfigError, NotFoundError, SendwatchError
from tui.ids import MessageRef, parse_ref
from tui.model import Provider, fold_status
from tui.polling.policy import PollPolicy
from tui.polling.record import record_lookup
from tui.providers import actions as provider_actions
from tui.providers.actions import Action, ActionRefusedError, action_past
from tui.providers.base import ProviderClient
from tui.providers.lookup import Providers
from tui.store import ListFilter, Store
from tui.store.attempts import Candidate

#: the provider's words a message may be resent from (docs/providers.md Part 2 §1)
RESENDABLE = frozenset({"delivered", "failed", "blocked", "read"})
#: a cancel this close to the send time may lose to the provider's release sweeper
CANCEL_RACE_SECONDS = 60.0


@dataclass(frozen=True)
class Selection:
    """What to act on: IDs as typed, or a campaign and/or a status word from the history."""

    ids: tuple[str, ...] = ()
    campaign: str | None = None
    status: str | None = None
    view: ListFilter | None = None  # the dashboard's current filter

    def list_filter(self) -> ListFilter:
        base = self.view or ListFilter()
        statuses = frozenset({self.status.lower()}) if self.status else base.statuses
        return ListFilter(
            text=base.text,
            statuses=statuses,
            provider=base.provider,
            campaign=self.campaign or base.campaign,
            error_code=base.error_code,
            account=base.account,
            channel=base.channel,
            country=base.country,
        )


@dataclass
class Plan:
    """The eligible messages, the ones left out and why, and what a resend costs again."""

    action: Action
    eligible: list[Candidate] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (id, why)
    warnings: list[str] = field(default_factory=list)
    cost: float | None = None
    unpriced: int = 0  # eligible messages with no stored price
    missing: list[str] = field(default_factory=list)  # IDs no provider knows

    def cost_words(self) -> str:
        """'about 0.5400 billed again' / 'cost unknown' (the providers state no currency)."""
        if self.action == "cancel":
            return "cancelling is free"
        if self.cost is None:
            return "cost unknown (no price stored): each is billed again"
        if self.cost == 0:  # e.g. blocked ones: never billed, so their price says nothing
            return "cost unknown (they were not billed before): each is billed when sent"
        more = f", plus {self.unpriced} without a stored price" if self.unpriced else ""
        return f"about {self.cost:.4f} billed again{more}"

    def question(self, *, every: bool = False) -> str:
        """The confirmation: 'Resend all 12 blocked? 12 messages, about 0.5400 billed again'."""
        n = len(self.eligible)
        kinds = "/".join(
            sorted({fold_status(c.provider_status or c.status) for c in self.eligible})
        )
        noun = "message" if n == 1 else "messages"
        what = f"all {n} {kinds}" if every else f"{n} {kinds} {noun}"
        return f"{self.action.capitalize()} {what}? {n} {noun}, {self.cost_words()}"


@dataclass(frozen=True)
class Outcome:
    """What happened to one message: done, refused (by the provider), skipped or failed."""

    id: str
    result: str  # "done" | "refused" | "skipped" | "failed"
    status: str | None  # the status the history holds now
    detail: str = ""
    exit_code: int = 0


def eligible_why_not(action: Action, c: Candidate, now: float) -> tuple[str | None, str | None]:
    """(why it is not eligible, a warning): both None for a message the action applies to."""
    if c.provider == Provider.SENDO.value:
        return f"Sendo has no {action}: only Sent.dm messages can be {action_past(action)}", None
    word = fold_status(c.provider_status or c.status)
    if not c.answered:
        return "not looked up yet: its status is unknown", None
    if action == "resend":
        if word in ("filtered", "cancelled", "canceled"):
            why = "never resendable" if word == "filtered" else "cannot be resent: send a new one"
            return f"{word}: {why}", None
        if word not in RESENDABLE:
            return (
                f"{word}: only a finished message (delivered, failed, blocked, read) can be resent",
                None,
            )
        return None, None
    if word in ("cancelled", "canceled"):
        return None, None  # a repeated cancel is answered 200 by the provider: success again
    if word != "scheduled":
        return f"{word}: only a scheduled message can be cancelled", None
    if c.scheduled_at is not None:
        left = c.scheduled_at.timestamp() - now
        if left < CANCEL_RACE_SECONDS:
            return None, (
                f"{c.id}: the send time is {max(0, round(left))} s away: the provider's release "
                "sweeper may win (then the cancel is refused)"
            )
    return None, None


async def plan(
    store: Store,
    providers: Providers | None,
    action: Action,
    selection: Selection,
    *,
    policy: PollPolicy | None = None,
    now: float | None = None,
) -> Plan:
    """Select and judge the messages; IDs the history lacks are looked up first (and kept)."""
    now = time.time() if now is None else now
    result = Plan(action)
    if selection.ids:
        refs: list[MessageRef] = []
        for text in selection.ids:
            ref = parse_ref(text)
            if ref.provider is Provider.SENDO:
                result.skipped.append((ref.id, f"Sendo has no {action}"))
            else:
                refs.append(ref)
        known = {
            c.id: c
            for c in await asyncio.to_thread(store.action_candidates, [r.id for r in refs], None)
        }
        missing = [r for r in refs if r.id not in known or not known[r.id].answered]
        if missing and providers is not None:
            await _look_up(store, providers, missing, policy or PollPolicy(), result)
            known.update(
                (c.id, c)
                for c in await asyncio.to_thread(
                    store.action_candidates, [r.id for r in missing], None
                )
            )
        candidates = [known[r.id] for r in refs if r.id in known]
        unseen = [r.id for r in refs if r.id not in known and not _said(result, r.id)]
        result.skipped += [(mid, "not in history") for mid in unseen]
        result.missing += unseen

    else:
        if not (selection.campaign or selection.status or selection.view):
            raise ConfigError("say which messages: IDs, or --campaign NAME and/or --status WORD")
        candidates = await asyncio.to_thread(store.action_candidates, None, selection.list_filter())
    for c in candidates:
        why, warning = eligible_why_not(action, c, now)
        if why:
            result.skipped.append((c.id, why))
            continue
        result.eligible.append(c)
        if warning:
            result.warnings.append(warning)
    if action == "resend":
        prices = [c.price for c in result.eligible]
        known_prices = [p for p in prices if p is not None]
        result.cost = sum(known_prices) if known_prices else None
        result.unpriced = len(prices) - len(known_prices)
    return result


def _said(result: Plan, message_id: str) -> bool:
    return any(mid == message_id for mid, _ in result.skipped)


async def _look_up(
    store: Store, providers: Providers, refs: list[MessageRef], policy: PollPolicy, into: Plan
) -> None:
    """Fetch and record IDs the history does not know, so they can be judged like the rest."""
    for ref in refs:
        try:
            msg = await providers.fetch(ref)
        except AuthError:
            raise  # every other lookup and the action itself would fail the same way: exit 4
        except SendwatchError as exc:
            into.skipped.append((ref.id, str(exc)))
            if isinstance(exc, NotFoundError):
                into.missing.append(ref.id)
            continue
        await asyncio.to_thread(record_lookup, store, policy, msg, time.time())


async def execute(
    store: Store,
    providers: Providers,
    work: Plan,
    *,
    policy: PollPolicy | None = None,
    on_outcome: Callable[[Outcome], object] | None = None,
) -> list[Outcome]:
    """Act on every eligible message, one after the other within the provider's budget."""
    policy = policy or PollPolicy()
    client = providers.client(Provider.SENTDM)
    outcomes: list[Outcome] = []
    stop: Outcome | None = None  # a rejected key fails every request after it: stop there
    for c in work.eligible:
        if stop is not None:
            outcome = Outcome(
                c.id, "skipped", c.status, f"not tried: {stop.detail}", stop.exit_code
            )
        else:
            outcome = await _act(store, providers, client, work.action, c, policy)
            stop = outcome if outcome.exit_code == AuthError.exit_code else None
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


async def _act(
    store: Store,
    providers: Providers,
    client: ProviderClient,
    action: Action,
    c: Candidate,
    policy: PollPolicy,
) -> Outcome:
    try:
        if action == "resend":
            answer = await provider_actions.resend(client, c.id)
        else:
            answer = await provider_actions.cancel(client, c.id)
    except ActionRefusedError as exc:
        status = await _refresh(store, providers, c.id, policy)
        return Outcome(
            c.id,
            "refused",
            status,
            f"{exc} — looked up again: {status or 'unknown'}",
            exc.exit_code,
        )
    except SendwatchError as exc:
        return Outcome(c.id, "failed", c.status, str(exc), exc.exit_code)
    now = time.time()
    try:
        if answer is None:  # the answer was not a message: read it
            answer = await client.fetch(c.id)
        if action == "resend":
            await asyncio.to_thread(
                store.record_resend, answer, c.attempt, next_poll=now, fetched_at=now
            )
        else:
            await asyncio.to_thread(record_lookup, store, policy, answer, now)
    except SendwatchError as exc:
        return Outcome(
            c.id, "done", None, f"{action_past(action)}, but not recorded: {exc}", exc.exit_code
        )
    except OSError as exc:
        return Outcome(
            c.id,
            "done",
            None,
            f"{action_past(action)}, but not recorded ({exc.__class__.__name__})",
            5,
        )
    word = answer.provider_status.lower()
    return Outcome(c.id, "done", word, f"{action_past(action)}: now {word}")


async def _refresh(
    store: Store, providers: Providers, message_id: str, policy: PollPolicy
) -> str | None:
    """After a refusal the history's status is stale: a fresh GET, recorded; its word, or None."""
    try:
        msg = await providers.fetch(MessageRef(message_id, Provider.SENTDM))
        await asyncio.to_thread(record_lookup, store, policy, msg, time.time())
    except (SendwatchError, OSError):
        return None
    return msg.provider_status.lower()


def outcomes_to_dict(
    action: Action, work: Plan, outcomes: list[Outcome], sent: bool
) -> dict[str, object]:
    """`--json`: one object with every message's outcome (acted on, refused, skipped)."""
    return {
        "action": action,
        "sent": sent,
        "eligible": len(work.eligible),
        "cost": work.cost if action == "resend" else 0.0,
        "unpriced": work.unpriced,
        "warnings": list(work.warnings),
        "messages": [
            {"id": o.id, "result": o.result, "status": o.status, "detail": o.detail}
            for o in outcomes
        ]
        + [
            {"id": mid, "result": "skipped", "status": None, "detail": why}
            for mid, why in work.skipped
        ],
        "generated_at": datetime.now(tz=UTC).isoformat(),
    }
