"""Terminal benchmark: bytes written to a real pseudo-terminal per second, and start-up time.

Over SSH every byte drawn is latency, so an app that sits still should write (almost) nothing.
Each program runs in a pty of 120x40 with TERM=xterm-256color; after start-up settles we count
what it writes over a window. A bare Textual app is measured in the same run as the floor.

Run: .venv/bin/python -m benchmarks.bench_terminal [--quick]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.seed import seed

ROOT = Path(__file__).resolve().parent.parent
COLS, ROWS = 120, 40

BARE_APP = """
from textual.app import App
from textual.widgets import DataTable

class Bare(App):
    def compose(self):
        yield DataTable()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("status", "provider", "to", "id", "polled")
        table.add_rows([("delivered", "Sent.dm", f"+1415555{i:04d}", f"{i:08x}", "5s") for i in range(100)])

Bare().run()
"""


@dataclass
class Rate:
    """What one program wrote: during start-up and per second over the measured window."""

    startup_bytes: int
    window_bytes: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.window_bytes / self.seconds if self.seconds else 0.0


def _set_size(fd: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))


def measure_pty(argv: list[str], env: dict[str, str], settle: float, window: float) -> Rate:
    """Run `argv` on a fresh pty; count bytes written in [settle, settle + window) seconds."""
    master, slave = os.openpty()
    _set_size(slave)
    full_env = {
        **os.environ,
        **env,
        "TERM": "xterm-256color",
        "COLUMNS": str(COLS),
        "LINES": str(ROWS),
    }
    for name in ("TEXTUAL", "NO_COLOR", "TEXTUAL_DRIVER"):
        full_env.pop(name, None)

    def make_controlling() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=full_env,
        cwd=ROOT,
        preexec_fn=make_controlling,
        close_fds=True,
    )
    os.close(slave)
    started = time.monotonic()
    startup = counted = 0
    tail = b""
    try:
        while True:
            now = time.monotonic() - started
            if now >= settle + window:
                break
            ready, _, _ = select.select([master], [], [], min(0.1, settle + window - now))
            if not ready:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{argv} exited early with {proc.returncode}: {tail[-1500:]!r}"
                    )
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                raise RuntimeError(f"{argv} closed its terminal early: {tail[-1500:]!r}") from None
            tail = (tail + data)[-4000:]
            if time.monotonic() - started < settle:
                startup += len(data)
            else:
                counted += len(data)
    finally:
        proc.send_signal(signal.SIGTERM)
        _drain_until_exit(master, proc)
        os.close(master)
    return Rate(startup, counted, window)


def _drain_until_exit(master: int, proc: subprocess.Popen[bytes]) -> None:
    """Keep reading so an exiting app never blocks on a full pty buffer; kill it if it lingers."""
    deadline = time.monotonic() + 5
    while proc.poll() is None and time.monotonic() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            try:
                os.read(master, 65536)
            except OSError:
                break
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def settled_env(tmp: Path, port: int) -> dict[str, str]:
    """A data dir with 1,000 final messages last polled 1-60 min ago (their ages tick by the minute);
    providers at a simulator that knows none of them (nothing is due, so nothing is asked)."""
    from tui.simulator import SENDO_KEY, SENTDM_KEY

    data = tmp / "settled"
    data.mkdir()
    seed(data / "history.sqlite3", 1_000, pending_share=0.0, polled_ago=(60.0, 3600.0))
    url = f"http://127.0.0.1:{port}"
    return {
        "SENDWATCH_DATA_DIR": str(data),
        "SENDWATCH_CONFIG": str(tmp / "none.toml"),
        "SENT_DM_API_KEY": SENTDM_KEY,
        "SENDO_API_KEY": SENDO_KEY,
        "SENDWATCH_SENTDM_URL": url,
        "SENDWATCH_SENDO_URL": url,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--quick", action="store_true", help="shorter windows and fewer start-up runs"
    )
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up comparison")
    args = parser.parse_args()
    settle, window = (3.0, 5.0) if args.quick else (3.0, 10.0)
    tmp = Path(tempfile.mkdtemp(prefix="sendwatch-term-"))
    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "tui", "simulate", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        env = settled_env(tmp, port)
        time.sleep(0.5)
        sendwatch = [sys.executable, "-m", "tui"]
        rates = {
            "bare Textual app (DataTable, 100 rows)": measure_pty(
                [sys.executable, "-c", BARE_APP], {}, settle, window
            ),
            "sendwatch idle, 1,000 settled messages": measure_pty(sendwatch, env, settle, window),
            "sendwatch --demo (live campaign)": measure_pty(
                [*sendwatch, "--demo"], {"SENDWATCH_CONFIG": str(tmp / "none.toml")}, settle, window
            ),
        }
    finally:
        sim.terminate()
        sim.wait()
    targets = {
        "sendwatch idle, 1,000 settled messages": "<= 300",
        "sendwatch --demo (live campaign)": "<= 6000",
    }
    print(
        f"Bytes written to a {COLS}x{ROWS} pty (xterm-256color): first {settle:.0f} s skipped, then {window:.0f} s measured"
    )
    print(f"{'program':<42}{'start-up B':>11}{'B/s':>10}{'target':>10}")
    for name, rate in rates.items():
        print(
            f"{name:<42}{rate.startup_bytes:>11}{rate.per_second:>10.0f}{targets.get(name, ''):>10}"
        )
    if args.no_startup:
        return
    from benchmarks.bench_ui import startup_medians

    runs = 3 if args.quick else 9
    small = tmp / "1k.sqlite3"
    seed(small, 1_000)
    medians = startup_medians({"base": ["datatable"], "1k": ["sendwatch", str(small)]}, runs)
    print(f"\nStart-up: process start to first frame (median of {runs} interleaved runs, headless)")
    print(f"{'app':<42}{'seconds':>9}{'ratio':>8}{'target':>9}")
    print(f"{'bare Textual app, DataTable of 100 rows':<42}{medians['base']:>9.3f}{1:>8.2f}{'':>9}")
    print(
        f"{'sendwatch, 1,000 cached messages':<42}{medians['1k']:>9.3f}{medians['1k'] / medians['base']:>8.2f}{'<= 1.3':>9}"
    )


if __name__ == "__main__":
    main()
