"""Shared CLI output helpers: errors on stderr, the human form of a message, all plain text.

The command line never writes colour or any other escape sequence, whatever the terminal: colour
is the dashboard's second channel, and here every status already carries its glyph and word. So
`NO_COLOR`, pipes and files all get the same bytes. Provider text goes through `safe_text`, so a
body or reason can never smuggle an escape sequence onto the user's terminal either. Glyphs,
times, gaps and reasons are `tui.present`'s, so `get` and the dashboard say the same thing.
"""

from __future__ import annotations

from datetime import datetime

from tui import present
from tui.config import Settings
from tui.errors import SendwatchError
from tui.model import Message, fold_status, status_word
from tui.reasons import explain, explain_status
from tui.store import Store
from tui.store.open import describe as describe_store
from tui.store.open import open_store
from tui.textsafe import safe_text
from tui.timeline import by_attempt, merge_events


def fail(message: str, code: int) -> int:
    """One line on stderr (a JSON `error` event under `--log-format json`); returns `code`."""
    from tui.observe.logs import problem  # loaded on the error path only

    problem(safe_text(message), exit_code=code)
    return code


def open_history(settings: Settings, unexpected_exit: int = 5) -> Store | int:
    """The history, or the exit code after one line saying why it cannot be opened (a
    `StoreError`'s own code; anything else, e.g. an unreadable directory: `unexpected_exit`)."""
    try:
        return open_store(settings)
    except SendwatchError as exc:
        return fail(str(exc), exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - one line, no traceback
        where = describe_store(settings)
        return fail(f"cannot open the history ({where}): {exc.__class__.__name__}", unexpected_exit)


def unknown_campaign(store: Store, name: str | None) -> int | None:
    """Exit 2 (said in one line) when `name` is not a campaign of the history, else None."""
    if name and name not in {known for known, _ in store.campaigns()}:
        return fail(f"no campaign named {name!r} in history", 2)
    return None


def warn(message: str) -> None:
    from tui.observe.logs import problem

    problem(safe_text(message), warning=True)


def fmt_time(value: datetime | None) -> str:
    return present.clock_time(value, millis=True)


def _s(value: object) -> str:
    """One line of untrusted text, or `-`."""
    return safe_text(value, single_line=True) if value not in (None, "") else "-"


def status_line(msg: Message) -> str:
    """`✗ blocked` — the provider's word where it says more — plus its exact word when it differs."""
    word = _s(
        status_word(msg.status, msg.provider_status)
    )  # an unknown status is the provider's text
    exact = (
        f" (provider: {_s(msg.provider_status)})"
        if msg.provider_status and fold_status(msg.provider_status) != word
        else ""
    )
    return f"{present.glyph(msg.status)} {word}{exact}"


def _reason(code: str | None, text: str | None) -> str:
    return present.reason(code, text) or "-"


def describe(msg: Message) -> str:
    """The human form of `sendwatch get`: the answer first, why it failed and what to do, the
    details, then the timeline with each event's reason."""
    s = _s
    lines = [f"{msg.id}  {msg.provider.label}  {status_line(msg)}"]
    if msg.error and (msg.error.code or msg.error.message):
        lines.append(f"Error      {_reason(msg.error.code, msg.error.message)}")
        advice = explain(msg.provider, msg.error.code)
        if advice:
            lines.append(f"What to do {advice}")
    elif (meaning := explain_status(msg.provider_status)) is not None:
        lines.append(f"Meaning    {meaning}")
    lines += [
        f"To         {s(msg.to)}",
        f"From       {s(msg.from_)}",
        f"Channel    {s(msg.channel)}",
        f"Created    {fmt_time(msg.created_at)}",
        f"Updated    {fmt_time(msg.last_event_time())}",
    ]
    if msg.scheduled_at:
        lines.append(f"Scheduled  {fmt_time(msg.scheduled_at)}")
    if msg.template_name or msg.template_id:
        lines.append(
            f"Template   {s(msg.template_name)} ({s(msg.template_category)}) {s(msg.template_id)}"
        )
    if msg.campaign:
        lines.append(f"Campaign   {s(msg.campaign)}")
    if msg.price is not None:
        lines.append(f"Price      {msg.price}")
    if msg.segments is not None:
        lines.append(f"Segments   {msg.segments}")
    for label, value in (("Header", msg.header), ("Body", msg.body), ("Footer", msg.footer)):
        if value:
            body = safe_text(value).replace(
                "\n", "\n" + " " * 11
            )  # continuation lines stay indented
            lines.append(f"{label:<10} {body}")
    groups = by_attempt(merge_events(msg.events))
    if groups:
        lines.append("Events")
    for number, group in groups:
        if len(groups) > 1:  # a resend made the same ID start over
            lines.append(f"  {present.attempt_title(number, group[0].timestamp)}")
        previous: datetime | None = None
        # one row per status reached; a confirmation is "seen N s later"
        for e in group:
            since = (e.timestamp - previous).total_seconds() if previous else None
            gap = f"  ({present.gap(since)})" if since is not None else ""
            note = present.seen_note(e)
            seen = f"  [{note}]" if note else ""
            reason = ""
            if e.reason_code or e.reason:
                said = _reason(e.reason_code, e.reason)
                if said != s(e.description):
                    reason = f"  [{said}]"
            word = _s(e.provider_status.lower())  # the timeline says what the provider said
            lines.append(
                f"  {fmt_time(e.timestamp)}  {word:<10} {s(e.description) if e.description else ''}{reason}{gap}{seen}".rstrip()
            )
            previous = e.timestamp
    return "\n".join(lines)
