"""`sendwatch webhooks register URL | status`: webhooks at both providers, by API.

exit codes: register 0 done, 2 usage or read-only mode (nothing sent), 4 auth, 5 provider failure;
status 0 every webhook healthy, 5 one is disabled or failing (>= 5 consecutive failures) or the
provider could not be asked, 2 usage, 4 auth.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from tui.commands.output import fail
from tui.config import Settings
from tui.errors import SendwatchError
from tui.providers.lookup import Providers
from tui.services.webhook_setup import HookHealth, RegisterResult, register, status
from tui.textsafe import safe_text
from tui.timeparse import age

HELP = "register sendwatch's webhooks at the providers, or show their health"


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `webhooks` on the CLI's subparsers (`parents`: the options every command accepts)."""
    hooks: argparse.ArgumentParser = sub.add_parser(
        "webhooks", help=HELP, description=__doc__, parents=parents
    )
    actions = hooks.add_subparsers(dest="webhooks_action", required=True)
    reg = actions.add_parser(
        "register",
        parents=parents,
        help="create (or reuse) the webhooks at both providers; secrets go to the config file",
    )
    reg.add_argument("url", help="public base URL of the receiver, e.g. https://hooks.example.com")
    reg.add_argument(
        "--sendo-campaign",
        action="append",
        default=[],
        metavar="ID",
        help="Sendo campaign to register (repeatable; default: every listed campaign)",
    )
    reg.add_argument(
        "--rotate", action="store_true", help="rotate the secret of an existing Sent.dm webhook"
    )
    reg.add_argument("--json", action="store_true", help="print what was created/reused as JSON")
    st = actions.add_parser("status", parents=parents, help="each provider-side webhook's health")
    st.add_argument(
        "--sendo-campaign", action="append", default=[], metavar="ID", help="only these campaigns"
    )
    st.add_argument("--json", action="store_true", help="print JSON")
    return hooks


def run(args: argparse.Namespace, settings: Settings) -> int:
    action = args.webhooks_action
    if action == "register" and settings.ui.read_only:
        return fail(
            f"read-only mode is on ({settings.read_only_source}): `webhooks register` is "
            "refused and nothing was sent",
            2,
        )
    try:
        if action == "register":
            result = asyncio.run(_register(settings, args))
            _print_register(result, args.json)
            for error in result.errors:
                fail(str(error), error.exit_code)
            return result.exit_code
        found, errors = asyncio.run(_status(settings, args))
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    _print_status(found, errors, args.json)
    for error in errors:
        fail(str(error), error.exit_code)
    unhealthy = 5 if any(h.problem for h in found) else 0
    return max([unhealthy, *(e.exit_code for e in errors)])


async def _register(settings: Settings, args: argparse.Namespace) -> RegisterResult:
    providers = Providers(settings)
    try:
        return await register(
            settings,
            providers.clients,
            args.url,
            campaigns=args.sendo_campaign or None,
            rotate=args.rotate,
        )
    finally:
        await providers.aclose()


async def _status(
    settings: Settings, args: argparse.Namespace
) -> tuple[list[HookHealth], list[SendwatchError]]:
    providers = Providers(settings)
    try:
        return await status(providers.clients, campaigns=args.sendo_campaign or None)
    finally:
        await providers.aclose()


def _line(value: object) -> str:
    return safe_text(value, single_line=True, limit=200)


def _print_register(result: RegisterResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    for hook in result.hooks:
        where = f" (campaign {_line(hook.campaign)})" if hook.campaign else ""
        print(f"{hook.provider.label}{where}: {hook.action} {_line(hook.id)} -> {_line(hook.url)}")
    if result.written_to:
        print(f"Webhook credentials written to {_line(result.written_to)} (mode 0600)")
    for note in result.notes:
        print(f"note: {_line(note)}")


def _print_status(found: list[HookHealth], errors: list[SendwatchError], as_json: bool) -> None:
    now = datetime.now(UTC)
    if as_json:
        shown = {"webhooks": [h.to_dict(now) for h in found], "errors": [str(e) for e in errors]}
        print(json.dumps(shown, indent=2))
        return
    if not found and not errors:
        print("no webhooks registered at the configured providers")
    for health in found:
        hook = health.hook
        where = f" campaign {_line(hook.campaign)}" if hook.campaign else ""
        parts = [f"{hook.provider.label}{where} {_line(hook.id)}  {_line(hook.url)}"]
        if hook.active is not None:
            parts.append("active" if hook.active else "DISABLED")
        if hook.consecutive_failures is not None:
            parts.append(f"{hook.consecutive_failures} consecutive failures")
        if hook.provider.value == "sentdm":
            seen = hook.last_success
            ago = age((now - seen).total_seconds()) + " ago" if seen else "never"
            parts.append(f"last success {ago}")
        if health.failed_rows is not None:
            parts.append(f"{health.failed_rows} failed in the recent log")
        if health.problem:
            parts.append(f"UNHEALTHY: {health.problem}")
        print("  ".join(parts))
