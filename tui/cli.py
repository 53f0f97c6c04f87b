"""The `sendwatch` command line. Exit codes: 0 ok, 2 usage/invalid ID/bad config, 3 not found,
4 auth or permission, 5 network or provider failure after retries."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui import __version__, paths

if TYPE_CHECKING:
    from tui.observe.logs import LogFormat

#: commands that change something at a provider or delete history: refused in read-only mode
READ_ONLY_REFUSED = frozenset({"send", "resend", "cancel"})

EPILOG = """commands:
  (none)        open the dashboard (sendwatch --demo: against the embedded simulator, no keys)
  get ID        look one message up (ID, sentdm:ID or sendo:ID)
  watch FILE|-  open the dashboard tracking the IDs in FILE (or stdin)
  send          send a message (or a template) and track it; --watch opens the dashboard on it
  resend ID...  Sent.dm: resend finished messages (same ID, new attempt, billed again); or --campaign/--status
  cancel ID...  Sent.dm: cancel scheduled messages; or --campaign/--status
  listen        receive status by webhook into history (Sent.dm signed, Sendo token)
  poll          the poller (and --listen receiver) without a screen, for a server; one poller per account
  wait          wait until messages (IDs or --campaign) are final; exit by outcome (for scripts and CI)
  report        delivery numbers of a campaign (or everything) and what explains its failures
  serve         serve the dashboard in a browser (sendwatch --demo serve: the demo)
  webhooks      register URL (create the webhooks at both providers) | status (their health)
  export        write the tracked messages as CSV or JSON
  config        path | init | check
  simulate      run the provider simulator on 127.0.0.1

