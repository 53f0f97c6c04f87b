"""`sendwatch wait [ID ... | --campaign NAME]`: block until every message is final, for scripts and CI.

The use case is `tui.services.waiting_for.Waiter` (poll while elected, else watch the shared history);
this module adds the flags, the progress line on a terminal's stderr, the human or JSON answer, the
alert engine's tick, and the exit codes: 0 all final and thresholds hold, 1 all final but a threshold
missed, 6 timeout (what is still pending is printed), 2 usage, 4 auth, 5 provider or store failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from tui.alerts.engine import AlertEngine
from tui.alerts.hooks import provider_health
from tui.alerts.settings import AlertSettings, default_settings
from tui.alerts.units import format_duration, parse_duration, parse_percent
from tui.commands.output import fail, open_history, unknown_campaign, warn
from tui.config import Settings
from tui.errors import ConfigError, InvalidIdError
from tui.ids import MessageRef, parse_ref
from tui.services.waiting_for import Progress, Thresholds, Waiter, WaitResult
from tui.store import Store
from tui.textsafe import safe_text

HELP = "wait until the messages are final (exit 0 ok, 1 threshold missed, 6 timeout)"
DESCRIPTION = """Keep the messages fresh until every one is final, then say whether the thresholds hold.

It polls within the providers' budgets like the dashboard (one poller per account: when another
instance already polls the shared history, it only watches it). A delivered message counts as
final; read receipts are not waited for. Delivery % = (delivered + read) / total;
failed % = failed / total. IDs not tracked yet are tracked first.

exit codes: 0 all final and thresholds hold, 1 all final but a threshold missed, 6 the timeout
passed (what is still pending is printed), 2 usage, 4 auth rejected, 5 provider or store failure"""


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _percent(text: str) -> float:
    try:
        return parse_percent(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `wait` on the CLI's subparsers (`parents`: the options every command accepts)."""
    wait: argparse.ArgumentParser = sub.add_parser(
        "wait",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents,
    )
    wait.add_argument("ids", nargs="*", metavar="ID", help="message IDs (sentdm:ID, sendo:ID)")
    wait.add_argument("--campaign", metavar="NAME", help="every message of this campaign")
    wait.add_argument(
        "--min-delivered",
        type=_percent,
        metavar="PCT",
        help="exit 1 unless (delivered + read) / total reaches PCT (98 or 98%%)",
    )
    wait.add_argument(
        "--max-failed",
        type=_percent,
        metavar="PCT",
        help="exit 1 when failed / total is above PCT (2 or 2%%)",
    )
    wait.add_argument(
        "--timeout",
        type=_duration,
        metavar="DURATION",
        help="give up (exit 6) after this long: 90s, 30m, 1h (default: wait as long as it takes)",
    )
    wait.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: campaign, total, by_status, met, timed_out, ...",
    )
    return wait


def main(argv: list[str] | None = None) -> int:
    """`sendwatch wait` on its own (tests, and until tui/cli.py registers it)."""
    from tui import paths
    from tui.config import load

    parser = argparse.ArgumentParser(prog="sendwatch")
    parser.add_argument("--config", type=Path, metavar="FILE")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub, [])
    args = parser.parse_args(["wait", *(sys.argv[1:] if argv is None else argv)])
    try:
        settings = load(args.config or paths.config_file())
    except ConfigError as exc:
        return fail(str(exc), 2)
    return run(args, settings)


def run(args: argparse.Namespace, settings: Settings, alerts: AlertSettings | None = None) -> int:
    """`alerts`: the `[alerts]` settings (default: `settings.alerts` once config.py has it, else
    the default rules without a webhook)."""
    if args.ids and args.campaign:
        return fail("wait takes IDs or --campaign NAME, not both", 2)
    if not args.ids and not args.campaign:
        return fail("wait needs message IDs or --campaign NAME", 2)
    try:
        refs = [parse_ref(text) for text in args.ids]
    except InvalidIdError as exc:
        return fail(str(exc), 2)
    store = open_history(settings)
    if isinstance(store, int):
        return store
    try:
        if (refused := unknown_campaign(store, args.campaign)) is not None:
            return refused
        return _wait(args, settings, store, refs, alerts or _alert_settings(settings))
    finally:
        store.close()


