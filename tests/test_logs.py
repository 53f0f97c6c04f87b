"""JSON logs for `listen` and `poll`: real records through real handlers into real streams.

Every line is parsed back with json.loads and must carry ts (ISO 8601 UTC), level and event —
ours, uvicorn's, a banner's, a Python warning's, an uncaught exception's — and no secret value
handed to the scrubber ever appears in any line, in either format.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tui.config import load
from tui.model import Provider
from tui.observe.logs import (
    FORMAT_ENV,
    banner,
    log_event,
    parse_line,
    problem,
    resolve_format,
    say,
    setup_logging,
)
from tui.observe.metrics import Metrics
from tui.observe.scrub import REDACTED, scrub, secret_values
from tui.observe.serving import MetricsServer

API_KEY = "sk_live_4f9a8b7c6d5e4f3a2b1c"
WEBHOOK_SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTEyMw=="
DB_PASSWORD = "pg-Pa55word-9911"
LOGGERS = ("", "sendwatch", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """setup_logging configures the process: put every touched piece back after each test."""
    saved = {
        name: (
            logging.getLogger(name).level,
            list(logging.getLogger(name).handlers),
            logging.getLogger(name).propagate,
        )
        for name in LOGGERS
    }
    hooks = (sys.excepthook, threading.excepthook)
    yield
    setup_logging("text", stream=io.StringIO())  # the module's own state back to text, then:
    for name, (level, handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate
    sys.excepthook, threading.excepthook = hooks
    logging.captureWarnings(False)


def lines_of(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line of `stream` as JSON (a line that is not JSON fails the test)."""
    return [parse_line(line) for line in stream.getvalue().splitlines()]


def assert_core_keys(line: dict[str, Any]) -> None:
    assert isinstance(line["event"], str) and line["event"]
    assert line["level"] in ("debug", "info", "warning", "error", "critical")
    stamp = datetime.fromisoformat(line["ts"].replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert abs(stamp.timestamp() - time.time()) < 3600


def test_an_event_is_one_json_object_with_ts_level_event_and_its_fields() -> None:
    out = io.StringIO()
    setup_logging("json", stream=out)
    log = logging.getLogger("sendwatch.poll")
    log_event(log, "lease_acquired", provider="sendo", account="a1b2")
    log_event(log, "message_failed", level=logging.WARNING, provider="sentdm", code="BUSINESS_003")
    # names LogRecord itself uses, and our own core keys, are fields like any other: nothing lost
    log_event(log, "odd_fields", name="n", args=[1, 2], ts="theirs", level_name=float("nan"))
    log.info("a plain line from an older call site: %d", 7)
    logging.getLogger("sendwatch.poll").debug("below the level: not written")
    lines = lines_of(out)
    assert [line["event"] for line in lines] == [
        "lease_acquired",
        "message_failed",
        "odd_fields",
        "log",
    ]
    for line in lines:
        assert_core_keys(line)
        assert line["logger"] == "sendwatch.poll"
    assert lines[0]["provider"] == "sendo" and lines[0]["account"] == "a1b2"
    assert lines[0]["level"] == "info" and lines[1]["level"] == "warning"
    assert lines[1]["code"] == "BUSINESS_003"
    assert lines[2]["name"] == "n" and lines[2]["args"] == [1, 2] and lines[2]["ts_"] == "theirs"
    assert lines[2]["level_name"] == "nan"  # strict JSON: no NaN literal
    assert lines[3]["message"] == "a plain line from an older call site: 7"


def test_text_mode_reads_as_before_and_never_carries_a_control_sequence() -> None:
    out = io.StringIO()
    setup_logging("text", stream=out)
    log_event(
        logging.getLogger("sendwatch.webhooks"),
        "webhook_refused",
        provider="sendo",
        reason="bad \x1b[2J\x1b]0;owned\x07 body",
    )
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    assert " INFO webhook_refused provider=sendo reason=bad " in text
    assert text.count("\n") == 1


def test_banner_is_plain_in_text_mode_and_one_object_per_line_in_json() -> None:
    lines = [
        "Receiving webhooks on http://127.0.0.1:8787 (GET /healthz for a load balancer).",
        "  Sendo    POST http://127.0.0.1:8787/webhooks/sendo",
    ]
    plain = io.StringIO()
    setup_logging("text", stream=io.StringIO())
    banner(lines, stream=plain)
    assert plain.getvalue() == "".join(line + "\n" for line in lines)

    as_json = io.StringIO()
    setup_logging("json", stream=io.StringIO())
    banner(lines, event="listening", stream=as_json)
    say("Stopped: webhooks: 0 events.", event="stopped", stream=as_json, received=0)
    parsed = lines_of(as_json)
    assert [p["event"] for p in parsed] == ["listening", "listening", "stopped"]
    assert parsed[1]["message"] == lines[1].strip()
    assert parsed[2]["received"] == 0
    for line in parsed:
        assert_core_keys(line)


def test_banner_goes_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("json", stream=io.StringIO())
    banner(["Ctrl+C stops it."])
    out, err = capsys.readouterr()
    assert json.loads(out)["message"] == "Ctrl+C stops it." and err == ""


async def test_uvicorn_lines_are_json_through_the_same_handler() -> None:
    out = io.StringIO()
    setup_logging("json", stream=out)
    async with MetricsServer(Metrics(), port=0) as server:
        # a request uvicorn cannot parse: it logs a warning of its own and closes the connection
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"\x00\x01 not http at all\r\n\r\n")
            deadline = time.monotonic() + 30
            while "uvicorn.error" not in out.getvalue():
                assert time.monotonic() < deadline, out.getvalue()
                await asyncio.sleep(0.02)
    lines = lines_of(out)
    server_lines = [line for line in lines if line["logger"].startswith("uvicorn")]
    assert server_lines and all(line["level"] == "warning" for line in server_lines)
    for line in lines:
        assert_core_keys(line)
        assert "color_message" not in line


