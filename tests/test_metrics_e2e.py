"""Metrics and JSON logs wired into the receiver and `sendwatch poll`, end to end.

The commands run in a child process through `poll.run` / `listen.run` with the arguments the CLI
passes them (`metrics_at=`, `log_format=`), so what is tested is the command, not the flag parsing
(tests/test_cli.py's business).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.test_metrics import value
from tests.test_webhooks import (
    SECRET,
    SENDO,
    SENTDM,
    TOKEN,
    new_id,
    sendo_body,
    sentdm_body,
    signed_headers,
)
from tui.ids import MessageRef
from tui.model import Provider
from tui.observe.metrics import Metrics
from tui.store import SQLiteStore
from tui.webhooks.credentials import WebhookCredentials
from tui.webhooks.server import WebhookReceiver

#: `sendwatch poll --listen L --metrics M --log-format json`, as the CLI calls it once the config is read.
RUN_POLL = (
    "import sys; from tui.config import load; from tui.commands import listen, poll; "
    "sys.exit(poll.run(load(), listen.parse_listen(sys.argv[1]), "
    "metrics_at=listen.parse_listen(sys.argv[2]), log_format='json'))"
)
#: `sendwatch listen ADDRESS --log-format json`.
RUN_LISTEN = (
    "import sys; from tui.config import load; from tui.commands import listen; "
    "sys.exit(listen.run(load(), *listen.parse_listen(sys.argv[1]), log_format='json'))"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _eventually(check: Callable[[], bool], bound: float = 60.0) -> None:
    deadline = time.monotonic() + bound
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


async def test_the_receiver_counts_each_webhook_once_under_its_result(tmp_path: Path) -> None:
    metrics = Metrics()
    store = SQLiteStore(tmp_path / "h.sqlite3")
    credentials = WebhookCredentials.from_values(SECRET, TOKEN)
    receiver = WebhookReceiver(store, credentials, port=0, metrics=metrics)
    try:
        async with receiver:
            async with httpx.AsyncClient(base_url=receiver.base_url, timeout=30) as client:
                body = sentdm_body(new_id(), "DELIVERED")
                headers = signed_headers(body)
                first = await client.post(SENTDM, content=body, headers=headers)
                again = await client.post(SENTDM, content=body, headers=headers)  # a retry
                assert first.json()["result"] == "applied"
                assert again.json()["result"] == "duplicate"
                refused = await client.post(SENTDM, content=body, headers={})
                assert refused.status_code == 401
                sendo_id = new_id()
                pushed = await client.post(
                    SENDO, content=sendo_body(sendo_id), headers={"X-Webhook-Token": TOKEN}
                )
                assert pushed.json()["result"] == "applied"
                text = (await client.get("/metrics")).text
    finally:
        store.close()
    webhooks = "sendwatch_webhook_events_total"
    assert value(text, webhooks, provider="sentdm", result="applied") == 1
    assert value(text, webhooks, provider="sentdm", result="duplicate") == 1
    assert value(text, webhooks, provider="sentdm", result="unauthorized") == 1
    assert value(text, webhooks, provider="sendo", result="applied") == 1
    changes = "sendwatch_status_changes_total"
    assert value(text, changes, provider="sentdm", status="delivered") == 1
    assert value(text, changes, provider="sendo", status="delivered") == 1
    # Sendo's payload says created 10:30:00, updated (delivered) 10:34:00
    assert value(text, "sendwatch_delivery_latency_seconds_sum", provider="sendo") == 240.0
    assert sendo_id not in text


def _scrape(port: int) -> str | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    except httpx.TransportError:
        return None
    return response.text if response.status_code == 200 else None


def test_headless_poll_serves_metrics_and_writes_only_json(
    env: dict[str, str], world: Any, tmp_path: Path
) -> None:
    from tests.test_poller import live

    live(world)
    msgs = [
        world.add_message(Provider.SENDO, [(0, "CREATED"), (0.2, "DELIVERED")], created=-5),
        world.add_message(
            Provider.SENTDM,
            [(0, "QUEUED"), (0.2, "FAILED")],
            error=("DELIVERY_003", "x"),
            created=-5,
        ),
    ]
    history = Path(env["SENDWATCH_DATA_DIR"]) / "history.sqlite3"
    store = SQLiteStore(history)
    store.track([MessageRef(m.id, m.provider) for m in msgs])
    store.close()
    metrics_port, listen_port = _free_port(), _free_port()
    run_env = dict(env, SENDWATCH_LOG_FORMAT="json", SENDO_WEBHOOK_TOKEN=TOKEN)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUN_POLL,
            f"127.0.0.1:{listen_port}",
            f"127.0.0.1:{metrics_port}",
        ],
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    scraped: dict[str, str] = {}

    def settled() -> bool:
        text = _scrape(metrics_port)
        if text is None:
            assert child.poll() is None, child.communicate()
            return False
        scraped["text"] = text
        changes = "sendwatch_status_changes_total"
        return (value(text, changes, provider="sendo", status="delivered") or 0) >= 1 and (
            value(text, changes, provider="sentdm", status="failed") or 0
        ) >= 1

    try:
        _eventually(settled)
        on_listen_port = _scrape(listen_port)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    text = scraped["text"]
    requests = "sendwatch_provider_requests_total"
    assert (value(text, requests, provider="sendo", outcome="ok") or 0) >= 1
    assert (
        value(text, "sendwatch_provider_request_duration_seconds_count", provider="sendo") or 0
    ) >= 1
    assert value(text, "sendwatch_lease_held", provider="sendo", account="default") == 1
    assert value(text, "sendwatch_poll_backlog_messages", provider="sendo") is not None
    assert (
        value(text, "sendwatch_rate_limit_remaining", provider="sentdm", account="default")
        is not None
    )
    for m in msgs:
        assert m.id not in text
    assert on_listen_port is not None and "sendwatch_webhook_events_total" in on_listen_port
    lines = [json.loads(line) for line in (out + err).splitlines()]
    assert lines, "poll wrote nothing"
    for line in lines:
        assert {"ts", "level", "event"} <= line.keys()
    events = {line["event"] for line in lines}
    assert {"polling_started", "message_failed", "stopped"} <= events
    for secret in (env["SENT_DM_API_KEY"], env["SENDO_API_KEY"], TOKEN):
        assert secret not in out + err


def test_listen_banners_are_json_lines(tmp_path: Path) -> None:
    port = _free_port()
    run_env = {
        **os.environ,
        "SENT_DM_WEBHOOK_SECRET": SECRET,
        "SENDWATCH_DATA_DIR": str(tmp_path / "data"),
        "SENDWATCH_CONFIG": str(tmp_path / "absent.toml"),
    }
    run_env.pop("SENDO_WEBHOOK_TOKEN", None)
    child = subprocess.Popen(
        [sys.executable, "-c", RUN_LISTEN, f"127.0.0.1:{port}"],
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        _eventually(lambda: _scrape(port) is not None or child.poll() is not None)
        assert child.poll() is None
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    lines = [json.loads(line) for line in (out + err).splitlines()]
    assert [line["event"] for line in lines if line["event"] == "listening"]
    assert any("/webhooks/sentdm" in line["message"] for line in lines)
    assert lines[-1]["event"] == "stopped"
    assert SECRET not in out + err
