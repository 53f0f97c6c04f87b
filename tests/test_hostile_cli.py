"""Issue #15 at the command line: a poison answer, a rejected key or a half-failed send is one
line on stderr and an exit code, never a traceback; nothing that was sent is lost. A real
`sendwatch` subprocess against `tests/hostile.py` (or the simulator)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.hostile import HostileProvider, hostile_env
from tui.ids import MessageRef
from tui.model import Provider
from tui.store import SQLiteStore


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture
def fake():
    provider = HostileProvider(trickle_every=0.2).start()
    yield provider
    provider.stop()


def quick_config(tmp_path: Path) -> str:
    path = tmp_path / "quick.toml"
    path.write_text("[network]\nrequest_deadline = 1.5\nmax_retries = 1\nbackoff_base = 0.05\n")
    return str(path)


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("nested", "nested more than 64 levels"),
        ("fake_gzip", "Content-Encoding lies"),
        ("wrong_id", "the answer is about"),
        ("huge", "629,145,600 bytes"),
        ("huge_chunked", "larger than 2,000,000 bytes"),
        ("trickle", "1.5 s request deadline"),
    ],
)
def test_get_on_a_poison_answer_is_one_line_and_exit_5(fake, tmp_path, mode, said) -> None:
    message = str(uuid.uuid4())
    fake.modes[message] = mode
    out = run(
        ["get", f"sendo:{message}", "--config", quick_config(tmp_path)], hostile_env(fake, tmp_path)
    )
    assert out.returncode == 5, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    lines = [line for line in out.stderr.splitlines() if not line.startswith("sendwatch: waiting")]
    lines = [line for line in lines if "retry" not in line]
    assert len(lines) == 1 and said in lines[0], out.stderr


@pytest.mark.parametrize("mode", ["overflow_time", "nul"])
def test_get_on_an_odd_but_readable_answer_prints_it(fake, tmp_path, mode) -> None:
    """A time that overflows in UTC is no time; a NUL is shown as an escape, never written raw."""
    message = str(uuid.uuid4())
    fake.modes[message] = mode
    out = run(["get", f"sentdm:{message}"], hostile_env(fake, tmp_path))
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert "delivered" in out.stdout and "\x00" not in out.stdout
    if mode == "nul":
        assert "1234\\x00 (NUL)" in out.stdout
    else:
        assert "Created    -" in out.stdout


@pytest.mark.parametrize(
    ("variable", "pasted"),
    [("SENT_DM_API_KEY", "sim-key\u200b"), ("SENDO_API_KEY", "sendo-\u201ckey\u201d")],
)
def test_a_key_with_a_non_ascii_character_is_refused_naming_it(
    fake, tmp_path, variable, pasted
) -> None:
    env = hostile_env(fake, tmp_path)
    env[variable] = pasted
    out = run(["get", str(uuid.uuid4())], env)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"${variable}" in out.stderr and "U+" in out.stderr and pasted not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not fake.asked  # refused before any request


def test_a_key_in_the_config_file_with_a_zero_width_space_names_file_and_line(tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[providers.sendo]\napi_key = "abc\u200bdef-123"\n')
    out = run(["get", str(uuid.uuid4()), "--config", str(config)], {"PATH": ""})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"{config}, line 2: providers.sendo.api_key" in out.stderr and "U+200B" in out.stderr


SEND = ["send", "--provider", "sendo", "--text", "hi", "--sendo-campaign", "SPRNG001"]
TO = ["+14155550101", "+14155550102", "+14155550103"]


@pytest.mark.parametrize(
    ("second", "code", "sent_to"),
    [("garbled", 5, [TO[0], TO[1], TO[2]]), ("forbidden", 4, [TO[0]])],
)
def test_a_sendo_send_whose_second_recipient_fails_keeps_the_first(
    fake, tmp_path, second, code, sent_to
) -> None:
    """The 1st message's ID is printed and tracked whatever happens to the 2nd; after an
    unreadable answer the 3rd is still sent, after a rejected key nothing more is."""
    fake.send_modes[TO[1]] = second
    env = hostile_env(fake, tmp_path)
    args = [*SEND, *[a for to in TO for a in ("--to", to)], "--json"]
    out = run(args, env)
    assert out.returncode == code, out.stderr
    assert "Traceback" not in out.stderr
    assert [to for to, _ in fake.sent] == sent_to[:2] if second == "forbidden" else sent_to
    created = dict((to, new) for to, new in fake.sent)
    result = json.loads(out.stdout)
    printed = {m["to"]: m["id"] for m in result["messages"]}
    assert printed[TO[0]] == created[TO[0]]
    store = SQLiteStore(Path(env["SENDWATCH_DATA_DIR"]) / "history.sqlite3")
    try:
        assert store.provider_of(created[TO[0]]) is Provider.SENDO  # tracked
        if second == "garbled":
            assert printed[TO[2]] == created[TO[2]] and TO[1] not in printed
            assert [u["to"] for u in result["outcome_unknown"]] == [TO[1]]
            assert store.provider_of(created[TO[2]]) is Provider.SENDO
        else:
            assert [r["to"] for r in result["refused"]] == [TO[1]]
            assert [n["to"] for n in result["not_sent"]] == [TO[2]]
            assert "rejected the API key" in result["stopped"]
    finally:
        store.close()


def test_a_half_failed_send_says_what_was_sent_in_words(fake, tmp_path) -> None:
    fake.send_modes[TO[1]] = "forbidden"
    out = run([*SEND, "--to", TO[0], "--to", TO[1], "--to", TO[2]], hostile_env(fake, tmp_path))
    assert out.returncode == 4 and "Traceback" not in out.stderr
    first = fake.sent[0][1]
    assert f"  {first}  {TO[0]}  sms" in out.stdout
    assert f"refused for {TO[1]}" in out.stdout and f"not sent to {TO[2]}" in out.stdout
    assert "Sendo rejected the API key as invalid (403" in out.stderr


def test_poll_exits_4_when_every_key_is_rejected(env, world, tmp_path) -> None:
    """Nothing can be polled: say so once and exit, instead of retrying unseen forever."""
    m = world.add_message(Provider.SENDO, created=-5)
    n = world.add_message(Provider.SENTDM, created=-5)
    store = SQLiteStore(Path(env["SENDWATCH_DATA_DIR"]) / "history.sqlite3")
    store.track([MessageRef(m.id, Provider.SENDO), MessageRef(n.id, Provider.SENTDM)])
    store.close()
    env = dict(env, SENT_DM_API_KEY="revoked-sentdm-key-000", SENDO_API_KEY="revoked-sendo-key-000")
    out = run(["poll"], env)
    assert out.returncode == 4, out.stderr
    assert "every configured provider rejected its API key" in out.stderr
    assert "Traceback" not in out.stderr and "revoked-s" not in out.stderr
