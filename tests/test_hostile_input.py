"""Issue #15, bounded input: imports read line by line within a cap (`/dev/zero`, an endless pipe,
JSON nested 100,000 deep, a CSV field past the csv module's limit), config numbers that are not
numbers, and provider text that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import subprocess
import time
from pathlib import Path

import pytest

from tui.config import load
from tui.errors import ConfigError
from tui.export import write_export
from tui.ids import MessageRef
from tui.importers import read_ids, read_ids_from
from tui.model import Message, Provider, Status
from tui.store import ListFilter, SQLiteStore

A = "8ba7b830-9dad-11d1-80b4-00c04fd430c8"
B = "f7d258bd-f697-4840-b8a6-165707e12345"
C = "00000000-0000-4000-8000-000000000003"


def test_dev_zero_is_refused_at_once_as_binary() -> None:
    started = time.monotonic()
    result = read_ids_from("/dev/zero")
    assert time.monotonic() - started < 5
    assert result.refs == [] and [p.where for p in result.problems] == ["line 1"]
    assert "binary data" in result.problems[0].reason


def test_an_endless_pipe_stops_at_the_cap_and_keeps_what_came_before() -> None:
    """`yes ID | sendwatch watch -`: reading stops at the cap (here 1 MB), the ID is kept."""
    yes = subprocess.Popen(["yes", f"sendo:{A}"], stdout=subprocess.PIPE)
    try:
        result = read_ids_from(yes.stdout, limit=1024 * 1024)
    finally:
        yes.kill()
        yes.wait()
    assert [(r.id, r.provider) for r in result.refs] == [(A, Provider.SENDO)]
    assert result.duplicates > 20_000
    assert len(result.problems) == 1 and "larger than 1 MB" in result.problems[0].reason


def test_a_text_stream_and_a_path_read_alike(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(f"\ufeff{A}\r\n# comment\nsendo:{B}\nbogus\n{C}".encode())
    from_path = read_ids_from(path)
    from_stream = read_ids_from(io.StringIO(path.read_text(encoding="utf-8")))
    for result in (from_path, from_stream):
        assert [r.id for r in result.refs] == [A, B, C]
        assert [p.where for p in result.problems] == ["line 4"]


def test_json_nested_100000_deep_is_a_problem_not_a_crash() -> None:
    result = read_ids("[" * 100_000 + "]" * 100_000)
    assert result.refs == [] and "nested too deeply" in result.problems[0].reason
    walked = read_ids('{"data": ' + "[" * 500 + f'"{A}"' + "]" * 500 + "}")
    assert "nested more than 64 levels" in walked.problems[0].reason


def test_a_csv_field_past_the_csv_limit_skips_that_row_only() -> None:
    text = f'id,note\n{A},ok\n{B},"{"x" * 140_000}"\n{C},after\n'
    result = read_ids(text)
    assert [r.id for r in result.refs] == [A, C]  # the valid row after it is kept
    assert [p.where for p in result.problems] == ["line 3"]
    assert "field larger than field limit" in result.problems[0].reason


def test_json_after_comment_lines_keeps_its_line_numbers() -> None:
    result = read_ids('# a send response\n{"data": {"recipients": [\n  {"message_id": "nope"}\n')
    assert result.refs == [] and result.problems[0].where == "line 4"  # the JSON ends too early


@pytest.mark.parametrize(
    ("section", "line", "name"),
    [
        ("network", "read_timeout = nan", "network.read_timeout"),
        ("polling", "min_interval = inf", "polling.min_interval"),
        ("polling", "max_interval = -inf", "polling.max_interval"),
        ("providers.sentdm", "requests_per_minute = nan", "providers.sentdm.requests_per_minute"),
    ],
)
def test_config_numbers_refuse_nan_and_inf(tmp_path: Path, section, line, name) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[{section}]\n{line}\n")
    with pytest.raises(ConfigError, match="finite number") as caught:
        load(config, env={})
    assert f"line 2: {name}" in str(caught.value)


def test_the_request_deadline_is_a_setting(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[network]\nrequest_deadline = 12.5\n")
    assert load(config, env={}).network.request_deadline == 12.5
    assert load(tmp_path / "absent.toml", env={}).network.request_deadline == 30.0
    config.write_text("[network]\nrequest_deadline = 0\n")
    with pytest.raises(ConfigError, match="request_deadline must be above 0"):
        load(config, env={})


def test_every_secret_and_header_value_refuses_non_ascii(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    for key in ("webhook_secret", "profile_id"):
        config.write_text(f'[providers.sentdm]\n{key} = "whsec_abc\\u00e9"\n')
        with pytest.raises(ConfigError, match=f"providers.sentdm.{key} contains U\\+00E9"):
            load(config, env={})
    with pytest.raises(ConfigError, match=r"\$SENDO_WEBHOOK_TOKEN contains U\+0009"):
        load(tmp_path / "absent.toml", env={"SENDO_WEBHOOK_TOKEN": "to\tken"})


def test_csv_export_defuses_formula_cells(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "history.sqlite3")
    try:
        cells = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain"]
        for index, text in enumerate(cells):
            message_id = f"00000000-0000-4000-8000-{index:012d}"
            store.track([MessageRef(message_id, Provider.SENDO)])
            store.record_fetch(
                Message(message_id, Provider.SENDO, Status.FAILED, text, to=text, body=text),
                next_poll=lambda changed, seen: None,
                fetched_at=1.0,
            )
        out = io.StringIO()
        assert write_export(store, ListFilter(), "csv", out) == len(cells)
    finally:
        store.close()
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert [r["to"] for r in rows] == ["'" + c for c in cells[:-1]] + ["plain"]
    assert all(r["provider_status"] == r["to"] for r in rows)
