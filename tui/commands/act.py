"""`sendwatch resend ID ...` and `sendwatch cancel ID ...` (Sent.dm), or `--campaign/--status`.

Without `--yes` the plan (how many, what it costs again) is asked on the terminal; with no
terminal on stdin nothing is sent (exit 2). Exit codes: 0 every eligible message acted on, 1 the
provider refused some (explained, then looked up again), 2 usage / nothing eligible / Sendo /
read-only, 3 an ID not found, 4 auth, 5 provider or store failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, cast

from tui.commands.output import fail, open_history, unknown_campaign, warn
from tui.config import Settings
from tui.errors import SendwatchError
from tui.polling.policy import PollPolicy
from tui.providers.actions import Action, action_past
from tui.providers.lookup import Providers
from tui.services.actions import Outcome, Plan, Selection, execute, outcomes_to_dict, plan
from tui.store import Store
from tui.textsafe import safe_text

HELP = {
    "resend": "Sent.dm: resend finished messages (the same ID, a new attempt, billed again)",
    "cancel": "Sent.dm: cancel scheduled messages before they are released",
}


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register `resend` and `cancel` on the CLI's subparsers."""
    for action in ("resend", "cancel"):
        p: argparse.ArgumentParser = sub.add_parser(action, help=HELP[action], parents=parents)
        p.add_argument("ids", nargs="*", metavar="ID", help="message IDs (sentdm:ID)")
        p.add_argument("--campaign", metavar="NAME", help="the messages of this campaign")
        p.add_argument(
            "--status", metavar="WORD", help="only messages in this status (e.g. blocked)"
        )
        p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        p.add_argument(
            "--json", action="store_true", help="print one JSON object with every outcome"
        )


def run(args: argparse.Namespace, settings: Settings) -> int:
    action = cast(Action, args.command)
    if args.ids and (args.campaign or args.status):
        return fail(f"{action} takes IDs or --campaign/--status, not both", 2)
    if not args.ids and not (args.campaign or args.status):
        return fail(f"{action} needs message IDs, or --campaign NAME and/or --status WORD", 2)
    store = open_history(settings)
    if isinstance(store, int):
        return store
    try:
        if (refused := unknown_campaign(store, args.campaign)) is not None:
            return refused
        return asyncio.run(_run(args, settings, store, action))
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    finally:
        store.close()


async def _run(args: argparse.Namespace, settings: Settings, store: Store, action: Action) -> int:
    providers = Providers(settings)
    policy = PollPolicy.from_settings(settings.polling)
    selection = Selection(tuple(args.ids), args.campaign, args.status)
    try:
        work = await plan(store, providers, action, selection, policy=policy)
        if not work.eligible:
            _report(args, action, work, [], sent=False)
            return fail(_nothing(action, work), 3 if _all_missing(work) else 2)
        if not args.yes:
            if not sys.stdin.isatty():
                _report(args, action, work, [], sent=False)
                return fail(
                    f"nothing was {action_past(action)}: no terminal to confirm on; "
                    "add --yes to go ahead without asking",
                    2,
                )
            if not _confirm(work):
                return fail(f"nothing was {action_past(action)}", 2)
        outcomes = await execute(store, providers, work, policy=policy)
    finally:
        await providers.aclose()
    _report(args, action, work, outcomes, sent=True)
    return max((o.exit_code for o in outcomes), default=0)


def _all_missing(work: Plan) -> bool:
    return bool(work.missing) and len(work.missing) == len(work.skipped)


def _nothing(action: Action, work: Plan) -> str:
    why = "; ".join(f"{mid}: {reason}" for mid, reason in work.skipped[:3])
    more = f" (and {len(work.skipped) - 3} more)" if len(work.skipped) > 3 else ""
    return f"nothing to {action}: no eligible message{': ' + why if why else ''}{more}"


def _confirm(work: Plan) -> bool:
    for warning in work.warnings:
        warn(warning)
    print(safe_text(work.question(), single_line=True), file=sys.stderr)
    try:
        answer = input("Go ahead? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _report(
    args: argparse.Namespace, action: Action, work: Plan, outcomes: list[Outcome], *, sent: bool
) -> None:
    if args.json:
        print(json.dumps(outcomes_to_dict(action, work, outcomes, sent), indent=2))
        return
    if args.yes or not sys.stdin.isatty():
        for warning in work.warnings:
            warn(warning)
    for o in outcomes:
        print(f"  {o.id}  {o.result:<8} {safe_text(o.detail, single_line=True, limit=400)}")
    for mid, why in work.skipped:
        print(f"  {mid}  skipped  {safe_text(why, single_line=True, limit=400)}")
    if sent:
        done = sum(1 for o in outcomes if o.result == "done")
        print(
            f"{action_past(action).capitalize()} {done} of {len(work.eligible)} eligible "
            f"message(s); {work.cost_words()}"
        )