exit codes: 0 ok, 1 (wait) all final but a threshold missed / (resend, cancel) the provider refused
some, 2 usage / invalid ID / bad config /
read-only mode, 3 not found, 4 auth or permission, 5 network, provider or store failure after
retries, 6 (wait) the timeout passed"""


def _global_options(*, in_subcommand: bool) -> argparse.ArgumentParser:
    """The options every command accepts, before or after the subcommand name.

    The same options are added to the main parser (with real defaults) and to each subparser with
    `default=SUPPRESS`, so an option given after the subcommand sets the value and one left out
    there does not overwrite what was given before it.
    """
    options = argparse.ArgumentParser(add_help=False)
    unset: dict[str, Any] = {"default": argparse.SUPPRESS} if in_subcommand else {}
    options.add_argument("--version", action="version", version=f"sendwatch {__version__}")
    options.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        **unset,
        help=f"config file (default {paths.config_file()}; env {paths.CONFIG_ENV})",
    )
    options.add_argument(
        "--read-only",
        action="store_true",
        **unset,
        help="refuse send, resend, cancel, forget and clear history (env SENDWATCH_READ_ONLY=1, "
        "or [ui] read_only = true)",
    )
    options.add_argument(
        "--log-format",
        choices=["text", "json"],
        **unset,
        help="listen/poll: plain lines or one JSON object per line (env SENDWATCH_LOG_FORMAT)",
    )
    options.add_argument(
        "--demo",
        action="store_true",
        **unset,
        help="run the dashboard against the embedded simulator with a live demo campaign",
    )
    return options


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 3600 seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sendwatch",
        description="Watch SMS/messaging delivery live across Sent.dm and Sendo.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_global_options(in_subcommand=False)],
    )
    parser.add_argument(
        "--listen",
        metavar="[HOST:]PORT",
        help="run the webhook receiver inside the dashboard (with --demo: push mode end to end)",
    )
    common = [_global_options(in_subcommand=True)]
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    get = sub.add_parser("get", help="look one message up and print it", parents=common)
    get.add_argument("id", help="message ID, optionally prefixed sentdm: or sendo:")
    get.add_argument("--provider", choices=["sentdm", "sendo"], help="ask only this provider")
    get.add_argument("--json", action="store_true", help="print one normalized JSON object")
    get.add_argument(
        "--raw", action="store_true", help="with --json: include the provider's raw payload"
    )
    get.add_argument(
        "--timeout",
        type=_seconds,
        default=15.0,
        metavar="SECONDS",
        help="give up (exit 5) when no answer came within this time (default 15)",
    )

    watch = sub.add_parser(
        "watch", help="track the IDs in FILE (or - for stdin) in the dashboard", parents=common
    )
    watch.add_argument(
        "file",
        nargs="?",
        help="text (one ID per line), CSV with an id column, or a Sent.dm send response (JSON)",
    )
    watch.add_argument(
        "--sendo-campaign",
        metavar="ID",
        help="track a whole Sendo campaign by its ID (new messages join as they come)",
    )
    watch.add_argument(
        "--listen",
        metavar="[HOST:]PORT",
        default=argparse.SUPPRESS,
        help="also receive webhooks in the dashboard",
    )
    watch.add_argument("--campaign", help="name this set of messages (default: the file's name)")
    watch.add_argument(
        "--provider", choices=["sentdm", "sendo"], help="provider for IDs without a prefix"
    )
    watch.add_argument(
        "--no-ui",
        action="store_true",
        help="only import the IDs into history, do not open the dashboard",
    )

    send = sub.add_parser("send", help="send a message and track it", parents=common)
    send.add_argument(
        "--to", action="append", required=True, metavar="E164", help="recipient; repeat for more"
    )
    what = send.add_mutually_exclusive_group(required=True)
    what.add_argument("--template", metavar="NAME|ID", help="a Sent.dm template, by name or ID")
    what.add_argument("--text", help="free-form text")
    send.add_argument(
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="K=V",
        help="a template parameter; repeat for more",
    )
    send.add_argument(
        "--channel", metavar="sms[,whatsapp,…]", help="Sent.dm channels (default: Sent.dm picks)"
    )
    send.add_argument(
        "--provider", choices=["sentdm", "sendo"], help="needed when both are configured"
    )
    send.add_argument(
        "--sendo-campaign", metavar="ID", help="Sendo: the campaign the message belongs to"
    )
    send.add_argument("--from", dest="from_", metavar="E164", help="sender number (Sendo)")
    send.add_argument(
        "--sandbox", action="store_true", help="Sent.dm: simulated by the provider, no side effects"
    )
    send.add_argument("--campaign", metavar="NAME", help="track the new messages as this campaign")
    send.add_argument(
        "--account", metavar="NAME", help="send from this named account (default: the first)"
    )
    send.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="Sent.dm: reuse the key of an earlier try to retry it safely",
    )
    send.add_argument(
        "--json",
        action="store_true",
        dest="as_json",
        help="print {provider, idempotency_key, messages}",
    )
    send.add_argument("--watch", action="store_true", help="open the dashboard on the new messages")

    listen = sub.add_parser("listen", help="receive status by webhook into history", parents=common)
    listen.add_argument(
        "address",
        nargs="?",
        default="127.0.0.1:8787",
        metavar="[HOST:]PORT",
        help="where to listen (default 127.0.0.1:8787: put a reverse proxy or tunnel in front)",
    )

    poll = sub.add_parser(
        "poll",
        help="run the poller without a screen (a server next to a shared history)",
        parents=common,
    )
    poll.add_argument("--listen", metavar="[HOST:]PORT", help="also receive webhooks there")
    poll.add_argument(
        "--metrics", metavar="[HOST:]PORT", help="serve GET /metrics (Prometheus) there"
    )

    from tui.commands import act as act_cmd
    from tui.commands import report as report_cmd
    from tui.commands import serve as serve_cmd
    from tui.commands import wait as wait_cmd
    from tui.commands import webhooks_cmd

    wait_cmd.add_parser(sub, common)
    report_cmd.add_parser(sub, common)
    serve_cmd.add_parser(sub, common)
    webhooks_cmd.add_parser(sub, common)
    act_cmd.add_parser(sub, common)

    export = sub.add_parser("export", help="write tracked messages as CSV or JSON", parents=common)
    export.add_argument("--campaign", help="only this campaign")
    export.add_argument("--status", help="only this status (e.g. failed)")
    export.add_argument("--account", metavar="NAME", help="only this account's messages")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--output", "-o", type=Path, help="write to FILE instead of stdout")

    config = sub.add_parser("config", help="show, create or check the config file", parents=common)
    config.add_argument("action", choices=["path", "init", "check"])
    config.add_argument(
        "--force", action="store_true", help="with init: overwrite an existing file"
    )

    sim = sub.add_parser(
        "simulate", help="run the Sent.dm/Sendo simulator on 127.0.0.1", parents=common
    )
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument(
        "--campaign", type=int, default=50, metavar="N", help="messages in the live campaign"
    )
    sim.add_argument("--ids-file", type=Path, help="write every simulated ID to this file")
    sim.add_argument(
        "--rate",
        type=float,
        default=200.0,
        help="Sent.dm requests/minute the simulator allows (burst: a quarter of it)",
    )
    sim.add_argument(
        "--webhook-url",
        metavar="URL",
        help="POST every status change there like the providers' webhooks "
        "(a bare base URL gets /webhooks/sentdm and /webhooks/sendo)",
    )
    sim.add_argument(
        "--webhook-secret",
        metavar="whsec_…",
        help="Sent.dm signing secret (default: $SENT_DM_WEBHOOK_SECRET, else the simulator's own)",
    )
    sim.add_argument(
        "--webhook-token",
        metavar="TOKEN",
        help="Sendo X-Webhook-Token (default: $SENDO_WEBHOOK_TOKEN, else the simulator's own)",
    )
    return parser


def _plain_streams() -> None:
    """A terminal or pipe that cannot encode a glyph (`✓`, `…`) gets an escape, not a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.demo and args.command not in (None, "serve"):
        parser.error(
            f"--demo opens the dashboard on the embedded simulator; it does not combine with `{args.command}` "
            "(to try the CLI, run `sendwatch simulate`)"
        )
    _plain_streams()
    config_path = args.config or paths.config_file()
    if args.command == "config":
        from tui.commands import config_cmd

        return config_cmd.run(args.action, config_path, args.force)
    if args.command == "simulate":
        from tui.commands import simulate

        return simulate.run(
            args.port,
            args.seed,
            args.campaign,
            args.ids_file,
            args.rate,
            webhook_url=args.webhook_url,
            webhook_secret=args.webhook_secret,
            webhook_token=args.webhook_token,
        )

    from tui.commands.output import fail
    from tui.config import load
    from tui.errors import ConfigError

    listen_at = None
    if getattr(args, "listen", None) and args.command in (None, "watch"):
        from tui.commands.listen import parse_listen

        try:
            listen_at = parse_listen(args.listen)
        except ValueError as exc:
            return fail(str(exc), 2)
    log_format: LogFormat = "text"
    if args.command in ("listen", "poll"):  # from here on, every line they write is in this format
        from tui.observe.logs import resolve_format, setup_logging

        try:
            log_format = resolve_format(getattr(args, "log_format", None))
        except ValueError as exc:
            return fail(str(exc), 2)
        setup_logging(log_format)  # the commands add the settings' secrets once they are read
    if args.command == "serve":
        from tui.commands import serve

        if getattr(args, "read_only", False):
            os.environ["SENDWATCH_READ_ONLY"] = "1"  # every browser session's dashboard inherits it

        return serve.run(args, None)  # each browser session loads the config itself
    if args.demo:
        from tui.commands import dashboard

        return dashboard.run_demo(listen_at)
    try:
        settings = load(config_path)
    except ConfigError as exc:
        return fail(str(exc), 2)
    if getattr(args, "read_only", False) and not settings.ui.read_only:
        settings = replace(
            settings, ui=replace(settings.ui, read_only=True), read_only_source="--read-only"
        )
    if settings.ui.read_only and args.command in READ_ONLY_REFUSED:
        return fail(
            f"read-only mode is on ({settings.read_only_source}): `{args.command}` is refused "
            "and nothing was sent",
            2,
        )
    if args.command == "wait":
        from tui.commands import wait

        return wait.run(args, settings)
    if args.command in ("resend", "cancel"):
        from tui.commands import act

        return act.run(args, settings)
    if args.command == "report":
        from tui.commands import report

        return report.run(args, settings)
    if args.command == "webhooks":
        from tui.commands import webhooks_cmd

        return webhooks_cmd.run(args, settings)
    if args.command == "get":
        from tui.commands import get

        return get.run(settings, args.id, args.provider, args.json, args.raw, args.timeout)
    if args.command == "send":
        from tui.commands import send

        fields = send.SendArgs.__dataclass_fields__
        return send.run(settings, send.SendArgs(**{name: getattr(args, name) for name in fields}))
    if args.command == "listen":
        from tui.commands import listen

        try:
            host, port = listen.parse_listen(args.address)
        except ValueError as exc:
            return fail(str(exc), 2)
        return listen.run(settings, host, port, log_format)
    if args.command == "poll":
        from tui.commands import listen, poll

        try:
            address = listen.parse_listen(args.listen) if args.listen else None
            metrics_at = listen.parse_listen(args.metrics) if args.metrics else None
        except ValueError as exc:
            return fail(str(exc), 2)
        return poll.run(settings, address, metrics_at=metrics_at, log_format=log_format)
    if args.command == "export":
        from tui.commands import export

        return export.run(
            settings, args.campaign, args.status, args.format, args.output, args.account
        )
    from tui.commands import dashboard

    if args.command == "watch":
        return dashboard.run_watch(
            settings,
            args.file,
            args.campaign,
            args.provider,
            no_ui=args.no_ui,
            sendo_campaign=args.sendo_campaign,
            listen=listen_at,
        )
    return dashboard.run(settings, listen=listen_at)


if __name__ == "__main__":
    sys.exit(main())
