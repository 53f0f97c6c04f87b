"""`sendwatch` as scripts use it: a real subprocess against the simulator."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tui.model import Provider
from tui.simulator import SENDO_KEY, SENTDM_KEY


def run(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=60,
    )


def test_version_and_help() -> None:
    out = run(["--version"], {})
    assert out.returncode == 0 and out.stdout.startswith("sendwatch ")
    helped = run(["--help"], {})
    assert helped.returncode == 0 and "exit codes" in helped.stdout and "get ID" in helped.stdout


def test_get_json_and_exit_codes(env, world, tmp_path: Path) -> None:
    m = world.add_message(
        Provider.SENDO, [(0, "created"), (1, "sent"), (3, "delivered")], created=-10
    )
    ok = run(["get", m.id, "--json"], env)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    for key in (
        "id",
        "provider",
        "status",
        "provider_status",
        "to",
        "from",
        "body",
        "channel",
        "created_at",
        "updated_at",
        "events",
        "error",
        "fetched_at",
    ):
        assert key in data
    assert data["provider"] == "sendo" and data["status"] == "delivered"
    human = run(["get", f"sendo:{m.id}"], env)
    assert human.returncode == 0 and "delivered" in human.stdout and m.to in human.stdout
    assert (tmp_path / "data" / "history.sqlite3").exists()

    assert run(["get", "00000000-0000-4000-8000-000000000000"], env).returncode == 3
    bad = run(["get", "not-an-id"], env)
    assert (
        bad.returncode == 2 and "not a message ID" in bad.stderr and "Traceback" not in bad.stderr
    )
    assert run(["get", m.id, "--provider", "sentdm"], env).returncode == 3
    assert run(["get"], env).returncode == 2  # usage

    denied = run(
        ["get", m.id],
        {**env, "SENDO_API_KEY": "wrong-key-abcdefgh", "SENT_DM_API_KEY": "wrong-key-abcdefgh"},
    )
    assert (
        denied.returncode == 4
        and "SENDO_API_KEY" in denied.stderr
        and "wrong-key" not in denied.stderr
    )


def test_network_failure_exit_code(env) -> None:
    dead = {
        **env,
        "SENDWATCH_SENTDM_URL": "http://127.0.0.1:9",
        "SENDWATCH_SENDO_URL": "http://127.0.0.1:9",
    }
    out = run(["get", "00000000-0000-4000-8000-000000000000"], dead)
    assert out.returncode == 5 and "cannot reach" in out.stderr and "Traceback" not in out.stderr


def test_no_provider_configured(tmp_path: Path) -> None:
    out = run(
        ["get", "00000000-0000-4000-8000-000000000000"],
        {"SENDWATCH_CONFIG": str(tmp_path / "x.toml"), "SENDWATCH_DATA_DIR": str(tmp_path)},
    )
    assert out.returncode == 2 and "SENT_DM_API_KEY" in out.stderr and "--demo" in out.stderr


def test_bad_config_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[providers.sendo\n")
    out = run(
        ["--config", str(path), "get", "00000000-0000-4000-8000-000000000000"],
        {"SENDWATCH_DATA_DIR": str(tmp_path)},
    )
    assert out.returncode == 2 and str(path) in out.stderr and "Traceback" not in out.stderr


def test_secrets_never_leak(env, world, sim, tmp_path: Path) -> None:
    """The keys appear nowhere: output, errors, the history file, reprs."""
    from tests.conftest import fast
    from tui.config import load
    from tui.services.demo import demo_settings

    m = world.add_message(
        Provider.SENTDM, [(0, "queued"), (2, "failed")], error=("30003", "x"), created=-5
    )
    outputs = [
        run(["get", m.id, "--json", "--raw"], env),
        run(["get", m.id], env),
        run(["config", "check"], env),
    ]
    sim.set_fault(Provider.SENDO, "down")
    outputs.append(run(["get", "sendo:" + m.id], env))
    blob = "".join(o.stdout + o.stderr for o in outputs)
    for data_file in (tmp_path / "data").glob("*"):
        blob += data_file.read_bytes().decode("latin-1")
    settings = fast(
        demo_settings(sim, tmp_path / "h.sqlite3", load(tmp_path / "none.toml", env={}))
    )
    blob += repr(settings) + str(settings) + f"{settings.sentdm.api_key}"
    for key in (SENTDM_KEY, SENDO_KEY):
        assert key not in blob
        assert key[5:25] not in blob


# -- global options, bounded waiting, plain output, failure reasons -------------------------------


def test_global_options_before_or_after_the_command(tmp_path: Path) -> None:
    from tui.cli import build_parser

    parser = build_parser()
    for argv in (["--config", "a.toml", "get", "x"], ["get", "x", "--config", "a.toml"]):
        args = parser.parse_args(argv)
        assert args.config == Path("a.toml") and args.command == "get" and args.timeout == 15.0
    assert parser.parse_args(["get", "x"]).config is None
    assert parser.parse_args(["--config", "a.toml", "export", "--config", "b.toml"]).config == Path(
        "b.toml"
    )
    assert parser.parse_args(["--demo"]).demo and not parser.parse_args(["config", "path"]).demo

    bad = tmp_path / "bad.toml"
    bad.write_text("[providers.sendo\n")
    env = {"SENDWATCH_DATA_DIR": str(tmp_path), "SENDWATCH_CONFIG": str(tmp_path / "none.toml")}
    after = run(["get", "00000000-0000-4000-8000-000000000000", "--config", str(bad)], env)
    assert after.returncode == 2 and str(bad) in after.stderr and "unrecognized" not in after.stderr
    assert run(["config", "path", "--config", str(bad)], env).stdout.strip() == str(bad)
    assert run(["--config", str(bad), "config", "path"], env).stdout.strip() == str(bad)
    version = run(["get", "x", "--version"], env)
    assert version.returncode == 0 and version.stdout.startswith("sendwatch ")
    demo = run(["get", "00000000-0000-4000-8000-000000000000", "--demo"], env)
    assert demo.returncode == 2 and "--demo" in demo.stderr and "Traceback" not in demo.stderr
    assert run(["get", "x", "--timeout", "0"], env).returncode == 2


def test_get_gives_up_at_the_deadline_and_says_what_it_waits_for(env, sim) -> None:
    """Sent.dm accepts the connection and never answers: `get` talks after a second and stops at --timeout."""
    sim.config.hang_seconds = 6.0
    sim.set_fault(Provider.SENTDM, "hang")
    started = time.monotonic()
    out = run(["get", "00000000-0000-4000-8000-0000000000bb", "--timeout", "1.5"], env)
    elapsed = time.monotonic() - started
    assert out.returncode == 5, out.stderr
    assert elapsed < 1.5 + 2
    assert "waiting for Sent.dm…" in out.stderr and "giving up after 1.5 s" in out.stderr
    assert (
        "gave up after 1.5 s: Sent.dm has not answered yet" in out.stderr
        and "--timeout" in out.stderr
    )
    assert "Sendo" not in out.stderr.split("gave up")[1]  # Sendo answered (404) at once
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_get_reports_retries_and_retry_after(env, sim, world, tmp_path: Path) -> None:
    m = world.add_message(Provider.SENTDM, [(0, "queued"), (1, "delivered")], created=-5)
    slow = tmp_path / "slow.toml"
    slow.write_text("[network]\nmax_retries = 2\nbackoff_base = 0.8\nbackoff_max = 2.0\n")
    sim.config.fail_next[Provider.SENTDM] = 2
    out = run(["get", f"sentdm:{m.id}", "--config", str(slow)], env)
    assert out.returncode == 0, out.stderr
    assert "retry 2 of 2" in out.stderr and "HTTP 500" in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("sendwatch:")]
    assert 1 <= len(lines) <= 4  # at most one line per second or per event

    # A 429 with Retry-After: said at once, however early, because the wait is long. The bucket
    # holds no token at all (burst 0: Retry-After 2 s) until sendwatch has been refused once, so
    # nothing depends on how fast the child process starts (on a fresh clone, with no bytecode
    # cached, it started after the old one-token bucket had refilled, and no 429 ever came).
    sim.set_rate_limit(Provider.SENTDM, 30, 0)
    child = subprocess.Popen(
        [sys.executable, "-m", "tui", "get", f"sentdm:{m.id}", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        refused = wait_until(
            lambda: any(r.status == 429 for r in sim.requests_for(m.id)) or child.poll() is not None
        )
        sim.set_rate_limit(Provider.SENTDM, 200, 50)
        stdout, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert refused and child.returncode == 0, stderr
    assert "Sent.dm asked us to wait 2 s" in stderr and "(Retry-After)" in stderr
    assert json.loads(stdout)["status"] == "delivered"


def wait_until(condition, bound: float = 60.0) -> bool:
    """Poll `condition` every 20 ms for up to `bound` seconds (a condition, never a clock)."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


