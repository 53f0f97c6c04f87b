"""`sendwatch watch` reads what it is given within bounds (issue #15): /dev/zero or an endless pipe
ends with a clear line, never a process that eats memory until it dies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_watch_dev_zero_ends_with_one_line(env) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui", "watch", "/dev/zero", "--no-ui"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "no valid message IDs" in result.stderr


def test_watch_from_a_pipe_keeps_the_valid_ids_of_a_long_input(env) -> None:
    good = "8ba7b830-9dad-11d1-80b4-00c04fd430c8\n"
    junk = "x" * 200_000 + "\n"  # one absurd line among valid ones
    result = subprocess.run(
        [sys.executable, "-m", "tui", "watch", "-", "--no-ui", "--campaign", "piped"],
        input=junk + good + junk,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "1 new in campaign 'piped'" in result.stderr  # the valid line after the junk is kept
