"""`sendwatch report [--campaign NAME] [--json | --format md]`: a campaign's numbers and a cause.

The numbers come from `tui.services.report` (one service for every caller); this module adds the
three renderings: one JSON object, plain text for a terminal, Markdown for a ticket or a chat.
Provider text (codes, reasons, channels) is made safe for each: control characters escaped for
the terminal, Markdown punctuation escaped for Markdown.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

from tui import paths
from tui.commands.output import fail, warn
from tui.config import Settings, load
from tui.errors import ConfigError
from tui.services.report import STATUS_KEYS, build_report
from tui.services.report_summary import cause_line
from tui.store import ListFilter
from tui.store.open import open_store
from tui.textsafe import safe_text

PROVIDER_LABELS = {"sentdm": "Sent.dm", "sendo": "Sendo"}
# What can start markup inside a line of text or a table cell (links need `[`, images `![`, HTML
# `<`, emphasis `*`/`_`, code `` ` ``, strikethrough `~`, cells `|`). Values are never at a line's
# start, so list and heading markers (`-`, `+`, `1.`, `#`) stay as they are: fewer backslashes
# for chats that show them.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def _add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--campaign", metavar="NAME", help="only this campaign (default: all)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print one JSON object")
    form.add_argument(
        "--format",
        choices=["text", "md"],
        default="text",
        help="text (default) or md: Markdown to paste into a ticket or a chat",
    )


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The `report` subcommand (called by tui/cli.py)."""
    parser = sub.add_parser(
        "report",
        help="delivery numbers of the tracked messages (or one campaign), and what explains the failures",
        parents=parents,
    )
    _add_flags(parser)
    return parser


