"""Logs for `listen` and `poll`: plain text, or one JSON object per line (`--log-format json`).

Built on the standard library's logging with python-json-logger's formatter (rather than structlog):
uvicorn, httpx and our own modules already log through `logging`, so one handler on the root logger
makes every line — ours, the server's, the HTTP client's, the banners — take the same shape, with no
second logging pipeline to bridge. Each JSON line has `ts` (ISO 8601 UTC), `level`, `event` (a short
stable name), `logger`, `message` and the event's own fields. Every string in a line is scrubbed of
the known secret values first, and a text line never carries a control sequence.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, TextIO

from pythonjsonlogger.json import JsonFormatter

from tui.observe.scrub import scrub
from tui.textsafe import safe_text

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")
FORMAT_ENV = "SENDWATCH_LOG_FORMAT"
#: `event` of a record that did not come through `log_event` (uvicorn's, httpx's, a plain log call)
DEFAULT_EVENT = "log"
_EVENT_ATTR = "sendwatch_event"
_FIELDS_ATTR = "sendwatch_fields"
_CORE_KEYS = ("ts", "level", "event", "logger", "message")
_DROPPED_EXTRAS = frozenset({"color_message", "taskName", _EVENT_ATTR, _FIELDS_ATTR})
#: third-party loggers that must speak our format, and the least level worth a line from each
_FOREIGN_LEVELS = {
    "uvicorn": logging.WARNING,
    "uvicorn.error": logging.WARNING,
    "uvicorn.access": logging.WARNING,  # the receiver turns access logs off; never a line per hit
    "httpx": logging.WARNING,  # INFO would be one line per request, each with a message ID
    "httpcore": logging.WARNING,
    "asyncio": logging.WARNING,
    "py.warnings": logging.WARNING,
}
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def resolve_format(flag: str | None, environ: Mapping[str, str] | None = None) -> LogFormat:
    """The `--log-format` flag, else `SENDWATCH_LOG_FORMAT`, else text. ValueError names the choices."""
    environ = os.environ if environ is None else environ
    raw = flag if flag is not None else environ.get(FORMAT_ENV, "")
    value = raw.strip().lower() or "text"
    for known in FORMATS:
        if value == known:
            return known
    source = "--log-format" if flag is not None else FORMAT_ENV
    raise ValueError(
        f"{source}: expected text or json, got {safe_text(raw[:40], single_line=True)!r}"
    )


def _scrub_value(value: Any, secrets: Iterable[str]) -> Any:
    """Every string inside `value` (dicts, lists, tuples too) with the secrets removed."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, Mapping):
        return {str(k): _scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub_value(v, secrets) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN/Infinity are not JSON: a reader would reject the whole line
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value), secrets)  # anything else as its text: never its repr's secrets


class JsonLineFormatter(JsonFormatter):
    """One JSON object per record: ts, level, event, logger, message, then the event's fields."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(json_ensure_ascii=False)
        self.secrets = list(secrets)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["ts"] = (
            datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        log_data["level"] = record.levelname.lower()
        log_data["event"] = getattr(record, _EVENT_ATTR, None) or DEFAULT_EVENT
        log_data["logger"] = record.name
        log_data["message"] = record.message
        extras: dict[str, Any] = {}
        super().add_fields(extras, record, message_dict)  # foreign `extra=` keys, exc_info
        extras.pop("message", None)  # the library's copy of the one set above
        extras.update(getattr(record, _FIELDS_ATTR, None) or {})
        for key, value in extras.items():
            if key in _DROPPED_EXTRAS:
                continue
            # a field named like a core key keeps its value under another name: nothing lost
            log_data[f"{key}_" if key in _CORE_KEYS else key] = value

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        scrubbed: dict[str, Any] = _scrub_value(log_data, self.secrets)
        return scrubbed


class TextLineFormatter(logging.Formatter):
    """`time LEVEL message`, secrets removed and control characters shown, never interpreted."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(_TEXT_FORMAT)
        self.secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return safe_text(scrub(super().format(record), self.secrets))


class _StandardStream(logging.StreamHandler[TextIO]):
    """A handler on sys.stdout/sys.stderr as they are at each write (tests and daemons swap them)."""

    def __init__(self, name: Literal["stdout", "stderr"]) -> None:
        super().__init__()
        self._name = name

    @property
    def stream(self) -> TextIO:
        stream: TextIO = getattr(sys, self._name)
        return stream

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ assigns it; ours is dynamic
        pass


