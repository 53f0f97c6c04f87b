"""A failure is never silent and never fatal: worker errors, the crash log, a vanished terminal,
and IDs typed while the providers are unreachable. Real simulator over HTTP, real SQLite files."""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from textual.widgets import Input
from textual.worker import WorkerState

from tests.test_app import detail_text, make_app, quick, toasts, wait_for
from tui.app.crash import log_file, scrub, secret_values, write_report
from tui.app.widgets.message_list import MessageList
from tui.ids import MessageRef
from tui.model import Provider
from tui.store import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent


# -- worker failures -------------------------------------------------------------------------
async def test_a_lookup_that_raises_is_told_and_cleared(settings, world, monkeypatch) -> None:
    """An unexpected exception in a lookup: a toast says so, "Looking up…" goes, the log has it."""
    from tui.providers.lookup import Providers

    async def broken(self, ref, *, retries=None):
        raise RuntimeError("simulated [bold]bug[/] in fetch")

    monkeypatch.setattr(Providers, "locate", broken)  # what a lookup asks (it names the owner)
    m = world.add_message(Provider.SENDO, created=-5)
    app = make_app(settings, start_poller=False)
    async with app.run_test(size=(140, 30), notifications=True) as pilot:
        await pilot.press("slash")
        app.query_one("#find", Input).value = m.id
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any(
                "Lookup failed: RuntimeError: simulated [bold]bug[/] in fetch" in t
                for t in toasts(app)
            ),
        )
        assert "Looking up" not in detail_text(app)
        assert "Lookup failed" in detail_text(app)
        assert app.is_running
    report = log_file().read_text()
    assert "Traceback" in report and "RuntimeError: simulated [bold]bug[/] in fetch" in report
    assert "background task 'lookup'" in report