HOSTILE = "Hi \x1b[31mred\x1b[0m \x1b]52;c;aGk=\x07 \u202eevil"


def _no_escapes(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text and "\x9b" not in text


def test_output_is_plain_text(env, world, tmp_path: Path) -> None:
    """NO_COLOR or a pipe: no escape codes at all, from any command, whatever the provider sent."""
    m = world.add_message(
        Provider.SENTDM,
        [(0, "queued"), (1, "failed")],
        body=HOSTILE,
        error=("DELIVERY_003", "Carrier \x1b[2Jsaid no"),
        created=-5,
    )
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{m.id}\nbogus \x1b[31mline\n")
    plain = {**env, "NO_COLOR": "1"}
    outputs = [
        run(["get", m.id], plain),
        run(["get", m.id, "--json", "--raw"], plain),
        run(["--help"], plain),
        run(["watch", str(ids), "--no-ui", "--campaign", "c"], plain),
        run(["export"], plain),
        run(["export", "--format", "json"], plain),
        run(["config", "check"], plain),
        run(["get", "--help"], plain),
    ]
    for out in outputs:
        assert out.returncode == 0, out.stderr
        _no_escapes(out.stdout + out.stderr)
    human = outputs[0].stdout
    assert "\\x1b[31mred" in human and "\\u202e" in human  # shown, as characters
    assert (
        json.loads(outputs[1].stdout)["body"] == HOSTILE
    )  # JSON keeps the data (escaped by JSON itself)
    assert "Carrier \\x1b[2Jsaid no" in outputs[4].stdout  # CSV cells are neutralized too


def test_get_on_a_terminal_writes_no_escape_codes(env, world) -> None:
    """Even on a TTY without NO_COLOR the CLI writes plain text (colour is the dashboard's)."""
    import os
    import pty

    m = world.add_message(
        Provider.SENDO,
        [(0, "created"), (1, "failed")],
        body=HOSTILE,
        error=(1005, "No consent"),
        created=-5,
    )
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tui", "get", m.id],
            stdout=slave,
            stderr=subprocess.PIPE,
            env={k: v for k, v in env.items() if k != "NO_COLOR"},
            timeout=60,
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    text = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0 and "failed" in text
    _no_escapes(text + proc.stderr.decode())


def test_get_shows_failure_reason_advice_and_activity_log(env, sim, world) -> None:
    m = world.add_message(
        Provider.SENTDM,
        [(0, "queued"), (1, "sent"), (2, "failed")],
        error=("BUSINESS_003", "Insufficient balance"),
        created=-5,
    )
    out = run(["get", m.id], env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "✗ failed" in lines[0]
    assert "Error      BUSINESS_003: Insufficient balance" in out.stdout
    assert "What to do Insufficient balance: top up the account" in out.stdout
    failed_event = next(
        line for line in lines if line.strip().split()[2:3] == ["failed"] and "[" in line
    )
    assert "[BUSINESS_003: Insufficient balance]" in failed_event
    assert (
        sum(1 for r in sim.requests_for(m.id) if r.provider is Provider.SENTDM) >= 2
    )  # the message and its log
    data = json.loads(run(["get", m.id, "--json"], env).stdout)
    assert (
        data["error"]["code"] == "BUSINESS_003"
        and data["error"]["message"] == "Insufficient balance"
    )
    assert not any(
        r.provider is Provider.SENDO for r in sim.requests_for(m.id)[-2:]
    )  # the refresh asked the owner only

    b = world.add_message(
        Provider.SENDO,
        [(0, "created"), (1, "sent"), (2, "failed")],
        error=(1360, "Landline"),
        created=-5,
    )
    sendo = run(["get", b.id], env)
    assert "Error      1360: Landline" in sendo.stdout and "What to do Landline" in sendo.stdout
    blocked = world.add_message(
        Provider.SENTDM,
        [(0, "queued"), (1, "blocked")],
        error=("BUSINESS_029", "Sender not active"),
        created=-5,
    )
    assert "✗ blocked" in run(["get", blocked.id], env).stdout.splitlines()[0]


def test_progress_is_silent_for_a_second_then_rate_limited() -> None:
    import io
    from types import SimpleNamespace

    from tui.commands.get import StderrProgress
    from tui.providers.waiting import WaitInfo

    now = [0.0]
    buf = io.StringIO()
    progress = StderrProgress(buf, 15, clock=lambda: now[0])
    progress.service = SimpleNamespace(waiting_for="Sent.dm", waiting_providers={Provider.SENTDM})  # type: ignore[assignment]
    now[0] = 0.3
    progress.on_wait(
        WaitInfo(Provider.SENTDM, "backoff", 0.2, 1, 3, "HTTP 503")
    )  # short and early: not worth a line
    assert buf.getvalue() == ""
    for step in range(60):  # 12 s of ticks, 5 a second
        now[0] = step * 0.2
        progress.tick()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].startswith(
        "sendwatch: waiting for Sent.dm… 1 s so far, retry 1 of 3 after HTTP 503"
    )
    progress.on_wait(WaitInfo(Provider.SENDO, "retry_after", 12, 1, 3, "Retry-After"))
    assert buf.getvalue().splitlines()[-1] == "sendwatch: Sendo asked us to wait 12 s (Retry-After)"