class _Installed:
    """What `setup_logging` put in place, so a second call replaces it instead of doubling lines."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fmt: LogFormat = "text"
        self.handler: logging.Handler | None = None
        self.secrets: list[str] = []


_installed = _Installed()


def setup_logging(
    fmt: LogFormat = "text",
    *,
    stream: TextIO | None = None,
    level: int = logging.INFO,
    secrets: Iterable[str] = (),
) -> logging.Handler:
    """Route every log record of the process to one handler in `fmt` (stderr unless `stream`).

    Our loggers (`sendwatch.*`) log from `level`; uvicorn, httpx and asyncio from WARNING, through
    the same handler (their own handlers removed), so in json mode no line is anything but JSON.
    Python warnings and uncaught exceptions become records too. Calling it again replaces the setup.
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format must be text or json, not {fmt!r}")
    secret_list = sorted({s for s in secrets if s}, key=len, reverse=True)
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StandardStream("stderr")
    )
    handler.setFormatter(
        JsonLineFormatter(secret_list) if fmt == "json" else TextLineFormatter(secret_list)
    )
    root = logging.getLogger()
    with _installed.lock:
        if _installed.handler is not None:
            root.removeHandler(_installed.handler)
        _installed.fmt, _installed.handler, _installed.secrets = fmt, handler, secret_list
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("sendwatch").setLevel(level)
    for name, least in _FOREIGN_LEVELS.items():
        foreign = logging.getLogger(name)
        for own in list(foreign.handlers):
            if not isinstance(own, logging.NullHandler):
                foreign.removeHandler(own)
        foreign.setLevel(least)
        foreign.propagate = True
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_uncaught
    return handler


def current_format() -> LogFormat:
    return _installed.fmt


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    log_event(
        logging.getLogger("sendwatch"),
        "crashed",
        level=logging.CRITICAL,
        message=f"unexpected error: {kind.__name__}",
        exc_info=(kind, error, trace),
    )


def _log_thread_uncaught(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    log_event(
        logging.getLogger("sendwatch"),
        "thread_crashed",
        level=logging.ERROR,
        message=f"unexpected error in a thread: {args.exc_type.__name__}",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        thread=args.thread.name if args.thread is not None else None,
    )


def _describe(event: str, fields: Mapping[str, Any]) -> str:
    """The text-mode message of an event: `event key=value …` (values single-line)."""
    parts = [event] + [
        f"{key}={safe_text(value, single_line=True)}" for key, value in fields.items()
    ]
    return " ".join(parts)


def log_event(
    logger: logging.Logger,
    event: str,
    *,
    level: int = logging.INFO,
    message: str | None = None,
    exc_info: Any = None,
    **fields: Any,
) -> None:
    """Log one event: `event` is a short stable name (`lease_acquired`), `fields` its data.

    Fields never clash with LogRecord's own attributes (they travel in one attribute), so any name
    is allowed. In text mode the line reads `event key=value …` unless a `message` is given.
    """
    if not logger.isEnabledFor(level):
        return
    text = message if message is not None else _describe(event, fields)
    logger.log(
        level,
        "%s",
        text,
        exc_info=exc_info,
        extra={_EVENT_ATTR: event, _FIELDS_ATTR: dict(fields)},
        stacklevel=2,
    )


def say(
    line: str,
    *,
    event: str = "banner",
    stream: TextIO | None = None,
    level: int = logging.INFO,
    **fields: Any,
) -> None:
    """Write one line a person reads (a banner, a summary) to `stream` (stdout by default).

    Text mode: the line itself. JSON mode: one JSON object with the line as `message` and `fields`.
    Secrets known to `setup_logging` are removed either way.
    """
    out = stream if stream is not None else sys.stdout
    with _installed.lock:
        fmt, secrets = _installed.fmt, _installed.secrets
    if fmt == "text":
        print(safe_text(scrub(line, secrets)), file=out, flush=True)
        return
    record = logging.LogRecord("sendwatch", level, __file__, 0, "%s", (line,), None)
    setattr(record, _EVENT_ATTR, event)
    setattr(record, _FIELDS_ATTR, dict(fields))
    print(JsonLineFormatter(secrets).format(record), file=out, flush=True)


def problem(message: str, *, warning: bool = False, **fields: Any) -> None:
    """A command's error or warning line on stderr: `sendwatch: [warning: ]message` in text mode,
    an `error`/`warning` event in json mode (what `commands.output.fail`/`warn` should call)."""
    if current_format() == "text":
        prefix = "sendwatch: warning: " if warning else "sendwatch: "
        say(prefix + message, stream=sys.stderr)
        return
    say(
        message,
        event="warning" if warning else "error",
        level=logging.WARNING if warning else logging.ERROR,
        stream=sys.stderr,
        **fields,
    )


def banner(lines: Iterable[str], *, event: str = "banner", stream: TextIO | None = None) -> None:
    """`say` for each line: the plain lines in text mode, one JSON object per line in json mode."""
    for line in lines:
        say(line.strip() if current_format() == "json" else line, event=event, stream=stream)


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def parse_line(line: str) -> dict[str, Any]:
    """One JSON log line back into a dict (for tests and for tools that read our logs); strict:
    NaN/Infinity, which many JSON readers reject, are an error here too."""
    value = json.loads(line, parse_constant=_reject_constant)
    if not isinstance(value, dict):
        raise ValueError("a log line is a JSON object")
    return value
