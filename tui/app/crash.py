"""The crash log: every unexpected exception leaves a report a user can send, without secrets.

Reports (time, version, where, traceback) are appended to `<data dir>/sendwatch.log` (mode 0600),
which is rotated once it passes `MAX_BYTES` (one previous file kept), so it never grows without
bound. Secrets are scrubbed from the text before it is written: every `Secret` in the settings and
the values of the environment variables that hold keys or webhook secrets. Tracebacks are written
without local variables, so the settings object itself never ends up in the log.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

from tui import __version__, paths
from tui.observe.scrub import scrub as scrub  # one scrubber for logs, crash reports, toasts
from tui.observe.scrub import secret_values as secret_values

LOG_NAME = "sendwatch.log"
MAX_BYTES = 512 * 1024


def log_file() -> Path:
    """Where crash reports go: next to the history, in the data directory."""
    return paths.data_dir() / LOG_NAME


def error_line(error: BaseException, settings: object | None = None) -> str:
    """`Type: message` of an error, with every known secret scrubbed (toasts, the terminal's one line)."""
    return scrub(f"{type(error).__name__}: {error}", secret_values(settings))


def format_report(error: BaseException, where: str, now: float | None = None) -> str:
    stamp = time.strftime(
        "%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() if now is None else now)
    )
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return (
        f"=== {stamp} sendwatch {__version__} (Python {sys.version.split()[0]}) — {where}\n"
        f"{trace.rstrip()}\n\n"
    )


def _rotate(path: Path) -> None:
    try:
        if path.stat().st_size > MAX_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
    except OSError:
        pass


def write_report(
    error: BaseException, where: str, settings: object | None = None, path: Path | None = None
) -> Path | None:
    """Append a scrubbed report of `error`; returns the log's path, or None when it cannot be written
    (a crash report must never cause a second failure)."""
    path = log_file() if path is None else path
    try:
        text = scrub(format_report(error, where), secret_values(settings))
        path.parent.mkdir(parents=True, exist_ok=True)
        _rotate(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8", errors="replace") as out:
            out.write(text)
    except Exception:  # noqa: BLE001 - see the docstring
        return None
    return path


def crash_line(error: BaseException, settings: object | None, path: Path | None) -> str:
    """The one line the terminal gets when the app stops on an unexpected error: what it was
    (secrets scrubbed, never a traceback with local variables) and where the report is."""
    from tui.textsafe import safe_text

    summary = safe_text(error_line(error, settings), single_line=True, limit=160)
    where = f"report written to {path}" if path else "the report could not be written"
    return f"sendwatch stopped after an unexpected error ({summary}); {where}"
