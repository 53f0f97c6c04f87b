"""`sendwatch send`: send a message (or a template) and, with `--watch`, watch it arrive."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass

from tui.commands.output import fail, warn
from tui.config import Settings
from tui.errors import ConfigError, SendwatchError
from tui.model import Provider
from tui.providers.lookup import Providers
from tui.providers.sending import SendRequest, SendResult
from tui.services.send import choose_provider, cost, result_to_dict, send
from tui.store import ListFilter, Store
from tui.store.open import open_store
from tui.textsafe import safe_text


@dataclass(frozen=True)
class SendArgs:
    """What the command line said (argparse's namespace, typed)."""

    to: list[str]
    text: str | None
    template: str | None
    params: list[str]
    channel: str | None
    provider: str | None
    sendo_campaign: str | None
    from_: str | None
    sandbox: bool
    campaign: str | None
    idempotency_key: str | None
    as_json: bool
    watch: bool
    account: str | None = None


def parse_params(items: list[str]) -> dict[str, str]:
    """`--param K=V` pairs; a pair without `=` is a usage error."""
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param takes KEY=VALUE (got {item!r})")
        params[key.strip()] = value
    return params


def build_request(args: SendArgs) -> SendRequest:
    channels = tuple(c.strip().lower() for c in (args.channel or "").split(",") if c.strip())
    return SendRequest(
        to=tuple(args.to),
        text=args.text,
        template=args.template,
        params=parse_params(args.params),
        channels=channels,
        from_=args.from_,
        sandbox=args.sandbox,
        sendo_campaign=args.sendo_campaign,
        idempotency_key=args.idempotency_key or "",
    )


def run(settings: Settings, args: SendArgs) -> int:
    try:
        provider = choose_provider(settings, args.provider)
        req = build_request(args).check(provider)
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    campaign = args.campaign or (
        time.strftime("send-%Y%m%d-%H%M%S", time.gmtime()) if args.watch else None
    )
    try:
        store: Store | None = open_store(settings)
    except Exception as exc:  # noqa: BLE001 - the send still goes out; history is a convenience
        warn(f"history not available ({exc.__class__.__name__}); the messages will not be tracked")
        store = None
    if req.idempotency_key and not args.as_json:
        print(
            f"Idempotency-Key: {req.idempotency_key}  (reuse it with --idempotency-key to retry this send safely)",
            file=sys.stderr,
        )
    try:
        result = asyncio.run(_send(settings, provider, req, store, campaign, args.account))
    except SendwatchError as exc:
        if store is not None:
            store.close()
        return fail(str(exc), exc.exit_code)
    if store is not None:
        store.close()
    _report(result, req, args.as_json, campaign)
    code = result.exit_code
    if args.watch and result.messages and code == 0:
        from tui.commands import dashboard

        return dashboard.run(settings, ListFilter(campaign=campaign), campaign=campaign)
    return code


async def _send(
    settings: Settings,
    provider: Provider,
    req: SendRequest,
    store: Store | None,
    campaign: str | None,
    account: str | None = None,
) -> SendResult:
    providers = Providers(settings)
    try:
        return await send(providers, provider, req, store, campaign, account)
    finally:
        await providers.aclose()


def _report(result: SendResult, req: SendRequest, as_json: bool, campaign: str | None) -> None:
    if as_json:
        print(json.dumps(result_to_dict(result), indent=2))
        return
    where = " (sandbox: simulated, no side effects)" if req.sandbox else ""
    print(
        f"Sent {len(result.messages)} message(s) with {result.provider.label}{where} — asked: {cost(req)}"
    )
    for m in result.messages:
        print(
            f"  {m.id}  {safe_text(m.to, single_line=True)}  {safe_text(m.channel, single_line=True)}"
        )
    for to, why in result.unknown:
        print(
            f"  outcome unknown for {safe_text(to, single_line=True)}: {safe_text(why, single_line=True)}"
        )
    for to, why in result.refused:
        print(
            f"  refused for {safe_text(to, single_line=True)}: {safe_text(why, single_line=True)}"
        )
    for to, why in result.not_sent:
        print(
            f"  not sent to {safe_text(to, single_line=True)}: {safe_text(why, single_line=True)}"
        )
    if result.stopped is not None:
        print(f"sendwatch: {safe_text(result.stopped, single_line=True)}", file=sys.stderr)
    for note in result.notes:
        print(f"  note: {safe_text(note, single_line=True)}")
    if campaign and result.messages:
        print(
            f"Tracked as campaign {safe_text(campaign)!r}: in `sendwatch`, type campaign:{safe_text(campaign)} in the find bar."
        )