def run(args: argparse.Namespace, settings: Settings) -> int:
    campaign: str | None = args.campaign
    try:
        store = open_store(settings)
    except ConfigError as exc:
        return fail(str(exc), 2)
    except Exception as exc:  # noqa: BLE001 - any unreadable history is one line, not a traceback
        return fail(f"history unavailable ({exc.__class__.__name__})", 5)
    try:
        for warning in store.warnings:
            warn(warning)
        if campaign is not None and campaign not in {name for name, _ in store.campaigns()}:
            return fail(f"no campaign named {campaign!r} in the history", 3)
        report = build_report(store, ListFilter(campaign=campaign), time.time())
    finally:
        store.close()
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    elif args.format == "md":
        print(render_markdown(report))
    else:
        print(render_text(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    """`sendwatch report` on its own (tests, subprocesses)."""
    parser = argparse.ArgumentParser(prog="sendwatch report")
    parser.add_argument("--config", type=Path, metavar="FILE")
    _add_flags(parser)
    args = parser.parse_args(argv)
    try:
        settings = load(args.config or paths.config_file())
    except ConfigError as exc:
        return fail(str(exc), 2)
    return run(args, settings)


# -- words -------------------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _secs(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def _scope(report: dict[str, Any], esc: Any) -> str:
    name = report["campaign"]
    return f"campaign {esc(name)}" if name is not None else "all tracked messages"


def _plain(value: object) -> str:
    return safe_text(value, single_line=True, limit=200) if value not in (None, "") else "-"


def _md(value: object) -> str:
    """Untrusted text as literal Markdown: controls escaped, punctuation backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", _plain(value))


def _spend(report: dict[str, Any]) -> str:
    spend = report["spend"]
    if spend["total"] is None:
        text = "no price given"
    else:
        text = (
            f"{spend['total']:.4f} over {spend['priced_messages']} priced messages "
            f"(of which failed {spend['failed']:.4f}; currency not stated by the providers)"
        )
    if spend["segments"] is not None:
        text += f"; Sendo segments {spend['segments']}"
    return text


def _lines(report: dict[str, Any]) -> dict[str, Any]:
    """The facts in words, shared by the text and Markdown renderings."""
    lat = report["latency_seconds"]
    statuses = " · ".join(f"{key} {report['by_status'][key]}" for key in STATUS_KEYS)
    return {
        "messages": f"{report['total']} messages, {report['final']} final "
        "(delivered, read, failed, cancelled, received)",
        "rates": f"delivered {_pct(report['delivery_rate'])} of final, "
        f"failed {_pct(report['failure_rate'])} of final",
        "latency": f"created → delivered p50 {_secs(lat['p50'])}, p90 {_secs(lat['p90'])}, "
        f"p99 {_secs(lat['p99'])} ({lat['count']} deliveries with the provider's times)",
        "statuses": statuses,
        "spend": _spend(report),
    }


def render_text(report: dict[str, Any]) -> str:
    """Plain text for a terminal: the cause first, then the numbers."""
    words = _lines(report)
    out = [f"sendwatch report: {_scope(report, _plain)}"]
    cause = cause_line(report)
    if cause:
        out.append(f"Cause      {cause}")
    out += [
        f"Messages   {words['messages']}",
        f"Rates      {words['rates']}",
        f"Latency    {words['latency']}",
        f"Statuses   {words['statuses']}",
        f"Spend      {words['spend']}",
    ]
    if report["by_cohort"]:
        out.append("Cohorts    provider  channel   country  total  delivered  failed  delivery")
        for c in report["by_cohort"]:
            out.append(
                f"           {PROVIDER_LABELS.get(c['provider'], _plain(c['provider'])):<9} "
                f"{_plain(c['channel']):<9} {_plain(c['country']):<8} {c['total']:>5}  "
                f"{c['delivered']:>9}  {c['failed']:>6}  {_pct(c['delivery_rate'])}"
            )
    if report["failures_by_code"]:
        out.append("Failures")
        for f in report["failures_by_code"]:
            out.append(
                f"  {f['count']:>6}  {f['share'] * 100:5.1f} %  "
                f"{PROVIDER_LABELS.get(f['provider'], _plain(f['provider']))} "
                f"{_plain(f['code'])}  {_plain(f['reason'])}"
            )
            if f["advice"]:
                out.append(f"                   {_plain(f['advice'])}")
    if report["stalled"]:
        out.append("Stalled")
        for s in report["stalled"]:
            out.append(
                f"  {s['count']:>6}  in {s['stage']} longer than {_secs(s['threshold_seconds'])} "
                f"(oldest {_secs(s['oldest_seconds'])})"
            )
    return "\n".join(out)


def render_markdown(report: dict[str, Any]) -> str:
    """Markdown for a ticket or a chat: provider text escaped so it stays literal."""
    words = _lines(report)
    out = [f"## sendwatch report: {_scope(report, _md)}", ""]
    cause = cause_line(report, _md)
    if cause:
        out += [f"**Cause:** {cause}", ""]
    out += [
        f"- **Messages:** {words['messages']}",
        f"- **Rates:** {words['rates']}",
        f"- **Latency:** {words['latency']}",
        f"- **Statuses:** {words['statuses']}",
        f"- **Spend:** {words['spend']}",
    ]
    if report["by_cohort"]:
        out += [
            "",
            "| provider | channel | country | total | delivered | failed | delivery rate |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for c in report["by_cohort"]:
            out.append(
                f"| {PROVIDER_LABELS.get(c['provider'], _md(c['provider']))} | {_md(c['channel'])} "
                f"| {_md(c['country'])} | {c['total']} | {c['delivered']} | {c['failed']} "
                f"| {_pct(c['delivery_rate'])} |"
            )
    if report["failures_by_code"]:
        out += [
            "",
            "| failures | share | provider | code | reason | what to do |",
            "|---:|---:|---|---|---|---|",
        ]
        for f in report["failures_by_code"]:
            out.append(
                f"| {f['count']} | {f['share'] * 100:.1f} % "
                f"| {PROVIDER_LABELS.get(f['provider'], _md(f['provider']))} | {_md(f['code'])} "
                f"| {_md(f['reason'])} | {_md(f['advice'])} |"
            )
    if report["stalled"]:
        out += ["", "| stalled in | messages | longer than | oldest |", "|---|---:|---|---|"]
        for s in report["stalled"]:
            out.append(
                f"| {s['stage']} | {s['count']} | {_secs(s['threshold_seconds'])} "
                f"| {_secs(s['oldest_seconds'])} |"
            )
    return "\n".join(out)