def _alert_settings(settings: Settings) -> AlertSettings:
    found = getattr(settings, "alerts", None)  # `settings.alerts` once config.py reads [alerts]
    return found if isinstance(found, AlertSettings) else default_settings()


def _wait(
    args: argparse.Namespace,
    settings: Settings,
    store: Store,
    refs: list[MessageRef],
    alerts: AlertSettings,
) -> int:
    if not settings.configured_providers():
        warn("no provider is configured: only watching the history (another instance must poll it)")
    progress_line = ProgressLine(sys.stderr)
    waiter = Waiter(
        settings,
        store,
        refs,
        args.campaign,
        Thresholds(args.min_delivered, args.max_failed),
        args.timeout,
        on_progress=progress_line.show,
    )
    engine = AlertEngine.for_settings(store, settings, alerts, should_evaluate=waiter.polling_here)
    engine.provider_health = lambda: provider_health(waiter.providers)() if waiter.providers else {}
    waiter.on_tick = lambda now, last: _alerts(engine, now, last)
    try:
        result = asyncio.run(waiter.run())
    except KeyboardInterrupt:
        progress_line.end()
        return fail("interrupted", 130)
    finally:
        engine.close()
    progress_line.end()
    if result.failure is not None and not result.timed_out:
        return fail(str(result.failure), result.exit_code)
    if args.json:
        print(json.dumps(as_json(result, args.campaign, waiter.thresholds), ensure_ascii=False))
    else:
        print(describe(result, waiter.thresholds))
    if result.failure is not None:
        fail(str(result.failure), result.exit_code)
    return result.exit_code


def _alerts(engine: AlertEngine, now: float, last: bool) -> None:
    for line in engine.tick_lines(now, force=last):
        print(safe_text(line, single_line=True), file=sys.stderr)


def as_json(result: WaitResult, campaign: str | None, thresholds: Thresholds) -> dict[str, Any]:
    p = result.progress
    return {
        "campaign": campaign,
        "total": p.total,
        "final": p.final,
        "by_status": dict(sorted(p.by_status.items())),
        "delivered_pct": round(p.delivered_pct, 2),
        "failed_pct": round(p.failed_pct, 2),
        "min_delivered": thresholds.min_delivered,
        "max_failed": thresholds.max_failed,
        "met": result.met,
        "timed_out": result.timed_out,
        "pending": list(p.pending),
        "elapsed_seconds": round(result.elapsed, 3),
    }


def describe(result: WaitResult, thresholds: Thresholds) -> str:
    p = result.progress
    lines = [
        f"{p.final}/{p.total} final · delivered {p.delivered} ({p.delivered_pct:.1f}%) · "
        f"failed {p.failed} ({p.failed_pct:.1f}%) · {format_duration(result.elapsed)}"
    ]
    if thresholds.min_delivered is not None:
        held = p.delivered_pct >= thresholds.min_delivered
        lines.append(f"delivered ≥ {thresholds.min_delivered:g}%: {'held' if held else 'missed'}")
    if thresholds.max_failed is not None:
        held = p.failed_pct <= thresholds.max_failed
        lines.append(f"failed ≤ {thresholds.max_failed:g}%: {'held' if held else 'missed'}")
    if result.timed_out:
        lines.append(f"timed out with {len(p.pending)} still pending:")
        lines += [f"  {ref}" for ref in p.pending]
    return "\n".join(lines)


class ProgressLine:
    """`3/10 final · ✓2 ✗1 · 1m12s` rewritten in place on a terminal's stderr; nothing otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = _isatty(stream)
        self.width = 0

    def show(self, progress: Progress, elapsed: float) -> None:
        if not self.enabled:
            return
        text = (
            f"{progress.final}/{progress.total} final · ✓{progress.delivered} "
            f"✗{progress.failed} · {format_duration(elapsed)}"
        )
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def end(self) -> None:
        if self.enabled and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