def test_secret_values_come_from_settings_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[providers.sentdm]\napi_key = "{API_KEY}"\nwebhook_secret = "{WEBHOOK_SECRET}"\n'
        f'[history]\nurl = "postgresql://watch:{DB_PASSWORD}@db.internal/sendwatch"\n',
        encoding="utf-8",
    )
    settings = load(config, env={})
    environ = {"SENDO_API_KEY": "sendo-key-from-env-77", "HOME": "/home/someone"}
    values = secret_values(settings, environ)
    for secret in (API_KEY, WEBHOOK_SECRET, DB_PASSWORD, "sendo-key-from-env-77"):
        assert secret in values
    assert "/home/someone" not in values
    assert scrub(f"GET with x-api-key: {API_KEY} and Bearer ok", values).count(REDACTED) == 1
    assert scrub("Authorization: Bearer abc.def.ghi", []) == f"Authorization: {REDACTED}"
    assert settings.provider(Provider.SENTDM).api_key  # (the secret really was configured)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_secret_given_to_the_scrubber_never_appears_in_any_line(fmt: str) -> None:
    out, shown = io.StringIO(), io.StringIO()
    setup_logging(fmt, stream=out, secrets=[API_KEY, WEBHOOK_SECRET, DB_PASSWORD])  # type: ignore[arg-type]
    log = logging.getLogger("sendwatch.poll")
    log_event(log, "provider_health", detail=f"rejected key {API_KEY}", nested={"k": [API_KEY]})
    log.warning("webhook secret %s refused", WEBHOOK_SECRET)
    logging.getLogger("uvicorn.error").error("db: postgresql://u:%s@h/d", DB_PASSWORD)
    try:
        raise RuntimeError(f"connect failed with password={DB_PASSWORD}")
    except RuntimeError:
        log.exception("store unavailable")
    say(f"key {API_KEY} in a banner", stream=shown)
    text = out.getvalue() + shown.getvalue()
    for secret in (API_KEY, WEBHOOK_SECRET, DB_PASSWORD):
        assert secret not in text
        assert json.dumps(secret)[1:-1] not in text
    assert text.count(REDACTED) >= 6
    if fmt == "json":
        for line in lines_of(out) + lines_of(shown):
            assert_core_keys(line)


def test_resolve_format_flag_then_environment_then_text() -> None:
    assert resolve_format(None, {}) == "text"
    assert resolve_format(None, {FORMAT_ENV: "json"}) == "json"
    assert resolve_format(None, {FORMAT_ENV: " JSON "}) == "json"
    assert resolve_format("text", {FORMAT_ENV: "json"}) == "text"
    assert resolve_format("json", {}) == "json"
    with pytest.raises(ValueError, match="SENDWATCH_LOG_FORMAT: expected text or json"):
        resolve_format(None, {FORMAT_ENV: "yaml\x1b[31m"})
    with pytest.raises(ValueError, match="--log-format"):
        resolve_format("xml", {})


_PROGRAM = """
import logging, sys, warnings
from tui.observe.logs import banner, log_event, setup_logging
setup_logging("json", secrets=[sys.argv[1]])
banner(["Receiving webhooks on http://127.0.0.1:1", "  Sendo    not served: set SENDO_WEBHOOK_TOKEN"],
       event="listening")
log_event(logging.getLogger("sendwatch.poll"), "lease_acquired", provider="sendo")
logging.getLogger("httpx").info("HTTP Request: GET https://api.sendo.dev/v1/messages/1 200")
warnings.warn("something deprecated " + sys.argv[1])
raise RuntimeError("crashed holding " + sys.argv[1])
"""


def test_every_line_on_stdout_and_stderr_is_json_even_a_warning_and_a_crash() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROGRAM, API_KEY],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "default"},
        check=False,
    )
    assert proc.returncode == 1
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    err = [json.loads(line) for line in proc.stderr.splitlines()]
    assert [line["event"] for line in out] == ["listening", "listening"]
    assert [line["event"] for line in err] == ["lease_acquired", "log", "crashed"]
    assert err[1]["logger"] == "py.warnings"  # httpx's INFO line is not written at all
    assert "RuntimeError" in err[2]["exc_info"] and err[2]["level"] == "critical"
    for line in out + err:
        assert_core_keys(line)
    assert API_KEY not in proc.stdout + proc.stderr


def test_a_commands_error_line_is_plain_or_one_json_object_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("text", stream=io.StringIO(), secrets=[API_KEY])
    problem(f"the key {API_KEY} was refused")
    problem("history is on a network drive", warning=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"sendwatch: the key {REDACTED} was refused",
        "sendwatch: warning: history is on a network drive",
    ]
    setup_logging("json", stream=io.StringIO(), secrets=[API_KEY])
    problem(f"the key {API_KEY} was refused", exit_code=3)
    problem("history is on a network drive", warning=True)
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in err.splitlines()]
    assert out == "" and API_KEY not in err
    assert [(p["event"], p["level"]) for p in lines] == [("error", "error"), ("warning", "warning")]
    assert lines[0]["exit_code"] == 3
    for line in lines:
        assert_core_keys(line)
