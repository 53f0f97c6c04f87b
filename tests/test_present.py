"""One way to say things (tui.present): `get`, the dashboard and `export` read the same.

Before, `get` printed `? cancelled` where the dashboard showed `⊘ cancelled`, reasons read
`30007 Filtered` in one place and `30007: Filtered` in another, and gaps `+3m12s` against
`(+192.0s)`. These tests pin the one form and check each surface uses it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tui import present
from tui.app.query import parse_query
from tui.app.widgets.detail_text import describe_answer, describe_timeline
from tui.app.widgets.list_cells import cells
from tui.commands.output import describe
from tui.model import Event, EventSource, Message, MessageError, Provider, Status
from tui.store import Row, Stored
from tui.timeline import merge_events

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def message(status: Status, word: str, error: tuple[str, str] | None = None, events=()) -> Message:
    return Message(
        id="8ba7b830-9dad-11d1-80b4-00c04fd430c8",
        provider=Provider.SENTDM,
        status=status,
        provider_status=word,
        error=MessageError(*error) if error else None,
        events=tuple(events),
    )


def row(status: str, word: str, code: str | None = None, text: str | None = None) -> Row:
    return Row(
        seq=1,
        id="8ba7b830-9dad-11d1-80b4-00c04fd430c8",
        provider="sentdm",
        status=status,
        provider_status=word,
        to="+14155550123",
        channel="sms",
        error_code=code,
        error_message=text,
        updated_at=None,
        last_polled=1000.0,
        last_changed=1000.0,
        next_poll=None,
        first_seen=1000.0,
        poll_errors=0,
        last_error=None,
        body="hello",
    )


def test_every_status_has_its_own_glyph() -> None:
    glyphs = [present.glyph(s) for s in Status]
    assert "?" not in glyphs[:-1] and len(set(glyphs)) == len(Status)  # only `unknown` is "?"
    assert present.glyph("waiting") == "◌" and present.glyph("nonsense") == "?"
    assert present.status_label(Status.FAILED, "BLOCKED") == "✗ blocked"
    assert present.status_label(Status.UNKNOWN, "\x1b[31mWEIRD") == "? \\x1b[31mweird"


@pytest.mark.parametrize(
    ("status", "word", "shown"),
    [(Status.CANCELLED, "CANCELLED", "⊘ cancelled"), (Status.RECEIVED, "RECEIVED", "↙ received")],
)
def test_get_and_the_list_say_the_same_status(status, word, shown) -> None:
    """`sendwatch get` used to print `? cancelled` (its own glyph table lacked the two)."""
    assert shown in describe(message(status, word)).splitlines()[0]
    assert cells(row(status.value, word), 1000.0, 120)[0][0] == shown


def test_one_form_for_reasons() -> None:
    assert present.reason("30007", "Filtered") == "30007: Filtered"
    assert present.reason(1360, None) == "1360" and present.reason(None, " Landline ") == "Landline"
    assert present.reason(None, "") == "" and present.reason("a\nb", "[b]x\x1b") == "a⏎b: [b]x\\x1b"
    failed = message(Status.FAILED, "FAILED", ("30007", "Filtered"))
    assert "Error      30007: Filtered" in describe(failed)
    stored = Stored(failed, None, 0.0, None, None, 0, None)
    assert describe_answer(stored)[0].plain == "Error  30007: Filtered"
    listed = cells(row("failed", "FAILED", "30007", "Filtered"), 1000.0, 120)
    assert listed[-1][0] == "30007: Filtered"


def test_one_form_for_gaps_and_who_saw_it() -> None:
    assert [present.gap(s) for s in (0.5, 40, 192, 7500)] == ["+0.5s", "+40s", "+3m12s", "+2h05m"]
    events = [
        Event(Status.QUEUED, "QUEUED", T0),
        Event(Status.SENT, "SENT", T0 + timedelta(seconds=192)),
        Event(Status.SENT, "SENT", T0 + timedelta(seconds=193.2), source=EventSource.OBSERVED),
        Event(
            Status.DELIVERED, "DELIVERED", T0 + timedelta(seconds=200), source=EventSource.WEBHOOK
        ),
    ]
    entries = merge_events(events)
    assert [present.seen_note(e) for e in entries] == ["", "seen 1.2s later", "pushed by webhook"]
    text = describe(message(Status.DELIVERED, "DELIVERED", events=events))
    assert "(+3m12s)" in text and "[seen 1.2s later]" in text and "(+192.0s)" not in text
    shown = "\n".join(line.plain for line in describe_timeline(entries))
    assert "+3m12s" in shown and "(seen 1.2s later)" in shown and "(pushed by webhook)" in shown


def test_times_ages_and_names() -> None:
    assert present.clock_time(T0, millis=True) == "2026-01-01 00:00:00.000Z"
    assert present.clock_time(None) == "-"
    assert [present.list_age(s) for s in (2, 7, 59, 61)] == ["now", "5s", "55s", "1m"]
    assert [present.provider_label(p) for p in ("sentdm", Provider.SENDO, None, "x")] == [
        "Sent.dm",
        "Sendo",
        "?",
        "?",
    ]


def test_one_rule_for_unknown_statuses() -> None:
    """The find bar and `export --status` refuse the same words with the same sentence."""
    assert present.unknown_status("Blocked") is None and present.unknown_status("failed") is None
    refused = present.unknown_status("bogus")
    assert refused is not None and refused.startswith("unknown status 'bogus'")
    assert parse_query("status:bogus").problem == refused
    assert present.unknown_status("waiting") is None
    assert present.unknown_status("waiting", waiting=False) is not None
