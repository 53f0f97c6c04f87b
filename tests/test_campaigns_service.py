"""The use cases shared by `sendwatch watch` and the dashboard: importing IDs as a campaign,
keeping an unreachable ID waiting, and what Enter on an ID finds. Real files, real SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.errors import RateLimitedError, UnavailableError
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.policy import PollPolicy
from tui.services.campaigns import (
    ImportFileError,
    check_sendo_campaign,
    import_file,
    quoted,
    sendo_campaign_name,
)
from tui.services.waiting import keep_waiting, waiting_note
from tui.store import ListFilter, SQLiteStore

A = "8ba7b830-9dad-11d1-80b4-00c04fd430c8"
B = "9ba7b830-9dad-11d1-80b4-00c04fd430c8"


@pytest.fixture
def store(tmp_path: Path):
    opened = SQLiteStore(tmp_path / "history.sqlite3")
    yield opened
    opened.close()


def test_a_file_becomes_a_campaign_and_says_what_it_skipped(store, tmp_path: Path) -> None:
    ids = tmp_path / "launch.txt"
    ids.write_text(f"# launch\n{A}\nsendo:{B}\nbogus [b]\nnot-an-id\nx\ny\n{A}\n", "utf-8")
    imported = import_file(store, ids)
    assert imported.campaign == "launch" and imported.added == 2
    assert {r.id for r in store.page(ListFilter(campaign="launch"), 0, 10)} == {A, B}
    assert imported.summary().endswith("; 2 new in campaign 'launch'")
    assert "2 IDs read" in imported.summary() and "1 duplicates ignored" in imported.summary()
    skipped = imported.skipped()
    assert skipped.startswith("line 4: ") and "[b]" in skipped and skipped.endswith("(+1 more)")
    again = import_file(store, ids, "launch")  # importing again adds nothing new
    assert again.added == 0


def test_an_unreadable_file_is_one_clear_error(store, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="cannot read .*nope.txt: No such file") as caught:
        import_file(store, tmp_path / "nope.txt")
    assert caught.value.exit_code == 2  # `sendwatch watch` exits 2, as before


def test_names_and_sendo_campaign_ids() -> None:
    assert quoted("spring\x1b[2J" + "x" * 100).startswith("'spring\\x1b[2J")
    assert len(quoted("y" * 100)) < 70
    assert check_sendo_campaign(" U7fQ3123 ") == "U7fQ3123"
    with pytest.raises(Exception, match="not a Sendo campaign ID: 'x;drop'"):
        check_sendo_campaign("x;drop")
    assert sendo_campaign_name("U7fQ3123") == "sendo:U7fQ3123"
    assert sendo_campaign_name("U7fQ3123", " mine ") == "mine"


def test_an_unreachable_id_is_kept_waiting(store) -> None:
    policy = PollPolicy()
    down = UnavailableError("Sent.dm: cannot reach api.sent.dm")
    due = keep_waiting(store, policy, MessageRef(A), down, now=1000.0)
    row = store.row(A)
    assert row is not None and row.provider is None and row.last_error == str(down)
    assert due == row.next_poll == policy.after_failure(down, 1, 1000.0)  # the one rule
    slow = RateLimitedError("Sendo: rate limited", retry_after=42.0)
    assert keep_waiting(store, policy, MessageRef(B, Provider.SENDO), slow, now=1000.0) == 1042.0
    assert store.provider_of(B) is Provider.SENDO
    note = waiting_note(MessageRef(A), down)
    assert note.startswith(f"Could not reach the provider for {A} (Sent.dm: cannot reach")
    assert "stays in the list" in note