async def test_a_poll_loop_that_raises_is_told_and_restarted(settings, world, monkeypatch) -> None:
    """A poll loop dies on an unexpected error: the user is told, the log has it, polling starts again."""
    m = world.add_message(Provider.SENDO, [(0, "created"), (1, "delivered")], created=-5)
    app = make_app(quick(settings))
    app.store.track([MessageRef(m.id, Provider.SENDO)])
    real_due, calls = app.store.due, []

    def due_failing_once(*args, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk hiccup")
        return real_due(*args, **kw)

    monkeypatch.setattr(app.store, "due", due_failing_once)
    async with app.run_test(size=(140, 30), notifications=True) as pilot:
        await wait_for(
            pilot,
            lambda: any(
                t.startswith("Polling (")
                and "failed: RuntimeError: disk hiccup" in t
                and "restarts by itself" in t
                for t in toasts(app)
            ),
        )
        await wait_for(pilot, lambda: app.store.get(m.id) is not None, timeout=10)
        assert app.is_running
        assert any(w.group == "poller" and w.state is WorkerState.RUNNING for w in app.workers)
    assert "RuntimeError: disk hiccup" in log_file().read_text()


# -- crash log -------------------------------------------------------------------------------
def test_crash_report_has_the_traceback_and_no_secret(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SENDO_API_KEY", "sendo-live-key-1234567890")
    monkeypatch.setenv("SENT_DM_WEBHOOK_SECRET", "whsec_abcdefghijklmnop")
    try:
        raise ValueError(
            "request failed with sendo-live-key-1234567890 and x-api-key: other-key-xyz "
            "whsec_abcdefghijklmnop"
        )
    except ValueError as exc:
        path = write_report(exc, "a test", path=tmp_path / "sendwatch.log")
    assert path is not None and oct(path.stat().st_mode & 0o777) == "0o600"
    text = path.read_text()
    assert "Traceback" in text and "ValueError" in text and "sendwatch 0." in text
    for secret in ("sendo-live-key-1234567890", "other-key-xyz", "whsec_abcdefghijklmnop"):
        assert secret not in text
    assert scrub("key=abc", secret_values(environ={})) == "key=abc"


def test_crash_log_is_bounded(tmp_path, monkeypatch) -> None:
    from tui.app import crash

    monkeypatch.setattr(crash, "MAX_BYTES", 2000)
    log = tmp_path / "sendwatch.log"
    for i in range(40):
        try:
            raise RuntimeError(f"crash {i}")
        except RuntimeError as exc:
            write_report(exc, "a test", path=log)
    assert log.stat().st_size < 4000 and log.with_name("sendwatch.log.1").exists()
    assert "crash 39" in log.read_text()


async def test_an_unhandled_error_is_logged_and_ends_the_app_non_zero(settings, capsys) -> None:
    from tui.config import Secret

    key = "sentdm-secret-key-abcdef123456"
    settings = settings.with_provider(Provider.SENTDM, api_key=Secret(key))
    app = make_app(settings, start_poller=False)

    def boom() -> None:
        raise RuntimeError(f"handler bug near {key}")

    with pytest.raises(RuntimeError):
        async with app.run_test(size=(100, 30)) as pilot:
            app.call_later(boom)
            await pilot.pause(0.2)
    assert app.return_code == 1
    text = log_file().read_text()
    assert "RuntimeError: handler bug near [redacted]" in text and key not in text
    shown = capsys.readouterr().err.strip()
    assert shown.endswith(str(log_file())) and "\n" not in shown and key not in shown


# -- the terminal goes away ------------------------------------------------------------------
class Pty:
    """A child process on a pseudo-terminal; its output is drained so it never blocks writing."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        self.proc = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=ROOT,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def wait_for_output(self, needle: bytes, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and needle not in self.output:
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        assert needle in self.output, bytes(self.output[-2000:])

    def drained(self, timeout: float) -> None:
        """Wait until the reader met the end of the child's output (it exited and closed it)."""
        self._reader.join(timeout=timeout)
        assert not self._reader.is_alive()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass


def _env_with_history(env: dict[str, str], world) -> tuple[dict[str, str], Path, str]:
    m = world.add_message(Provider.SENDO, [(0, "created"), (1, "delivered")], created=-5)
    history = Path(env["SENDWATCH_DATA_DIR"]) / "history.sqlite3"
    store = SQLiteStore(history)
    store.track([MessageRef(m.id, Provider.SENDO)])
    store.close()
    env = dict(env, TERM="xterm-256color", COLUMNS="120", LINES="30")
    return env, history, m.id


@pytest.mark.parametrize(
    "hang_up_first,signal_it",
    [(False, True), (True, True), (True, False)],
    ids=["sighup", "pty-closed-then-sighup", "pty-closed-no-signal"],
)
def test_sighup_exits_quickly_with_history_intact(env, world, hang_up_first, signal_it) -> None:
    """SSH dropped: SIGHUP (or, without a signal, the periodic terminal check) ends the app in
    a few seconds with exit status 129, and the history is closed cleanly."""
    env, history, message_id = _env_with_history(env, world)
    child = Pty([sys.executable, "-m", "tui"], env)
    try:
        child.wait_for_output(b"delivered")  # drawn, and the first poll's answer is stored
        if hang_up_first:
            os.close(child.master)  # what sshd does when the connection drops
        started = time.monotonic()
        if signal_it:
            child.proc.send_signal(signal.SIGHUP)
        code = child.proc.wait(timeout=6)
        assert time.monotonic() - started < 5
        assert code == 128 + signal.SIGHUP
    finally:
        child.close()
    assert (
        not Path(f"{history}-wal").exists() or Path(f"{history}-wal").stat().st_size == 0
    )  # closed cleanly
    store = SQLiteStore(history)
    try:
        assert store.row(message_id) is not None
    finally:
        store.close()


def test_a_crash_exits_non_zero_with_one_line_naming_the_log(env, world) -> None:
    """The whole app crashing: exit status 1, one line naming the log, no traceback, no key."""
    env, _, _ = _env_with_history(env, world)
    script = (
        "import os, tui.app.screens.dashboard as d\n"
        "def boom(self):\n"
        "    raise RuntimeError('startup bug ' + os.environ['SENDO_API_KEY'])\n"
        "d.DashboardScreen._go_live = boom\n"
        "from tui.cli import main\n"
        "raise SystemExit(main([]))\n"
    )
    child = Pty([sys.executable, "-c", script], env)
    try:
        code = child.proc.wait(timeout=20)
        child.drained(timeout=10)  # everything it wrote has been read
    finally:
        child.close()
    out = bytes(child.output).decode("utf-8", "replace")
    log = Path(env["SENDWATCH_DATA_DIR"]) / "sendwatch.log"
    assert code == 1
    assert str(log) in out.replace("\r\n", "").replace("\n", "") and "Traceback" not in out
    assert env["SENDO_API_KEY"] not in out
    text = log.read_text()
    assert (
        "Traceback" in text
        and "startup bug [redacted]" in text
        and env["SENDO_API_KEY"] not in text
    )


# -- nothing typed is lost -------------------------------------------------------------------
async def test_an_id_typed_while_offline_is_kept_and_resolved_later(settings, world, sim) -> None:
    m = world.add_message(
        Provider.SENTDM, [(0, "queued"), (1, "failed")], error=("30007", "filtered"), created=-5
    )
    sim.set_fault(Provider.SENTDM, "down")
    sim.set_fault(Provider.SENDO, "down")
    app = make_app(quick(settings))
    async with app.run_test(size=(140, 30), notifications=True) as pilot:
        listed = app.query_one(MessageList)
        await pilot.press("slash")
        app.query_one("#find", Input).value = m.id
        await pilot.press("enter")
        await wait_for(pilot, lambda: listed.selected_id == m.id)
        assert app.store.provider_of(m.id) is None and app.store.get(m.id) is None
        await wait_for(pilot, lambda: "waiting for the first answer" in detail_text(app))
        await wait_for(pilot, lambda: any("stays in the list" in t for t in toasts(app)))
        sim.set_fault(Provider.SENTDM, None)
        sim.set_fault(Provider.SENDO, None)
        await wait_for(pilot, lambda: app.store.get(m.id) is not None, timeout=15)
        assert app.store.provider_of(m.id) is Provider.SENTDM
        await wait_for(pilot, lambda: "30007" in detail_text(app))


def test_crash_report_hides_a_database_password(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SENDWATCH_DATA_DIR", str(tmp_path))
    url = "postgresql://team:pg-Pa55word-xyz@db.internal:5432/sendwatch"
    monkeypatch.setenv("SENDWATCH_DATABASE_URL", url)
    try:
        raise RuntimeError(f"could not connect with password pg-Pa55word-xyz to {url}")
    except RuntimeError as exc:
        path = write_report(exc, "test", None)
    text = Path(path).read_text()
    assert "pg-Pa55word-xyz" not in text and "could not connect" in text


def test_kill_9_during_heavy_polling_loses_nothing_written(env, world) -> None:
    """SIGKILL in the middle of polling: every answer that was committed is still there, the file opens clean."""
    import sqlite3

    from tests.test_poller import live
    from tui.ids import MessageRef
    from tui.model import Provider

    live(world)
    msgs = [
        world.add_message(Provider.SENDO, [(0, "CREATED"), (0.5, "SENT")], created=-2)
        for _ in range(400)
    ]
    history = Path(env["SENDWATCH_DATA_DIR"]) / "history.sqlite3"
    store = SQLiteStore(history)
    store.track([MessageRef(m.id, Provider.SENDO) for m in msgs])
    store.close()
    child = subprocess.Popen(
        [sys.executable, "-m", "tui", "poll"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent,
    )
    answered_before = 0
    try:
        deadline = time.monotonic() + 30
        while answered_before < 60 and time.monotonic() < deadline:  # polling is well under way
            time.sleep(0.2)
            with sqlite3.connect(f"file:{history}?mode=ro", uri=True, timeout=30) as reader:
                answered_before = reader.execute(
                    "SELECT count(*) FROM messages WHERE last_polled IS NOT NULL"
                ).fetchone()[0]
        assert answered_before >= 60
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    after = SQLiteStore(history)
    try:
        assert not after.warnings  # opened clean: nothing moved aside
        answered_after = after._read("SELECT count(*) FROM messages WHERE last_polled IS NOT NULL")[
            0
        ][0]
        assert answered_after >= answered_before and after.count() == 400
        assert after._read("PRAGMA integrity_check")[0][0] == "ok"
    finally:
        after.close()
