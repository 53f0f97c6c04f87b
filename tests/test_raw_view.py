"""`v` on a small answer nested thousands deep draws a bounded text at once (it froze the screen)."""

from __future__ import annotations

from tui.app.widgets.detail_text import RAW_MAX_CHARS, RAW_MAX_DEPTH, describe_raw
from tui.model import Message, Provider, Status
from tui.store import Stored


def stored_with_raw(raw: dict[str, object]) -> Stored:
    msg = Message(
        "8ba7b830-9dad-11d1-80b4-00c04fd430c8", Provider.SENTDM, Status.SENT, "SENT", raw=raw
    )
    return Stored(msg, None, 0.0, None, None, 0, None)


def test_a_deeply_nested_answer_is_drawn_bounded_and_fast() -> None:
    nested: object = "bottom"
    for _ in range(5_000):
        nested = {"a": [nested]}
    text = describe_raw(stored_with_raw({"data": nested}))[0].plain
    # the old view pretty-printed ~50 M characters (indentation grows with depth): ~10 s of UI
    assert len(text) <= RAW_MAX_CHARS + 200 and f"deeper than {RAW_MAX_DEPTH} levels" in text


def test_a_huge_flat_answer_is_cut_with_a_note() -> None:
    text = describe_raw(stored_with_raw({"data": ["x" * 100] * 5_000}))[0].plain
    assert len(text) <= RAW_MAX_CHARS + 200 and "more characters" in text


def test_a_small_answer_is_shown_whole() -> None:
    text = describe_raw(stored_with_raw({"data": {"id": "1", "status": "SENT"}}))[0].plain
    assert '"status": "SENT"' in text and "more characters" not in text
